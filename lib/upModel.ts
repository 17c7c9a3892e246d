/**
 * A model of how long `pulumi up` takes on a new stack: a latency per resource (the table below, estimates for a
 * homelab with a 100 Mbit/s uplink), and the dependency graph Pulumi itself follows. Pulumi starts a resource
 * as soon as everything it depends on is done, so the update takes as long as the longest chain of dependencies.
 */

export interface LatencyRule {
    /** What the time covers. */
    readonly what: string;
    readonly seconds: number;
    readonly matches: (resource: ModelResource) => boolean;
}

export interface ModelResource {
    readonly id: string;
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, unknown>;
}

const isType = (prefix: string) => (resource: ModelResource) => resource.type.startsWith(prefix);
const imageIs = (fragment: string) => (resource: ModelResource) =>
    resource.type === "docker:index/remoteImage:RemoteImage" && String(resource.inputs.name).includes(fragment);
const isCommand = (resource: ModelResource) => resource.type === "command:remote:Command" || resource.type === "command:local:Command";
const scriptOf = (resource: ModelResource) => (isCommand(resource) && typeof resource.inputs.create === "string" ? resource.inputs.create : "");
const scriptHas = (fragment: string) => (resource: ModelResource) => scriptOf(resource).includes(fragment);
/** A container's gate: the command that waits until the container named in its script is healthy. */
const gateOf = (suffix: string) => (resource: ModelResource) => new RegExp(`^name='[^']*${suffix}'$`, "m").test(scriptOf(resource));

/** First match wins; the last rule catches everything else. */
export const LATENCY_TABLE: readonly LatencyRule[] = [
    { what: "download the cloud image (~350 MB) to the Proxmox node", seconds: 90, matches: isType("proxmoxve:download/file:File") },
    { what: "upload the cloud-init snippet over SSH", seconds: 3, matches: isType("proxmoxve:index/fileLegacy:FileLegacy") },
    { what: "import the disk, create and start the VM", seconds: 45, matches: isType("proxmoxve:index/vmLegacy:VmLegacy") },
    { what: "Proxmox firewall API call", seconds: 2, matches: isType("proxmoxve:firewall/") },
    {
        what: "first boot and cloud-init: boot (~30 s), apt and Docker (~55 s; the images start downloading then), the admin, folders and sshd, until cloud-init is done (the package upgrade runs in the background after it)",
        seconds: 100,
        matches: scriptHas("cloud-init status --wait"),
    },
    { what: "authentik server: first start runs every migration, until healthy (its gate)", seconds: 120, matches: gateOf("-server") },
    { what: "authentik worker: start, until healthy (its gate)", seconds: 90, matches: gateOf("-worker") },
    { what: "PostgreSQL: initdb and start, until pg_isready (its gate)", seconds: 15, matches: gateOf("-postgresql") },
    { what: "Redis: start, until it answers PING (its gate)", seconds: 5, matches: gateOf("-redis") },
    { what: "backup container: start (and any pre-upgrade dump), until ready (its gate)", seconds: 10, matches: gateOf("-backup") },
    { what: "cloudflared: connect to Cloudflare's edge, until ready (its gate)", seconds: 10, matches: gateOf("-cloudflared-\\d+") },
    { what: "prepare /data in a one-off container", seconds: 5, matches: scriptHas("docker run --rm") },
    { what: "another command over SSH or the local docker CLI (name guard, image prune)", seconds: 2, matches: isCommand },
    { what: "pull ghcr.io/goauthentik/server (~700 MB)", seconds: 150, matches: imageIs("goauthentik/server") },
    { what: "pull postgres alpine (~100 MB)", seconds: 20, matches: imageIs("postgres") },
    { what: "pull redis alpine (~15 MB)", seconds: 8, matches: imageIs("redis") },
    { what: "pull cloudflared (~25 MB)", seconds: 10, matches: imageIs("cloudflared") },
    { what: "pull another image", seconds: 30, matches: isType("docker:index/remoteImage:RemoteImage") },
    { what: "create and start a container (its gate waits for healthy)", seconds: 2, matches: isType("docker:index/container:Container") },
    { what: "Docker network or volume", seconds: 1, matches: (resource) => resource.type === "docker:index/network:Network" || resource.type === "docker:index/volume:Volume" },
    { what: "Cloudflare API call", seconds: 2, matches: isType("cloudflare:") },
    {
        what: "authentik's Helm release, waiting for ready pods: pull the image on each node, first start with every migration, until the pods are ready",
        seconds: 300,
        matches: (resource) => isType("kubernetes:helm.sh/v3:Release")(resource) && resource.inputs.chart === "authentik",
    },
    { what: "the CloudNativePG operator's Helm release, atomic, until its pods are ready", seconds: 60, matches: isType("kubernetes:helm.sh/v3:Release") },
    { what: "a manifest from a URL (the Barman Cloud plugin)", seconds: 20, matches: isType("kubernetes:yaml/v2:ConfigFile") },
    {
        what: "a CloudNativePG cluster: initdb on the primary, then each replica cloned from it, until ready",
        seconds: 150,
        matches: isType("kubernetes:postgresql.cnpg.io/v1:Cluster"),
    },
    { what: "cloudflared Deployment, until its replicas are ready (connected to Cloudflare's edge)", seconds: 30, matches: isType("kubernetes:apps/v1:Deployment") },
    { what: "another Kubernetes object (namespace, secret, config map, policy, custom resource)", seconds: 1, matches: isType("kubernetes:") },
    { what: "read the stack's last outputs", seconds: 1, matches: isType("pulumi:pulumi:StackReference") },
    { what: "configure a provider", seconds: 1, matches: isType("pulumi:providers:") },
    { what: "generate a random value or a key", seconds: 0, matches: (resource) => isType("random:")(resource) || isType("tls:")(resource) },
    { what: "a component (grouping only), or a type this table does not know", seconds: 0, matches: () => true },
];

/**
 * How long cloud-init has been pulling the stack's images when the readiness check passes: it starts them right
 * after Docker runs (~85 s into first boot of the 100 s above). They are pulled one after the other, so the head
 * start goes to the first image, and to the next only what the first leaves of it.
 */
export const PREPULL_HEAD_START_SECONDS = 15;

/** The background package upgrade downloads on the same link as the first image's pull (~100 MB at 100 Mbit/s). */
export const UPGRADE_LINK_SHARE_SECONDS = 10;

/** Even an image that is there already costs a look. */
const PRESENT_IMAGE_SECONDS = 2;

export interface ModelOptions {
    /** Image references that the VM's first boot pulls before `pulumi up` gets to them, in the order it pulls them. */
    readonly prePulled?: readonly string[];
}

const pullRule = (image: string): LatencyRule =>
    LATENCY_TABLE.find((item) => item.matches({ id: image, type: "docker:index/remoteImage:RemoteImage", name: image, inputs: { name: image } })) as LatencyRule;

export function latencyOf(resource: ModelResource, options: ModelOptions = {}): LatencyRule {
    const rule = LATENCY_TABLE.find((item) => item.matches(resource)) as LatencyRule;
    const order = options.prePulled;
    const position = resource.type === "docker:index/remoteImage:RemoteImage" ? (order?.indexOf(String(resource.inputs.name)) ?? -1) : -1;
    if (position < 0) {
        return rule;
    }
    // What is left of the head start once the images pulled before this one are done (position >= 0: order is set).
    const before = (order as readonly string[]).slice(0, position).reduce((sum, image) => sum + pullRule(image).seconds, 0);
    const headStart = Math.max(0, PREPULL_HEAD_START_SECONDS - before);
    const shared = position === 0 ? UPGRADE_LINK_SHARE_SECONDS : 0;
    return {
        what: `${rule.what}: the rest of the pull first boot started (${headStart} s ahead${shared > 0 ? `, ${shared} s lost to the package upgrade's downloads` : ""})`,
        seconds: Math.max(PRESENT_IMAGE_SECONDS, rule.seconds - headStart + shared),
        matches: rule.matches,
    };
}

export interface ModelNode {
    readonly id: string;
    readonly seconds: number;
    /** Ids of the nodes this one waits for. */
    readonly after: readonly string[];
}

export interface Schedule {
    /** Seconds from the start of the update at which each node is done. */
    readonly finish: ReadonlyMap<string, number>;
    /** The longest chain, first to last. */
    readonly criticalPath: readonly string[];
    readonly totalSeconds: number;
    /** The same stack with one resource at a time. */
    readonly serialSeconds: number;
}

/** Earliest finish times in dependency order (Kahn's algorithm), and the chain that decides the total. */
export function schedule(nodes: readonly ModelNode[]): Schedule {
    const byId = new Map(nodes.map((node) => [node.id, node]));
    for (const node of nodes) {
        for (const dependency of node.after) {
            if (!byId.has(dependency)) {
                throw new Error(`${node.id} waits for ${dependency}, which is not in the graph`);
            }
        }
    }
    const waiting = new Map(nodes.map((node) => [node.id, new Set(node.after).size]));
    const dependentsOf = (id: string) => nodes.filter((node) => node.after.includes(id)).map((node) => node.id);
    const ready = nodes.filter((node) => waiting.get(node.id) === 0).map((node) => node.id);
    const finish = new Map<string, number>();
    const previous = new Map<string, string | undefined>();
    while (ready.length > 0) {
        const id = ready.shift() as string;
        const node = byId.get(id) as ModelNode;
        let start = 0;
        let latest: string | undefined;
        for (const dependency of node.after) {
            const done = finish.get(dependency) as number;
            if (latest === undefined || done > start) {
                start = done;
                latest = dependency;
            }
        }
        finish.set(id, start + node.seconds);
        previous.set(id, latest);
        for (const dependent of dependentsOf(id)) {
            const left = (waiting.get(dependent) as number) - 1;
            waiting.set(dependent, left);
            if (left === 0) {
                ready.push(dependent);
            }
        }
    }
    if (finish.size !== nodes.length) {
        throw new Error("the dependency graph has a cycle");
    }
    let last: string | undefined;
    for (const [id, done] of finish) {
        if (last === undefined || done > (finish.get(last) as number)) {
            last = id;
        }
    }
    const criticalPath: string[] = [];
    for (let id = last; id !== undefined; id = previous.get(id)) {
        criticalPath.unshift(id);
    }
    return {
        finish,
        criticalPath,
        totalSeconds: last === undefined ? 0 : (finish.get(last) as number),
        serialSeconds: nodes.reduce((sum, node) => sum + node.seconds, 0),
    };
}

export function formatDuration(seconds: number): string {
    const minutes = Math.floor(seconds / 60);
    const rest = Math.round(seconds - minutes * 60);
    return minutes > 0 ? `${minutes} min ${String(rest).padStart(2, "0")} s` : `${rest} s`;
}

/** What the model needs of a registered resource. */
export interface Registration extends ModelResource {
    readonly parent: string;
    readonly custom: boolean;
    /** URNs this resource waits for (dependsOn and the outputs it consumes). */
    readonly dependencies: readonly string[];
    /** Provider reference, "urn::id", or empty. */
    readonly provider: string;
}

/**
 * The graph Pulumi schedules: custom resources and providers, each waiting for its dependencies and its provider.
 * Waiting for a component means waiting for everything inside it.
 */
export function modelGraph(registrations: readonly Registration[], options: ModelOptions = {}): { nodes: ModelNode[]; resources: Map<string, Registration> } {
    const resources = new Map(registrations.map((registration) => [registration.id, registration]));
    const children = new Map<string, string[]>();
    for (const registration of registrations) {
        children.set(registration.parent, [...(children.get(registration.parent) ?? []), registration.id]);
    }
    const expand = (id: string): string[] => {
        const registration = resources.get(id);
        if (!registration) {
            return [];
        }
        return registration.custom ? [id] : (children.get(id) ?? []).flatMap(expand);
    };
    const nodes = registrations
        .filter((registration) => registration.custom)
        .map((registration) => {
            // "urn::id"; without a provider "", which names no resource.
            const providerUrn = registration.provider.split("::").slice(0, -1).join("::");
            const after = [...registration.dependencies, providerUrn].flatMap(expand);
            return { id: registration.id, seconds: latencyOf(registration, options).seconds, after: [...new Set(after)] };
        });
    return { nodes, resources };
}
