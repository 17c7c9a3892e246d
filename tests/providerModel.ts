/**
 * What the bridged providers do with a changed input: update the resource in place, or replace it. Mocks record
 * only what the program asks for; this model, read from each provider's source, turns a changed input into the
 * step a real `pulumi up` takes. Sources:
 * - docker: kreuzwerker/terraform-provider-docker v4.5.0 (bridged by @pulumi/docker 5.x), resource_docker_container.go
 *   (every attribute ForceNew except the ones resourceDockerContainerUpdate applies), resource_docker_volume.go and
 *   resource_docker_network.go (everything ForceNew, no Update), resource_docker_image.go (name, triggers ForceNew).
 * - command: pulumi-command 1.2, common/inputs.go (triggers replace; other inputs update, which runs create again).
 * - proxmoxve: bpg/terraform-provider-proxmox v0.111, proxmoxtf/resource/vm/vm.go (vm_id, node_name, the
 *   initialization *_file_id and type ForceNew; the rest updates, rebooting where needed), resource_download_file.go
 *   (url, checksum, file name … RequiresReplace), file.go (source_raw ForceNew), firewall/*.go (no ForceNew).
 * - cloudflare: terraform-provider-cloudflare v5.22, zero_trust_tunnel_cloudflared (account_id; config_src when set),
 *   zero_trust_tunnel_cloudflared_config (account_id, tunnel_id), dns_record (zone_id).
 * - random, tls: every input ForceNew.
 */
import * as crypto from "crypto";

export type Step = "replace" | "update";

interface TypeModel {
    /** These input paths force replacement; any other change is an update. */
    readonly replaceOn?: readonly string[];
    /** These input paths update in place; any other change forces replacement. */
    readonly updateOn?: readonly string[];
}

const CONTAINER_UPDATABLE = [
    // Applied to the running container (ContainerUpdate).
    ...["restart", "maxRetryCount", "memory", "memoryReservation", "memorySwap", "cpuShares", "cpuSet"],
    // The provider's own behaviour, state only.
    ...["destroyGraceSeconds", "mustRun", "wait", "waitTimeout"],
    // Recorded in state but never applied (Docker cannot change them): an "update" that does nothing, so the
    // program replaces on healthcheck changes itself (replaceOnChanges).
    ...["healthcheck", "init", "rm", "tmpfs"],
];

const MODEL: Readonly<Record<string, TypeModel>> = {
    "docker:index/container:Container": { updateOn: CONTAINER_UPDATABLE },
    "docker:index/volume:Volume": { updateOn: [] },
    "docker:index/network:Network": { updateOn: [] },
    "docker:index/remoteImage:RemoteImage": { updateOn: ["keepLocally", "forceRemove"] },
    "command:remote:Command": { replaceOn: ["triggers"] },
    "command:local:Command": { replaceOn: ["triggers"] },
    "proxmoxve:index/vmLegacy:VmLegacy": {
        replaceOn: ["vmId", "nodeName", "initialization.userDataFileId", "initialization.vendorDataFileId", "initialization.networkDataFileId", "initialization.metaDataFileId", "initialization.type"],
    },
    "proxmoxve:download/file:File": { updateOn: ["overwrite", "overwriteUnmanaged", "uploadTimeout", "verify"] },
    "proxmoxve:index/fileLegacy:FileLegacy": { updateOn: [] },
    "proxmoxve:firewall/optionsLegacy:OptionsLegacy": { replaceOn: [] },
    "proxmoxve:firewall/rulesLegacy:RulesLegacy": { replaceOn: [] },
    "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared": { replaceOn: ["accountId", "configSrc"] },
    "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig": { replaceOn: ["accountId", "tunnelId"] },
    "cloudflare:index/dnsRecord:DnsRecord": { replaceOn: ["zoneId"] },
    "random:index/randomPassword:RandomPassword": { updateOn: [] },
    "random:index/randomBytes:RandomBytes": { updateOn: [] },
    "random:index/randomUuid:RandomUuid": { updateOn: [] },
    "tls:index/privateKey:PrivateKey": { updateOn: [] },
};

function modelOf(type: string): TypeModel {
    if (type.startsWith("pulumi:providers:")) {
        // No bridged provider here marks a config key ForcesProviderReplace: a changed provider config is an update.
        return { replaceOn: [] };
    }
    const model = MODEL[type];
    if (!model) {
        throw new Error(`the provider model does not know ${type}: read its provider's source and add it`);
    }
    return model;
}

/** Dotted paths of the leaves that differ between two input objects (arrays compared as wholes). */
export function changedPaths(before: Record<string, unknown>, after: Record<string, unknown>, prefix = ""): string[] {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => {
        const [a, b] = [before[key], after[key]];
        const at = prefix ? `${prefix}.${key}` : key;
        if (isPlainObject(a) && isPlainObject(b)) {
            return changedPaths(a, b, at);
        }
        return JSON.stringify(a) === JSON.stringify(b) ? [] : [at];
    });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

const covers = (paths: readonly string[]) => (path: string) => paths.some((item) => item === "*" || path === item || path.startsWith(`${item}.`) || path.startsWith(`${item}[`));

/**
 * The step for changed inputs of one resource, with its resource options: ignoreChanges hides a path,
 * replaceOnChanges forces replacement, and otherwise the provider model decides. Undefined: no change.
 */
export function stepFor(type: string, paths: readonly string[], options: { ignoreChanges?: readonly string[]; replaceOnChanges?: readonly string[] } = {}): Step | undefined {
    const visible = paths.filter((path) => !covers(options.ignoreChanges ?? [])(path));
    if (visible.length === 0) {
        return undefined;
    }
    if (visible.some(covers(options.replaceOnChanges ?? []))) {
        return "replace";
    }
    const model = modelOf(type);
    if (model.replaceOn) {
        return visible.some(covers(model.replaceOn)) ? "replace" : "update";
    }
    return visible.every(covers(model.updateOn ?? [])) ? "update" : "replace";
}

/**
 * A resource id that changes exactly when the provider would replace the resource: what a real container id does,
 * and so what the gates' triggers see. The mock gives containers this id.
 */
export function replacementIdentity(type: string, name: string, inputs: Record<string, unknown>, replaceOnChanges: readonly string[] = []): string {
    const model = modelOf(type);
    const forcesReplacement = (key: string) => covers(replaceOnChanges)(key) || (model.replaceOn ? covers(model.replaceOn)(key) : !covers(model.updateOn ?? [])(key));
    const kept = Object.fromEntries(Object.entries(inputs).filter(([key]) => forcesReplacement(key)));
    return `${name}-${crypto.createHash("sha256").update(JSON.stringify(kept)).digest("hex").slice(0, 12)}`;
}

/** The Docker daemon's own defaults that the provider's read merges into a container (daemon.json). */
export interface DaemonDefaults {
    readonly logDriver: string;
    readonly logOpts: Readonly<Record<string, string>>;
}

interface HealthcheckInputs {
    tests?: string[];
    interval?: string;
    timeout?: string;
    startPeriod?: string;
    startInterval?: string;
    retries?: number;
}

/**
 * What the provider stores after create for the container inputs the program sets (create ends with a read,
 * resourceDockerContainerRead): a value that comes back different shows as a change on every later preview.
 * Durations are read back as Go prints them; memory_swap is read even when unset (moby stores twice the memory
 * then); log options are merged with the daemon's when the driver is the daemon's default; securityOpts lose
 * systempaths=unconfined; the platform comes back as the OS alone; capabilities as CAP_ names.
 */
export function containerReadBack(inputs: Record<string, unknown>, daemon: DaemonDefaults, formatDuration: (seconds: number) => string, parseDuration: (text: string) => number): Record<string, unknown> {
    const read: Record<string, unknown> = { ...inputs };
    const healthcheck = inputs.healthcheck as HealthcheckInputs | undefined;
    if (healthcheck) {
        const duration = (value: string | undefined) => (value === undefined || parseDuration(value) === 0 ? "(the image's)" : formatDuration(parseDuration(value)));
        read.healthcheck = {
            ...healthcheck,
            interval: duration(healthcheck.interval),
            timeout: duration(healthcheck.timeout),
            startPeriod: duration(healthcheck.startPeriod),
            startInterval: duration(healthcheck.startInterval),
            retries: healthcheck.retries === undefined || healthcheck.retries === 0 ? "(the image's)" : healthcheck.retries,
        };
    }
    const memory = Number(inputs.memory ?? 0);
    read.memorySwap = inputs.memorySwap ?? (memory > 0 ? memory * 2 : 0);
    const driver = (inputs.logDriver as string | undefined) ?? daemon.logDriver;
    if (inputs.logOpts !== undefined && driver === daemon.logDriver) {
        read.logOpts = { ...daemon.logOpts, ...(inputs.logOpts as Record<string, string>) };
    }
    if (Array.isArray(inputs.securityOpts)) {
        read.securityOpts = (inputs.securityOpts as string[]).filter((option) => !option.startsWith("systempaths="));
    }
    if (typeof inputs.platform === "string") {
        read.platform = inputs.platform.split("/")[0];
    }
    const capabilities = inputs.capabilities as { adds?: string[]; drops?: string[] } | undefined;
    if (capabilities) {
        const normal = (names: string[] | undefined) => names?.map((name) => (name.toUpperCase().startsWith("CAP_") ? name.toUpperCase() : `CAP_${name.toUpperCase()}`)).sort();
        read.capabilities = { ...capabilities, adds: normal(capabilities.adds), drops: normal(capabilities.drops) };
    }
    return read;
}
