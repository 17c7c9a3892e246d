/**
 * `npm run preflight -- --stack <name>`: checks, before `pulumi up`, what the README asks a user to prepare, each
 * line pass or fail with the fix. Uses the documented APIs: Proxmox VE's /api2/json (version, nodes, storage,
 * access/permissions) and Cloudflare's /client/v4 (user/tokens/verify, zones, cfd_tunnel, dns_records).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { PROJECT, ProxmoxConfig, StackConfig, parseStackConfig } from "../lib/config";
import { LocalEndpoint, localDockerEndpoint } from "../lib/dockerEndpoint";
import { parseCidr, parseIpv4, cidrContains } from "../lib/ipv4";

export interface CheckResult {
    readonly name: string;
    readonly ok: boolean;
    readonly detail: string;
    /** What to do about a failure. */
    readonly fix?: string;
}

export const pass = (name: string, detail: string): CheckResult => ({ name, ok: true, detail });
export const fail = (name: string, detail: string, fix: string): CheckResult => ({ name, ok: false, detail, fix });

/** Runs a program and returns its exit code and output (injected, so tests can answer for it). */
export type Runner = (command: string, args: readonly string[], env?: Record<string, string>) => { status: number | null; stdout: string; stderr: string };

export const runProgram: Runner = (command, args, env = {}) => {
    const result = spawnSync(command, [...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 30000 });
    return { status: result.error ? null : result.status, stdout: result.stdout ?? "", stderr: result.error ? result.error.message : (result.stderr ?? "") };
};

// ---- versions ----

export const MIN_PULUMI_CLI = [3, 207, 0] as const;

function versionAtLeast(text: string, minimum: readonly number[]): boolean | undefined {
    const match = /(\d+)\.(\d+)\.(\d+)/.exec(text);
    if (!match) {
        return undefined;
    }
    const parts = match.slice(1, 4).map(Number);
    for (let index = 0; index < minimum.length; index++) {
        if ((parts[index] ?? 0) !== (minimum[index] ?? 0)) {
            return (parts[index] ?? 0) > (minimum[index] ?? 0);
        }
    }
    return true;
}

export function checkPulumiCli(run: Runner): CheckResult {
    const name = "Pulumi CLI";
    const result = run("pulumi", ["version"]);
    if (result.status !== 0) {
        return fail(name, "not found", "install it: https://www.pulumi.com/docs/install/ (3.207 or later)");
    }
    const version = result.stdout.trim();
    return versionAtLeast(version, MIN_PULUMI_CLI)
        ? pass(name, `${version} (3.207 or later needed for the replaceWith option)`)
        : fail(name, `${version} is older than 3.207`, "upgrade it (pulumi.com/docs/install): the program uses the replaceWith resource option");
}

export function checkNode(version: string = process.version): CheckResult {
    const name = "Node.js";
    const major = Number(/^v?(\d+)/.exec(version)?.[1] ?? 0);
    const ok = major === 20 ? versionAtLeast(version, [20, 11, 0]) === true : major >= 22;
    return ok ? pass(name, version) : fail(name, `${version} is not supported`, "use Node.js 20.11 or later 20.x, or 22 and later (package.json engines)");
}

export function checkOpenSsh(run: Runner): CheckResult {
    const name = "OpenSSH client";
    const result = run("ssh", ["-V"]);
    const text = `${result.stdout}${result.stderr}`.trim();
    const match = /OpenSSH_(\d+)\.(\d+)/.exec(text);
    if (!match) {
        return fail(name, text || "not found", "install OpenSSH 8.5 or later (the Docker provider pins the VM's host key with KnownHostsCommand)");
    }
    const ok = Number(match[1]) > 8 || (Number(match[1]) === 8 && Number(match[2]) >= 5);
    return ok ? pass(name, text.split(/[ ,]/)[0] ?? text) : fail(name, `${text} is older than 8.5`, "upgrade OpenSSH: KnownHostsCommand, which pins the VM's host key, came with 8.5");
}

// ---- the local Docker engine ----

export function checkDocker(run: Runner, host?: string, source?: LocalEndpoint["source"]): CheckResult {
    const name = host !== undefined ? `Docker engine at ${host}${source === "docker context" ? " (the docker CLI's current context)" : ""}` : "Docker engine (DOCKER_HOST or the local socket)";
    const result = run("docker", ["version", "--format", "{{.Server.Version}}"], host !== undefined ? { DOCKER_HOST: host } : {});
    if (result.status !== 0) {
        return fail(name, (result.stderr || result.stdout).trim().split("\n")[0] ?? "no answer", "start Docker and make sure `docker info` works for your user (the docker group, rootless Docker's DOCKER_HOST, or WSL2 on Windows)");
    }
    const version = result.stdout.trim();
    return versionAtLeast(version, [25, 0, 0]) ? pass(name, `Docker Engine ${version}`) : fail(name, `Docker Engine ${version} is older than 25`, "upgrade Docker Engine to 25 or later");
}

// ---- HTTP ----

export interface HttpAnswer {
    readonly status: number;
    readonly body: unknown;
}

export class HttpFailure extends Error {
    constructor(
        message: string,
        readonly code: string | undefined,
    ) {
        super(message);
    }
}

const SELF_SIGNED = new Set(["DEPTH_ZERO_SELF_SIGNED_CERT", "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"]);

export function getJson(url: string, headers: Record<string, string>, insecure = false): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
        const target = new URL(url);
        const client = target.protocol === "https:" ? https : http;
        const request = client.request(target, { method: "GET", headers: { accept: "application/json", ...headers }, timeout: 15000, ...(target.protocol === "https:" ? { rejectUnauthorized: !insecure } : {}) }, (response) => {
            let text = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (text += chunk));
            response.on("end", () => {
                let body: unknown = text;
                try {
                    body = JSON.parse(text);
                } catch {
                    // Not JSON: keep the text for the message.
                }
                resolve({ status: response.statusCode ?? 0, body });
            });
        });
        request.on("timeout", () => request.destroy(new HttpFailure(`no answer from ${target.origin} within 15 s`, "ETIMEDOUT")));
        request.on("error", (error: NodeJS.ErrnoException) => reject(error instanceof HttpFailure ? error : new HttpFailure(error.message, error.code)));
        request.end();
    });
}

// ---- Proxmox VE ----

export interface ProxmoxAccess {
    /** proxmoxve:endpoint, e.g. https://pve.example.com:8006/ */
    readonly endpoint: string;
    /** user@realm!tokenid=uuid */
    readonly apiToken: string;
    readonly insecure: boolean;
}

function proxmoxGet(access: ProxmoxAccess, apiPath: string): Promise<HttpAnswer> {
    return getJson(new URL(`api2/json${apiPath}`, access.endpoint.endsWith("/") ? access.endpoint : `${access.endpoint}/`).toString(), { authorization: `PVEAPIToken=${access.apiToken}` }, access.insecure);
}

const data = (answer: HttpAnswer): unknown => (answer.body as { data?: unknown } | undefined)?.data;

/** The privileges the program uses on "/", by Proxmox VE major version (README, "Preparing Proxmox VE"). */
export function requiredPrivileges(major: number): string[] {
    return [
        "VM.Allocate",
        "VM.Audit",
        "VM.Config.CPU",
        "VM.Config.Memory",
        "VM.Config.Disk",
        "VM.Config.Network",
        "VM.Config.Options",
        "VM.Config.HWType",
        "VM.Config.Cloudinit",
        "VM.Config.CDROM",
        "VM.PowerMgmt",
        major >= 9 ? "VM.GuestAgent.Audit" : "VM.Monitor",
        "Datastore.AllocateSpace",
        "Datastore.AllocateTemplate",
        "Datastore.Audit",
        "Sys.Audit",
        "Sys.Modify",
        "SDN.Use",
    ];
}

export async function checkProxmox(access: ProxmoxAccess, proxmox: ProxmoxConfig): Promise<CheckResult[]> {
    const api = `Proxmox API at ${access.endpoint}`;
    let version: HttpAnswer;
    try {
        version = await proxmoxGet(access, "/version");
    } catch (error) {
        const failure = error as HttpFailure;
        if (failure.code !== undefined && SELF_SIGNED.has(failure.code)) {
            return [
                fail(
                    api,
                    `its TLS certificate is self-signed (${failure.code}), as on a fresh Proxmox install`,
                    "give the API a trusted certificate (Node → System → Certificates, ACME), or set proxmoxve:insecure to true in the stack (PROXMOX_VE_INSECURE=true) and run preflight again",
                ),
            ];
        }
        return [fail(api, `does not answer: ${failure.message}`, "check proxmoxve:endpoint (https://<host>:8006/) and that this machine reaches the node (VPN, firewall)")];
    }
    if (version.status === 401) {
        return [fail(api, "refuses the token (401)", "check the token: proxmoxve:apiToken or PROXMOX_VE_API_TOKEN, as user@realm!tokenid=secret")];
    }
    if (version.status !== 200) {
        return [fail(api, `answers ${version.status}`, "check proxmoxve:endpoint")];
    }
    const release = String((data(version) as { version?: string } | undefined)?.version ?? "");
    const [major = 0, minor = 0] = (/^(\d+)\.(\d+)/.exec(release) ?? []).slice(1).map(Number);
    const results: CheckResult[] = [
        major > 8 || (major === 8 && minor >= 4) ? pass(api, `Proxmox VE ${release}`) : fail(api, `Proxmox VE ${release || "(unknown)"}`, "upgrade to Proxmox VE 8.4 or later (content type Import)"),
    ];

    // A later call that fails (the network, a proxy) ends the Proxmox checks with what is known so far.
    const get = async (apiPath: string, what: string): Promise<HttpAnswer | undefined> => {
        try {
            return await proxmoxGet(access, apiPath);
        } catch (error) {
            results.push(fail(`${api}: ${what}`, `no answer: ${(error as Error).message}`, "check the network between this machine and the node, and run preflight again"));
            return undefined;
        }
    };
    const nodesAnswer = await get("/nodes", "nodes");
    if (nodesAnswer === undefined) {
        return results;
    }
    const nodes = (data(nodesAnswer) as { node: string; status?: string }[] | undefined) ?? [];
    const node = nodes.find((item) => item.node === proxmox.node);
    results.push(
        node === undefined
            ? fail(`node ${proxmox.node}`, `not found; the cluster has ${nodes.map((item) => item.node).join(", ") || "no node the token may see"}`, "set proxmox.node to one of them (and give the token Sys.Audit)")
            : node.status !== undefined && node.status !== "online"
              ? fail(`node ${proxmox.node}`, `is ${node.status}`, "bring the node online")
              : pass(`node ${proxmox.node}`, "online"),
    );

    const permissionsAnswer = await get("/access/permissions?path=/", "the token's privileges");
    if (permissionsAnswer === undefined) {
        return results;
    }
    const permissions = (data(permissionsAnswer) as Record<string, Record<string, number>> | undefined) ?? {};
    const granted = new Set(Object.keys(permissions["/"] ?? {}));
    const missing = requiredPrivileges(major).filter((privilege) => !granted.has(privilege));
    results.push(
        missing.length === 0
            ? pass("token privileges on /", `all ${requiredPrivileges(major).length} the stack uses`)
            : fail("token privileges on /", `missing ${missing.join(", ")}`, `pveum role modify AuthentikSSO -privs "${requiredPrivileges(major).join(" ")}" (README, "Preparing Proxmox VE")`),
    );

    const wanted: [string, string, string][] = [
        [proxmox.imageDatastore, "import", "the cloud image (proxmox.imageDatastore)"],
        [proxmox.snippetsDatastore, "snippets", "the cloud-init snippet (proxmox.snippetsDatastore)"],
        [proxmox.datastore, "images", "the VM disk (proxmox.datastore)"],
    ];
    for (const [storage, content, purpose] of wanted) {
        // The node's view of the datastore: readable with Datastore.Audit (GET /storage/{id}, the cluster's
        // configuration, needs Datastore.Allocate, which the role rightly lacks), and it says whether the datastore
        // is there and active on this node.
        const answer = await get(`/nodes/${encodeURIComponent(proxmox.node)}/storage/${encodeURIComponent(storage)}/status`, `datastore ${storage}`);
        if (answer === undefined) {
            return results;
        }
        const status = data(answer) as { content?: string; active?: number; enabled?: number } | undefined;
        const contents = String(status?.content ?? "").split(",");
        const name = `datastore ${storage} for ${purpose}`;
        results.push(
            answer.status === 403
                ? fail(name, "the token may not see it (403)", `grant the role Datastore.Audit on /storage/${storage} (or on /, as the README does)`)
                : answer.status !== 200
                  ? fail(
                        name,
                        `not found on node ${proxmox.node} (${answer.status})`,
                        storage === "local-lvm" ? 'ZFS installs have "local-zfs" instead of "local-lvm": set proxmox.datastore' : "create it, make it available on this node, or name an existing one",
                    )
                  : status?.active === 0 || status?.enabled === 0
                    ? fail(name, "is not active on this node", `Datacenter → Storage → ${storage}: enable it (and check the disk or share behind it)`)
                    : contents.includes(content)
                      ? pass(name, `allows ${content}`)
                      : fail(name, `allows ${contents.join(", ") || "nothing"}, not ${content}`, `Datacenter → Storage → ${storage} → Edit → Content: add ${content === "import" ? "Import" : content === "snippets" ? "Snippets" : "Disk image"}`),
        );
    }
    return results;
}

// ---- SSH ----

export function checkSsh(run: Runner, label: string, target: string, options: readonly string[] = []): CheckResult {
    const name = `SSH to ${label} (${target})`;
    // accept-new: a node this machine never reached is learnt, as a first manual ssh would; a changed key still fails.
    const result = run("ssh", ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "StrictHostKeyChecking=accept-new", ...options, target, "true"]);
    if (result.status === 0) {
        return pass(name, "logs in with the keys of your ssh-agent");
    }
    const message = result.stderr.trim().split("\n").pop() ?? "";
    return fail(
        name,
        message || `exit ${result.status}`,
        /Permission denied/.test(message)
            ? `load a key that ${target} accepts into your ssh-agent (ssh-add), and put its public half there (ssh-copy-id ${target})`
            : /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(result.stderr)
              ? `${target.split("@").pop()} presents another host key than your known_hosts holds: if the node was reinstalled, ssh-keygen -R ${target.split("@").pop()} and connect once by hand to check the new one`
              : `make ${target.split("@").pop()} reachable on port 22 from this machine (VPN, firewall, proxmox.adminCidr)`,
    );
}

/** The machine running Pulumi must connect from inside proxmox.adminCidr, or the VM's firewall drops it. */
export function checkAdminCidr(adminCidr: string, interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): CheckResult {
    const name = `an address of this machine in proxmox.adminCidr ${adminCidr}`;
    const cidr = parseCidr(adminCidr);
    const addresses = Object.values(interfaces)
        .flatMap((items) => items ?? [])
        .filter((item) => item.family === "IPv4" && !item.internal)
        .map((item) => item.address);
    const inside = addresses.filter((address) => cidr !== undefined && cidrContains(cidr, parseIpv4(address) ?? -1));
    return inside.length > 0
        ? pass(name, inside.join(", "))
        : fail(name, `none (${addresses.join(", ") || "no IPv4 address"})`, "connect from inside the admin network (or its VPN), or widen proxmox.adminCidr: the VM's firewall lets SSH in from there only");
}

// ---- Cloudflare ----

export interface CloudflareAccess {
    readonly apiToken: string;
    readonly accountId: string;
    readonly zone: string;
    readonly zoneId?: string;
    readonly domain: string;
    /** https://api.cloudflare.com/client/v4; tests point it elsewhere. */
    readonly apiBase: string;
}

interface CloudflareEnvelope<T> {
    success?: boolean;
    errors?: { code: number; message: string }[];
    result?: T;
}

function cloudflareGet<T>(access: CloudflareAccess, apiPath: string): Promise<{ status: number; envelope: CloudflareEnvelope<T> }> {
    return getJson(`${access.apiBase}${apiPath}`, { authorization: `Bearer ${access.apiToken}` }).then((answer) => ({ status: answer.status, envelope: (answer.body ?? {}) }));
}

const cloudflareErrors = (envelope: CloudflareEnvelope<unknown>) => (envelope.errors ?? []).map((error) => `${error.message} (${error.code})`).join("; ");

/**
 * Cloudflare's free Universal SSL certificate covers the zone and one level below it (example.com, *.example.com):
 * auth.dev.example.com gets a TLS error at the edge.
 */
export function checkCertificateCoverage(domain: string, zone: string): CheckResult {
    const name = `Cloudflare's universal certificate covers ${domain}`;
    const below = domain === zone ? 0 : domain.slice(0, -(zone.length + 1)).split(".").length;
    return below <= 1
        ? pass(name, below === 0 ? "the zone apex" : `one level below ${zone}`)
        : fail(name, `${domain} is ${below} levels below ${zone}; the free certificate covers ${zone} and *.${zone} only`, `use a name one level below the zone (e.g. ${domain.split(".")[0]}-${domain.split(".")[1]}.${zone}), or order an Advanced Certificate for *.${domain.split(".").slice(1).join(".")}`);
}

export async function checkCloudflare(access: CloudflareAccess): Promise<CheckResult[]> {
    const results: CheckResult[] = [];
    const active = (answer: { status: number; envelope: CloudflareEnvelope<{ status?: string }> }) => answer.status === 200 && answer.envelope.result?.status === "active";
    const verify = await cloudflareGet<{ status?: string }>(access, "/user/tokens/verify");
    // A token owned by the account, not a user, is verified under the account.
    const accountVerify = active(verify) ? undefined : await cloudflareGet<{ status?: string }>(access, `/accounts/${access.accountId}/tokens/verify`);
    if (!active(verify) && (accountVerify === undefined || !active(accountVerify))) {
        return [fail("Cloudflare API token", `not valid: ${cloudflareErrors(verify.envelope) || verify.status}`, "create a token (README, \"Preparing Cloudflare\") and set cloudflare:apiToken or CLOUDFLARE_API_TOKEN")];
    }
    results.push(pass("Cloudflare API token", accountVerify !== undefined ? "active (an account token)" : "active"));

    if (access.zoneId !== undefined) {
        // With the zone's id, the program needs no Zone → Read: check what it does need, DNS in that zone.
        const records = await cloudflareGet<unknown[]>(access, `/zones/${access.zoneId}/dns_records?per_page=1`);
        results.push(
            records.status === 200
                ? pass("DNS access in the zone", `the token reads DNS records of zone ${access.zoneId} (Edit cannot be checked without writing)`)
                : fail("DNS access in the zone", cloudflareErrors(records.envelope) || String(records.status), `give the token Zone → DNS → Edit for ${access.zone}, and check cloudflare.zoneId`),
        );
    }
    const zones = access.zoneId === undefined ? await cloudflareGet<{ id: string; name: string; status: string }[]>(access, `/zones?name=${encodeURIComponent(access.zone)}`) : undefined;
    const zone = zones?.envelope.result?.find((item) => item.name === access.zone);
    if (zones === undefined) {
        // zoneId given: checked above.
    } else if (zones.status !== 200 || zone === undefined) {
        results.push(
            fail(`zone ${access.zone}`, zones.status === 200 ? "not found with this token" : cloudflareErrors(zones.envelope), "give the token Zone → Zone → Read for this zone, or set cloudflare.zoneId"),
        );
    } else {
        results.push(zone.status === "active" ? pass(`zone ${access.zone}`, "active") : fail(`zone ${access.zone}`, `is ${zone.status}`, "finish moving the zone to Cloudflare (its nameservers) until it is active"));
        const records = await cloudflareGet<unknown[]>(access, `/zones/${zone.id}/dns_records?per_page=1`);
        results.push(
            records.status === 200
                ? pass("DNS access in the zone", "the token reads DNS records (Edit cannot be checked without writing)")
                : fail("DNS access in the zone", cloudflareErrors(records.envelope) || String(records.status), "give the token Zone → DNS → Edit"),
        );
    }

    const tunnels = await cloudflareGet<unknown[]>(access, `/accounts/${access.accountId}/cfd_tunnel?per_page=1`);
    results.push(
        tunnels.status === 200
            ? pass("Cloudflare Tunnel access in the account", "the token reads tunnels (Edit cannot be checked without writing)")
            : fail("Cloudflare Tunnel access in the account", cloudflareErrors(tunnels.envelope) || String(tunnels.status), "give the token Account → Cloudflare Tunnel → Edit, and check cloudflare.accountId"),
    );
    results.push(checkCertificateCoverage(access.domain, access.zone));
    return results;
}

// ---- the stack ----

export interface StackSettings {
    readonly config: StackConfig;
    /** Every config key of the stack, with secrets decrypted when the Pulumi CLI could do it. */
    readonly all: Readonly<Record<string, unknown>>;
}

/**
 * The stack's settings: from `pulumi config --show-secrets --json` when the CLI is logged in (secrets decrypted),
 * otherwise from Pulumi.<stack>.yaml (secrets then come from the environment: PROXMOX_VE_API_TOKEN,
 * CLOUDFLARE_API_TOKEN).
 */
export function readStack(stack: string, run: Runner, dir: string): StackSettings {
    const all: Record<string, unknown> = {};
    const cli = run("pulumi", ["config", "--show-secrets", "--json", "--stack", stack]);
    if (cli.status === 0) {
        for (const [key, entry] of Object.entries(JSON.parse(cli.stdout) as Record<string, { value?: string; objectValue?: unknown }>)) {
            all[key] = entry.objectValue ?? entry.value;
        }
    } else {
        const document = (parseYaml(fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8")) ?? {}) as { config?: Record<string, unknown> };
        Object.assign(all, document.config ?? {});
    }
    const raw = Object.fromEntries(
        Object.entries(all)
            .filter(([key]) => key.startsWith(`${PROJECT}:`))
            .map(([key, value]) => [key.slice(PROJECT.length + 1), typeof value === "string" && key !== `${PROJECT}:domain` && key !== `${PROJECT}:sshPrivateKey` ? tryJson(value) : value]),
    );
    return { config: parseStackConfig(raw), all };
}

function tryJson(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

const secretText = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

/** A `secure:` value straight from the stack file: the Pulumi CLI could not decrypt it. */
const undecrypted = (value: unknown): boolean => value !== null && typeof value === "object" && typeof (value as { secure?: unknown }).secure === "string";

const UNDECRYPTED_FIX =
    "the Pulumi CLI could not decrypt it: log in to the stack's backend and set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE), then run preflight again; or give the value in the environment variable named";

export interface PreflightOptions {
    readonly stack: string;
    readonly run: Runner;
    readonly dir: string;
    readonly env: NodeJS.ProcessEnv;
    readonly cloudflareApiBase?: string;
}

export async function preflight(options: PreflightOptions): Promise<CheckResult[]> {
    const { run, env } = options;
    const results: CheckResult[] = [checkPulumiCli(run), checkNode()];
    let settings: StackSettings;
    try {
        settings = readStack(options.stack, run, options.dir);
        results.push(pass(`stack ${options.stack}: configuration`, "valid"));
    } catch (error) {
        results.push(fail(`stack ${options.stack}: configuration`, (error as Error).message, "fix the settings named above"));
        return results;
    }
    const { config, all } = settings;

    if (config.kubernetes) {
        // The Kubernetes target: the cluster's access is the Kubernetes provider's (kubeconfig); only the tunnel's
        // side is checked here (README, "Kubernetes").
    } else if (!config.proxmox) {
        // The engine the program will use: docker.host, DOCKER_HOST, or the CLI's current context.
        const endpoint = localDockerEndpoint(config.docker.host, env, (command, args) => run(command, args));
        results.push(checkDocker(run, endpoint.host, endpoint.source));
    } else {
        results.push(checkOpenSsh(run));
        const endpoint = secretText(all["proxmoxve:endpoint"]) ?? env.PROXMOX_VE_ENDPOINT;
        const apiToken = secretText(all["proxmoxve:apiToken"]) ?? env.PROXMOX_VE_API_TOKEN;
        const insecureSetting = all["proxmoxve:insecure"] ?? env.PROXMOX_VE_INSECURE;
        const insecure = insecureSetting === true || insecureSetting === "true";
        if (apiToken === undefined && undecrypted(all["proxmoxve:apiToken"])) {
            results.push(fail("Proxmox credentials", "proxmoxve:apiToken is in the stack, encrypted", `${UNDECRYPTED_FIX} (PROXMOX_VE_API_TOKEN)`));
        } else if (endpoint === undefined || apiToken === undefined) {
            results.push(fail("Proxmox credentials", `${endpoint === undefined ? "proxmoxve:endpoint" : "proxmoxve:apiToken"} is not set`, "pulumi config set proxmoxve:endpoint https://<node>:8006/ and pulumi config set --secret proxmoxve:apiToken …, or PROXMOX_VE_ENDPOINT / PROXMOX_VE_API_TOKEN"));
        } else {
            results.push(...(await checkProxmox({ endpoint, apiToken, insecure }, config.proxmox)));
        }
        const ssh = (all["proxmoxve:ssh"] ?? {}) as { username?: string; nodes?: { name: string; address: string }[] };
        const nodeAddress = ssh.nodes?.find((node) => node.name === config.proxmox?.node)?.address ?? (endpoint !== undefined ? new URL(endpoint).hostname : config.proxmox.node);
        results.push(checkSsh(run, "the Proxmox node (snippet upload)", `${ssh.username ?? env.PROXMOX_VE_SSH_USERNAME ?? "root"}@${nodeAddress}`));
        results.push(checkAdminCidr(config.proxmox.adminCidr));
    }

    if (config.cloudflare) {
        const apiToken = secretText(all["cloudflare:apiToken"]) ?? env.CLOUDFLARE_API_TOKEN;
        if (apiToken === undefined && undecrypted(all["cloudflare:apiToken"])) {
            results.push(fail("Cloudflare credentials", "cloudflare:apiToken is in the stack, encrypted", `${UNDECRYPTED_FIX} (CLOUDFLARE_API_TOKEN)`));
        } else if (apiToken === undefined) {
            results.push(fail("Cloudflare credentials", "cloudflare:apiToken is not set", "pulumi config set --secret cloudflare:apiToken …, or CLOUDFLARE_API_TOKEN"));
        } else {
            results.push(
                ...(await checkCloudflare({
                    apiToken,
                    accountId: config.cloudflare.accountId,
                    zone: config.cloudflare.zone,
                    ...(config.cloudflare.zoneId !== undefined ? { zoneId: config.cloudflare.zoneId } : {}),
                    domain: config.domain,
                    apiBase: options.cloudflareApiBase ?? env.CLOUDFLARE_API_BASE ?? "https://api.cloudflare.com/client/v4",
                })),
            );
        }
    }
    return results;
}

export function renderResults(results: readonly CheckResult[]): string {
    return results
        .map((result) => `${result.ok ? "PASS" : "FAIL"}  ${result.name}: ${result.detail}${result.ok || result.fix === undefined ? "" : `\n      fix: ${result.fix}`}`)
        .join("\n");
}

export async function main(argv: string[], dir: string = process.cwd()): Promise<number> {
    const stackIndex = argv.indexOf("--stack");
    const stack = stackIndex >= 0 ? argv[stackIndex + 1] : undefined;
    if (stack === undefined || !fs.existsSync(path.join(dir, `Pulumi.${stack}.yaml`))) {
        console.error("usage: npm run preflight -- --stack <name>   (a stack with a Pulumi.<name>.yaml in this folder)");
        return 2;
    }
    const results = await preflight({ stack, run: runProgram, dir, env: process.env });
    console.log(renderResults(results));
    const failed = results.filter((result) => !result.ok).length;
    console.log(failed === 0 ? `\nAll ${results.length} checks passed: pulumi up --stack ${stack}` : `\n${failed} of ${results.length} checks failed.`);
    return failed === 0 ? 0 : 1;
}
