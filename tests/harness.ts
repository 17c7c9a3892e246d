/**
 * Runs the real program (index.ts) under Pulumi's mocks and records every resource registration as the engine
 * would see it: type, name, inputs (and which are secret), parent, provider, options and dependencies.
 *
 * Pulumi's mocks hand `newResource` neither parents nor dependencies, so the recorder wraps the mock monitor's
 * `registerResource` and reads them from the raw request.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { ConfigError, PROJECT } from "../lib/config";
import { CONTAINER_REPLACE_ON_CHANGES } from "../lib/containerDefaults";
import { connectorToken } from "../lib/tunnelPlan";
import { replacementIdentity } from "./providerModel";
// The program's modules load with the test file, not inside the first test that runs the program: their module-level
// code (constants, schemas) then counts as the file's loading, which `npm run mutate` gives to every test of the file
// (tests/mutation/mutationEnvironment.js). Loaded inside a test, it counted for that test alone, and a mutant of such a
// constant ran only that test (`sshPrivateKey` dropped from loadConfig's plain-text keys "survived" a test that
// catches it). index.ts registers nothing when it loads: its default export does, after the mocks are in place.
import program from "../index";

/** The marker Pulumi uses to wrap secret values on the wire. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";

export const REPO_ROOT = path.resolve(__dirname, "..");

export interface RecordedResource {
    type: string;
    name: string;
    urn: string;
    /** The id the mock gave the resource. */
    id: string;
    custom: boolean;
    /** Inputs with secrets unwrapped; see secretPaths for which ones were secret. */
    inputs: Record<string, unknown>;
    /** Dotted paths of inputs that were sent as secrets. */
    secretPaths: string[];
    parent: string;
    /** Provider reference ("urn::id"), empty for default providers. */
    provider: string;
    /** Explicit providers given to a component, by package. */
    providers: Record<string, string>;
    protect: boolean;
    deleteBeforeReplace: boolean;
    retainOnDelete: boolean;
    ignoreChanges: string[];
    replaceOnChanges: string[];
    /** URNs whose replacement replaces this resource too (the replaceWith option). */
    replaceWith: string[];
    /** The replacementTrigger option's value, unwrapped; undefined when unset. */
    replacementTrigger: unknown;
    additionalSecretOutputs: string[];
    /** Every URN this resource depends on, explicit (dependsOn) or through the outputs it consumes. */
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    customTimeouts: { create?: string; update?: string; delete?: string };
}

export interface RecordedInvoke {
    token: string;
    args: Record<string, unknown>;
}

/** What a component (or the stack) handed to registerOutputs: it lands in the state, in plain text unless secret. */
export interface RegisteredOutputs {
    outputs: Record<string, unknown>;
    /** Dotted paths of outputs that were secret. */
    secretPaths: string[];
}

export interface ProgramRun {
    resources: RecordedResource[];
    /** registerOutputs calls, by URN. */
    registeredOutputs: Record<string, RegisteredOutputs>;
    outputs: Record<string, { value: unknown; secret: boolean }>;
    /** For each stack output, the URNs of the resources it waits for (what the engine sees it depend on). */
    outputResources: Record<string, string[]>;
    invokes: RecordedInvoke[];
    /** Plain-text values of every generated or configured secret the run saw. */
    secretValues: string[];
}

export interface StackConfigInput {
    /** Config as it appears in a stack file, keys with or without the project prefix. */
    config: Record<string, unknown>;
    /** Fully qualified keys that hold secrets. */
    secretKeys: string[];
    /** Plain-text values standing in for `secure:` values. */
    secretValues: string[];
}

export interface RunOptions {
    stack: string;
    config: StackConfigInput;
    preview?: boolean;
    /** Outputs the stack had after its last update (what a StackReference to itself returns). */
    previousOutputs?: Record<string, unknown>;
    /** The endpoint of the docker CLI's current context (default: the default socket). */
    dockerContextEndpoint?: string;
    /** DOCKER_HOST as the program sees it (default: unset, whatever this machine has). */
    dockerHostVariable?: string;
    /** The Cloudflare zone lookup answers as older provider builds did: `id` only, `zoneId` empty. */
    zoneLookupWithoutZoneId?: boolean;
}

/** Deterministic fake values, so two runs with the same config register identical inputs. */
function fakeHex(seed: string, length: number): string {
    return crypto.createHash("sha256").update(seed).digest("hex").repeat(4).slice(0, length);
}

export function mockSecretValue(name: string, length: number): string {
    const base = `MOCKSECRET${fakeHex(name, 64)}`;
    return base.repeat(Math.ceil(length / base.length)).slice(0, length);
}

/** The image id the mock gives a pulled image: different for every reference. */
export function mockImageId(reference: string): string {
    return `sha256:${fakeHex(reference, 64)}`;
}

/** A stand-in for a generated OpenSSH private key: recognisable, and scanned for like every secret. */
export function mockPrivateKey(name: string): string {
    return `-----BEGIN OPENSSH PRIVATE KEY-----\nMOCKPRIVATEKEY${fakeHex(name, 48)}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** The public half the mock gives a generated key: what the VM's host key pin holds. */
export function mockHostPublicKey(name: string): string {
    return `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${Buffer.from(fakeHex(name, 32), "hex").toString("base64").replace(/=+$/, "")}`;
}

/** The MAC the mock gives a VM's network card: the same while the VM stays, another one for a new VM. */
export function mockVmMacAddress(name: string, inputs: Record<string, unknown>): string {
    return mockMacAddress(replacementIdentity("proxmoxve:index/vmLegacy:VmLegacy", name, inputs));
}

/** Proxmox's own prefix (BC:24:11) with bytes from the name. */
export function mockMacAddress(name: string): string {
    const hex = fakeHex(name, 6).toUpperCase();
    return `BC:24:11:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
}

interface MockState {
    secretValues: Set<string>;
    invokes: RecordedInvoke[];
    previousOutputs: Record<string, unknown>;
    zoneLookupWithoutZoneId: boolean;
}

function mockOutputs(args: pulumi.runtime.MockResourceArgs, state: MockState): { id: string; state: Record<string, unknown> } {
    const inputs = args.inputs as Record<string, unknown>;
    const id = `${args.name}-id`;
    switch (args.type) {
        case "random:index/randomPassword:RandomPassword": {
            const value = mockSecretValue(args.name, Number(inputs.length));
            state.secretValues.add(value);
            // The real provider marks result secret (additionalSecretOutputs); mocks ignore that, so do it here.
            return { id, state: { ...inputs, result: pulumi.secret(value), bcryptHash: pulumi.secret(`$2a$10$${value}`) } };
        }
        case "random:index/randomBytes:RandomBytes": {
            const value = Buffer.from(fakeHex(args.name, Number(inputs.length) * 2), "hex").toString("base64");
            state.secretValues.add(value);
            return { id, state: { ...inputs, base64: pulumi.secret(value), hex: pulumi.secret(fakeHex(args.name, Number(inputs.length) * 2)) } };
        }
        case "docker:index/container:Container":
            // A new container (a replacement) has a new id, an updated one keeps its id: the gates' triggers see that.
            return { id: replacementIdentity(args.type, args.name, inputs, CONTAINER_REPLACE_ON_CHANGES), state: { ...inputs } };
        case "docker:index/remoteImage:RemoteImage": {
            const imageId = mockImageId(String(inputs.name));
            return { id: imageId, state: { ...inputs, imageId, repoDigest: `${String(inputs.name).split(":")[0]}@${imageId}` } };
        }
        case "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared": {
            const hex = fakeHex(args.name, 32);
            const tunnelId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
            return { id: tunnelId, state: { ...inputs } };
        }
        case "pulumi:pulumi:StackReference":
            return { id: String(inputs.name), state: { ...inputs, outputs: state.previousOutputs, secretOutputNames: [] } };
        case "proxmoxve:index/vmLegacy:VmLegacy": {
            // The NIC's MAC comes from the VM's config, and Proxmox picks a new one for a new VM; macAddresses from the
            // guest agent lists Docker's interfaces too.
            const nic = mockVmMacAddress(args.name, inputs);
            const devices = ((inputs.networkDevices as Record<string, unknown>[] | undefined) ?? []).map((device) => ({ ...device, macAddress: device.macAddress ?? nic }));
            return {
                id: String(typeof inputs.vmId === "number" ? inputs.vmId : 100),
                state: { ...inputs, vmId: inputs.vmId ?? 100, networkDevices: devices, macAddresses: ["00:00:00:00:00:00", nic, mockMacAddress(`${args.name}-docker0`)] },
            };
        }
        case "command:remote:Command":
            // The provider marks every output secret when the connection is (it always is).
            return { id, state: { ...inputs, stdout: pulumi.secret("ready"), stderr: pulumi.secret("") } };
        case "command:local:Command":
            return { id, state: { ...inputs, stdout: "ready", stderr: "" } };
        case "tls:index/privateKey:PrivateKey": {
            const privateKey = mockPrivateKey(args.name);
            state.secretValues.add(privateKey);
            return { id, state: { ...inputs, privateKeyOpenssh: pulumi.secret(privateKey), privateKeyPem: pulumi.secret(privateKey), publicKeyOpenssh: `${mockHostPublicKey(args.name)}\n` } };
        }
        case "random:index/randomUuid:RandomUuid": {
            const hex = fakeHex(args.name, 32);
            const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
            return { id: uuid, state: { ...inputs, result: uuid } };
        }
        default:
            return { id, state: { ...inputs } };
    }
}

function mockCall(args: pulumi.runtime.MockCallArgs, state: MockState): Record<string, unknown> {
    state.invokes.push({ token: args.token, args: args.inputs as Record<string, unknown> });
    switch (args.token) {
        case "cloudflare:index/getZone:getZone": {
            const filter = (args.inputs as { filter?: { name?: string } }).filter;
            const id = fakeHex(filter?.name ?? "zone", 32);
            return { ...args.inputs, id, zoneId: state.zoneLookupWithoutZoneId ? "" : id, name: filter?.name ?? "" };
        }
        default:
            // Nothing is silently faked: a new data source needs a mock here first.
            throw new Error(`unexpected invoke ${args.token}`);
    }
}

/** Unwraps secret and resource-reference markers, noting the paths that were secret. */
function unwrap(value: unknown, at: string, secretPaths: string[]): unknown {
    if (Array.isArray(value)) {
        return value.map((item, index) => unwrap(item, `${at}[${index}]`, secretPaths));
    }
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[SIG_KEY] === SECRET_SIG) {
            secretPaths.push(at);
            return unwrap(record.value, at, []);
        }
        if (record[SIG_KEY] === RESOURCE_SIG) {
            return record.urn;
        }
        return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, unwrap(item, at ? `${at}.${key}` : key, secretPaths)]));
    }
    return value;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the monitor request is a generated protobuf class. */
function record(req: any, urn: string, id: string): RecordedResource {
    const secretPaths: string[] = [];
    const inputs = unwrap(req.getObject()?.toJavaScript() ?? {}, "", secretPaths) as Record<string, unknown>;
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
        propertyDependencies[key] = deps.getUrnsList();
    });
    const providers: Record<string, string> = {};
    req.getProvidersMap().forEach((ref: string, pkg: string) => {
        providers[pkg] = ref;
    });
    const timeouts = req.getCustomtimeouts();
    const dependencies = new Set<string>(req.getDependenciesList());
    Object.values(propertyDependencies).forEach((deps) => deps.forEach((dep) => dependencies.add(dep)));
    return {
        type: req.getType(),
        name: req.getName(),
        urn,
        id,
        custom: req.getCustom(),
        inputs,
        secretPaths,
        parent: req.getParent(),
        provider: req.getProvider(),
        providers,
        protect: req.getProtect() === true,
        deleteBeforeReplace: req.getDeletebeforereplace(),
        retainOnDelete: req.getRetainondelete() === true,
        ignoreChanges: req.getIgnorechangesList(),
        replaceOnChanges: req.getReplaceonchangesList(),
        replaceWith: req.getReplaceWithList(),
        replacementTrigger: req.hasReplacementTrigger() ? unwrap(req.getReplacementTrigger()?.toJavaScript(), "", []) : undefined,
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        dependencies: [...dependencies],
        propertyDependencies,
        customTimeouts: timeouts ? { create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() } : {},
    };
}

/** Reads (StackReference, get functions of resources) carry fewer options than registrations. */
function recordRead(req: any, urn: string): RecordedResource {
    const secretPaths: string[] = [];
    return {
        type: req.getType(),
        name: req.getName(),
        urn,
        id: req.getId(),
        custom: true,
        inputs: unwrap(req.getProperties()?.toJavaScript() ?? {}, "", secretPaths) as Record<string, unknown>,
        secretPaths,
        parent: req.getParent(),
        provider: req.getProvider(),
        providers: {},
        protect: false,
        deleteBeforeReplace: false,
        retainOnDelete: false,
        ignoreChanges: [],
        replaceOnChanges: [],
        replaceWith: [],
        replacementTrigger: undefined,
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        dependencies: req.getDependenciesList(),
        propertyDependencies: {},
        customTimeouts: {},
    };
}

/** URNs from several lists, each once, sorted. */
const unionOfUrns = (lists: readonly (readonly string[])[]): string[] => [...new Set(lists.flat())].sort();

async function settle(value: unknown): Promise<{ value: unknown; secret: boolean; resources: string[] }> {
    if (pulumi.Output.isInstance(value)) {
        const output = value as any;
        const [resolved, secret, resources] = await Promise.all([output.promise(), output.isSecret, output.allResources() as Promise<Set<pulumi.Resource>>]);
        const inner = await settle(resolved);
        const urns = await Promise.all([...resources].map((resource) => (resource.urn as any).promise() as Promise<string>));
        return { value: inner.value, secret: secret || inner.secret, resources: unionOfUrns([urns, inner.resources]) };
    }
    if (Array.isArray(value)) {
        const items = await Promise.all(value.map(settle));
        return { value: items.map((item) => item.value), secret: items.some((item) => item.secret), resources: unionOfUrns(items.map((item) => item.resources)) };
    }
    if (value !== null && typeof value === "object") {
        const entries = await Promise.all(Object.entries(value).map(async ([key, item]) => [key, await settle(item)] as const));
        return {
            value: Object.fromEntries(entries.map(([key, item]) => [key, item.value])),
            secret: entries.some(([, item]) => item.secret),
            resources: unionOfUrns(entries.map(([, item]) => item.resources)),
        };
    }
    return { value, secret: false, resources: [] };
}

let running = false;

/**
 * Runs index.ts once. A run that throws rejects with the program's error; `lastRun` still holds what was recorded.
 * Pulumi's runtime state is global: runs must not overlap (await one before starting the next).
 */
export async function runProgram(options: RunOptions): Promise<ProgramRun> {
    if (running) {
        throw new Error("runProgram: a run is already in progress; Pulumi's runtime is global, so await runs one at a time");
    }
    running = true;
    const saved = { PATH: process.env.PATH, DOCKER_HOST: process.env.DOCKER_HOST, DOCKER_CONTEXT: process.env.DOCKER_CONTEXT };
    try {
        // The program asks the docker CLI for its context: a stand-in answers, so that this machine's Docker setup
        // never changes what a test sees.
        process.env.PATH = `${fakeDockerCli(options.dockerContextEndpoint ?? "unix:///var/run/docker.sock")}:${saved.PATH ?? ""}`;
        delete process.env.DOCKER_CONTEXT;
        if (options.dockerHostVariable !== undefined) {
            process.env.DOCKER_HOST = options.dockerHostVariable;
        } else {
            delete process.env.DOCKER_HOST;
        }
        return await runProgramOnce(options);
    } finally {
        for (const [name, value] of Object.entries(saved)) {
            if (value === undefined) {
                delete process.env[name];
            } else {
                process.env[name] = value;
            }
        }
        running = false;
    }
}

const fakeDockerClis = new Map<string, string>();

/** A folder with a `docker` that answers `docker context inspect` with the endpoint, and logs its calls. */
function fakeDockerCli(endpoint: string): string {
    let dir = fakeDockerClis.get(endpoint);
    if (dir === undefined) {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "harness-docker-"));
        fs.writeFileSync(
            path.join(dir, "docker"),
            `#!/bin/sh\nprintf '%s\\n' "$*" >>"${dir}/calls.log"\n[ "$1 $2" = "context inspect" ] && { echo '${endpoint}'; exit 0; }\nexit 1\n`,
            { mode: 0o755 },
        );
        fakeDockerClis.set(endpoint, dir);
    }
    return dir;
}

async function runProgramOnce(options: RunOptions): Promise<ProgramRun> {
    const state: MockState = {
        secretValues: new Set(options.config.secretValues),
        invokes: [],
        previousOutputs: options.previousOutputs ?? {},
        zoneLookupWithoutZoneId: options.zoneLookupWithoutZoneId ?? false,
    };
    const resources: RecordedResource[] = [];
    lastRun = { resources, invokes: state.invokes };
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => mockOutputs(args, state),
            call: (args) => mockCall(args, state),
        },
        PROJECT,
        options.stack,
        options.preview ?? false,
        // The local backend's organization name.
        "organization",
    );
    const monitor = pulumi.runtime.getMonitor() as any;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: unknown, resp: any) => void) => {
        register(req, (err: unknown, resp: any) => {
            if (!err) {
                resources.push(record(req, resp.getUrn(), resp.getId()));
            }
            callback(err, resp);
        });
    };
    const registeredOutputs: ProgramRun["registeredOutputs"] = {};
    const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req: any, callback: (err: unknown, resp: any) => void) => {
        const secretPaths: string[] = [];
        const outputs = unwrap(req.getOutputs()?.toJavaScript() ?? {}, "", secretPaths) as Record<string, unknown>;
        registeredOutputs[req.getUrn()] = { outputs, secretPaths };
        registerResourceOutputs(req, callback);
    };
    const readResource = monitor.readResource.bind(monitor);
    monitor.readResource = (req: any, callback: (err: unknown, resp: any) => void) => {
        readResource(req, (err: unknown, resp: any) => {
            if (!err) {
                resources.push(recordRead(req, resp.getUrn()));
            }
            callback(err, resp);
        });
    };
    const allConfig: Record<string, string> = {};
    for (const [key, value] of Object.entries(options.config.config)) {
        const fullKey = key.includes(":") ? key : `${PROJECT}:${key}`;
        allConfig[fullKey] = typeof value === "string" ? value : JSON.stringify(value);
    }
    pulumi.runtime.setAllConfig(allConfig, options.config.secretKeys);

    const exported = await program();
    const outputs: ProgramRun["outputs"] = {};
    const outputResources: ProgramRun["outputResources"] = {};
    for (const [key, value] of Object.entries(exported)) {
        const { resources: waitsFor, ...settled } = await settle(value);
        outputs[key] = settled;
        outputResources[key] = waitsFor;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings: any = require("@pulumi/pulumi/runtime/settings");
    await settings.waitForRPCs();
    // Secrets the program derives from generated ones: the tunnel's connector token.
    for (const tunnel of resources.filter((resource) => resource.type === "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared")) {
        state.secretValues.add(connectorToken(String(tunnel.inputs.accountId), tunnel.id, String(tunnel.inputs.tunnelSecret)));
    }
    return { resources, registeredOutputs, outputs, outputResources, invokes: state.invokes, secretValues: [...state.secretValues] };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export let lastRun: { resources: RecordedResource[]; invokes: RecordedInvoke[] } = { resources: [], invokes: [] };

/**
 * Runs the program and expects its config refused before any resource: a ConfigError with one line that holds every
 * fragment (key, value, what is allowed), and nothing registered. On a mismatch the problems are shown.
 */
export async function expectConfigRefused(options: RunOptions, fragments: readonly string[]): Promise<void> {
    let error: unknown;
    try {
        await runProgram(options);
    } catch (caught) {
        error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect({ problems, found: problems.some((line) => fragments.every((fragment) => line.includes(fragment))) }).toEqual({ problems, found: true });
    expect(lastRun.resources).toEqual([]);
}

/** Stack names with a Pulumi.<stack>.yaml in the repository. */
export function stackNames(): string[] {
    return fs
        .readdirSync(REPO_ROOT)
        .map((file) => /^Pulumi\.([a-z0-9-]+)\.yaml$/.exec(file)?.[1])
        .filter((name): name is string => name !== undefined)
        .sort();
}

/** Stacks of the Docker target (a VM, docker.host or the local engine): all but the Kubernetes ones. */
export function dockerStackNames(): string[] {
    return stackNames().filter((stack) => loadStackFile(stack).config[`${PROJECT}:kubernetes`] === undefined);
}

/**
 * Reads a stack file the way the Pulumi CLI hands it to the program: every `secure:` value is replaced by a
 * recognisable stand-in (the real ciphertext can't be decrypted here) and its top-level key is marked secret.
 */
export function loadStackFile(stack: string, dir: string = REPO_ROOT): StackConfigInput {
    // An empty stack file (a fresh `pulumi stack init`) parses to null: no config at all.
    const document = (parseYaml(fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8")) ?? {}) as { config?: Record<string, unknown> | null };
    const secretKeys: string[] = [];
    const secretValues: string[] = [];
    const replaceSecure = (value: unknown, key: string, at: string): unknown => {
        if (Array.isArray(value)) {
            return value.map((item, index) => replaceSecure(item, key, `${at}[${index}]`));
        }
        if (value !== null && typeof value === "object") {
            const record = value as Record<string, unknown>;
            if (typeof record.secure === "string" && Object.keys(record).length === 1) {
                const standIn = `MOCKCONFIGSECRET-${fakeHex(`${stack}/${at}`, 24)}`;
                if (!secretKeys.includes(key)) {
                    secretKeys.push(key);
                }
                secretValues.push(standIn);
                return standIn;
            }
            return Object.fromEntries(Object.entries(record).map(([child, item]) => [child, replaceSecure(item, key, `${at}.${child}`)]));
        }
        return value;
    };
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(document.config ?? {})) {
        config[key] = replaceSecure(value, key, key);
    }
    return { config, secretKeys, secretValues };
}

/** A stack file's config with some values replaced, e.g. withOverrides(base, { "authentik-sso:docker": {...} }). */
export function withOverrides(base: StackConfigInput, overrides: Record<string, unknown>, extraSecrets: { keys?: string[]; values?: string[] } = {}): StackConfigInput {
    const config = { ...base.config };
    for (const [key, value] of Object.entries(overrides)) {
        const fullKey = key.includes(":") ? key : `${PROJECT}:${key}`;
        if (value === undefined) {
            delete config[fullKey];
        } else {
            config[fullKey] = value;
        }
    }
    return {
        config,
        secretKeys: [...base.secretKeys, ...(extraSecrets.keys ?? [])],
        secretValues: [...base.secretValues, ...(extraSecrets.values ?? [])],
    };
}

// ---- queries over a run ----

export function ofType(run: ProgramRun, type: string): RecordedResource[] {
    return run.resources.filter((resource) => resource.type === type);
}

export function byName(run: ProgramRun, name: string): RecordedResource {
    const found = run.resources.filter((resource) => resource.name === name);
    if (found.length !== 1) {
        throw new Error(`expected one resource named ${name}, found ${found.length}: ${run.resources.map((resource) => resource.name).join(", ")}`);
    }
    return found[0] as RecordedResource;
}

export function findByName(run: ProgramRun, name: string): RecordedResource | undefined {
    return run.resources.find((resource) => resource.name === name);
}

/** Every resource `resource` depends on, directly or through other resources and component parents. */
export function transitiveDependencies(run: ProgramRun, resource: RecordedResource): Set<string> {
    const byUrn = new Map(run.resources.map((item) => [item.urn, item]));
    const childrenOf = new Map<string, RecordedResource[]>();
    for (const item of run.resources) {
        childrenOf.set(item.parent, [...(childrenOf.get(item.parent) ?? []), item]);
    }
    const seen = new Set<string>();
    const visit = (urn: string) => {
        if (seen.has(urn)) {
            return;
        }
        seen.add(urn);
        const item = byUrn.get(urn);
        if (!item) {
            return;
        }
        // Depending on a component means depending on everything inside it.
        (childrenOf.get(urn) ?? []).forEach((child) => visit(child.urn));
        item.dependencies.forEach(visit);
        if (item.provider) {
            visit(item.provider.split("::").slice(0, -1).join("::"));
        }
    };
    resource.dependencies.forEach(visit);
    if (resource.provider) {
        visit(resource.provider.split("::").slice(0, -1).join("::"));
    }
    return seen;
}

/** The top-level properties a state file or preview would show in plain text (those with a secret inside left out), as JSON. */
function visibleProperties(properties: Record<string, unknown>, secretPaths: readonly string[]): string {
    const hidden = (key: string) => secretPaths.some((secretPath) => secretPath === key || secretPath.startsWith(`${key}.`) || secretPath.startsWith(`${key}[`));
    return JSON.stringify(Object.fromEntries(Object.entries(properties).filter(([key]) => !hidden(key))));
}

/** The inputs a state file or preview would show in plain text (secret inputs left out), as JSON. */
export function visibleInputs(resource: RecordedResource): string {
    return visibleProperties(resource.inputs, resource.secretPaths);
}

/** What a component's registerOutputs put into the state in plain text, as JSON. */
export function visibleRegisteredOutputs(registered: RegisteredOutputs): string {
    return visibleProperties(registered.outputs, registered.secretPaths);
}

/** The env list of a container as KEY → value. */
export function envOf(resource: RecordedResource): Record<string, string> {
    const envs = (resource.inputs.envs as string[] | undefined) ?? [];
    return Object.fromEntries(envs.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
}
