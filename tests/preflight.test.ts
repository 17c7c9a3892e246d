/**
 * `npm run preflight`: every check with a passing and a failing answer, against small servers on 127.0.0.1 that answer
 * like Proxmox VE's and Cloudflare's APIs (including their error answers), and stand-ins for the CLIs it runs.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import type { ProxmoxConfig } from "../lib/config";
import {
    CheckResult,
    Runner,
    checkAdminCidr,
    checkCertificateCoverage,
    checkCloudflare,
    checkDocker,
    checkNode,
    checkOpenSsh,
    checkProxmox,
    checkPulumiCli,
    checkSsh,
    main,
    preflight,
    renderResults,
    requiredPrivileges,
} from "../scripts/preflight";
import { REPO_ROOT } from "./harness";
import { describeWithTool } from "./tools";

/** A runner that answers each command from a table: "pulumi version" → result. */
function runner(answers: Record<string, { status: number | null; stdout?: string; stderr?: string }>): Runner & { calls: string[][] } {
    const calls: string[][] = [];
    const run = ((command: string, args: readonly string[], env?: Record<string, string>) => {
        calls.push([command, ...args, ...(env && Object.keys(env).length > 0 ? [JSON.stringify(env)] : [])]);
        const key = Object.keys(answers).find((prefix) => `${command} ${args.join(" ")}`.startsWith(prefix));
        const answer = key !== undefined ? answers[key] : { status: null, stderr: `${command}: not found` };
        return { status: answer?.status ?? null, stdout: answer?.stdout ?? "", stderr: answer?.stderr ?? "" };
    }) as Runner & { calls: string[][] };
    run.calls = calls;
    return run;
}

const byName = (results: readonly CheckResult[], prefix: string) => {
    const found = results.find((result) => result.name.startsWith(prefix));
    if (!found) {
        throw new Error(`no check named ${prefix}: ${results.map((result) => result.name).join(", ")}`);
    }
    return found;
};

describe("the tools", () => {
    test.each([
        ["v3.210.0\n", true],
        ["v3.207.0", true],
        ["v3.206.1", false],
        ["v4.0.0", true],
    ])("Pulumi CLI %s passes: %s", (version, ok) => {
        expect(checkPulumiCli(runner({ "pulumi version": { status: 0, stdout: version } })).ok).toBe(ok);
    });

    test("no Pulumi CLI: says where to get it", () => {
        expect(checkPulumiCli(runner({}))).toMatchObject({ ok: false, detail: "not found", fix: expect.stringContaining("pulumi.com/docs/install") });
    });

    test.each([
        ["v20.20.2", true],
        ["v20.11.0", true],
        ["v20.10.0", false],
        ["v21.7.3", false],
        ["v22.3.0", true],
        ["v24.1.0", true],
    ])("Node.js %s passes: %s", (version, ok) => {
        expect(checkNode(version).ok).toBe(ok);
    });

    test.each([
        ["OpenSSH_9.2p1 Debian-2+deb12u6, OpenSSL 3.0.19 27 Jan 2026", true],
        ["OpenSSH_8.5p1, LibreSSL 3.3.6", true],
        ["OpenSSH_8.4p1 Debian-5", false],
        ["", false],
    ])("%s passes: %s", (version, ok) => {
        expect(checkOpenSsh(runner({ "ssh -V": { status: 0, stderr: version } })).ok).toBe(ok);
    });

    test("the Docker engine: answers with a version, or says what must hold", () => {
        expect(checkDocker(runner({ "docker version": { status: 0, stdout: "28.2.2\n" } }))).toMatchObject({ ok: true, detail: "Docker Engine 28.2.2" });
        expect(checkDocker(runner({ "docker version": { status: 0, stdout: "24.0.7\n" } })).ok).toBe(false);
        const down = checkDocker(runner({ "docker version": { status: 1, stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n" } }));
        expect(down).toMatchObject({ ok: false, detail: expect.stringContaining("Cannot connect"), fix: expect.stringContaining("`docker info` works for your user") });
        const remote = runner({ "docker version": { status: 0, stdout: "28.0.0" } });
        checkDocker(remote, "ssh://deploy@docker.lan");
        expect(remote.calls).toEqual([["docker", "version", "--format", "{{.Server.Version}}", JSON.stringify({ DOCKER_HOST: "ssh://deploy@docker.lan" })]]);
    });

    test("SSH: logs in, or says whether the key or the network is the problem", () => {
        expect(checkSsh(runner({ ssh: { status: 0 } }), "the Proxmox node", "root@pve").ok).toBe(true);
        const denied = checkSsh(runner({ ssh: { status: 255, stderr: "root@pve: Permission denied (publickey,password).\n" } }), "the Proxmox node", "root@pve");
        expect(denied).toMatchObject({ ok: false, fix: expect.stringContaining("ssh-copy-id root@pve") });
        const unreachable = checkSsh(runner({ ssh: { status: 255, stderr: "ssh: connect to host pve port 22: No route to host\n" } }), "the Proxmox node", "root@pve");
        expect(unreachable.fix).toContain("reachable on port 22");
        // A node never reached before is learnt (accept-new); a changed key is named as such.
        const first = runner({ ssh: { status: 0 } });
        checkSsh(first, "the Proxmox node", "root@pve");
        expect(first.calls[0]).toEqual(expect.arrayContaining(["StrictHostKeyChecking=accept-new"]));
        const changed = checkSsh(
            runner({ ssh: { status: 255, stderr: "@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n...\nHost key verification failed.\n" } }),
            "the Proxmox node",
            "root@pve",
        );
        expect(changed.fix).toContain("ssh-keygen -R pve");
    });

    test("an address of this machine inside the admin network", () => {
        const interfaces = {
            lo: [{ address: "127.0.0.1", family: "IPv4", internal: true } as os.NetworkInterfaceInfo],
            eth0: [{ address: "192.168.1.23", family: "IPv4", internal: false } as os.NetworkInterfaceInfo],
        };
        expect(checkAdminCidr("192.168.1.0/24", interfaces)).toMatchObject({ ok: true, detail: "192.168.1.23" });
        expect(checkAdminCidr("10.0.0.0/24", interfaces)).toMatchObject({ ok: false, detail: "none (192.168.1.23)" });
    });
});

describe("Cloudflare's certificate covers the zone and one level below", () => {
    test.each([
        ["example.com", true],
        ["auth.example.com", true],
        ["auth-dev.example.com", true],
        ["auth.dev.example.com", false],
        ["a.b.c.example.com", false],
    ])("%s: %s", (domain, ok) => {
        const result = checkCertificateCoverage(domain, "example.com");
        expect(result.ok).toBe(ok);
        if (!ok) {
            expect(result.detail).toContain("the free certificate covers example.com and *.example.com only");
        }
    });
});

interface FakeApi {
    url: string;
    requests: { path: string; authorization: string | undefined }[];
    close: () => void;
}

/** Serves JSON answers by path (without the query string, or with it when a key has one). */
/** A route answered by dropping the connection, as a failing network does. */
const HANG_UP: [number, unknown] = [0, "hang up"];

async function serve(routes: Record<string, [number, unknown]>, tls?: { key: string; cert: string }): Promise<FakeApi> {
    const requests: FakeApi["requests"] = [];
    const handler = (request: http.IncomingMessage, response: http.ServerResponse) => {
        const url = request.url ?? "";
        requests.push({ path: url, authorization: request.headers.authorization });
        const route = routes[url] ?? routes[url.split("?")[0] ?? ""] ?? [404, { errors: [{ code: 7003, message: "Could not route to the path" }], success: false }];
        if (route === HANG_UP) {
            request.socket.destroy();
            return;
        }
        response.writeHead(route[0], { "content-type": "application/json" });
        response.end(JSON.stringify(route[1]));
    };
    const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    return { url: `${tls ? "https" : "http"}://127.0.0.1:${port}`, requests, close: () => server.close() };
}

const proxmoxConfig = { node: "pve", imageDatastore: "local", snippetsDatastore: "local", datastore: "local-lvm" } as ProxmoxConfig;

function proxmoxRoutes(major: 8 | 9, { withoutPrivilege, localContent = "iso,vztmpl,import,snippets,backup", lvm = true }: { withoutPrivilege?: string; localContent?: string; lvm?: boolean } = {}): Record<string, [number, unknown]> {
    const privileges = Object.fromEntries(requiredPrivileges(major).filter((privilege) => privilege !== withoutPrivilege).map((privilege) => [privilege, 1]));
    return {
        "/api2/json/version": [200, { data: { version: major === 9 ? "9.0.11" : "8.4.1", release: major === 9 ? "9.0" : "8.4", repoid: "abc" } }],
        "/api2/json/nodes": [200, { data: [{ node: "pve", status: "online", type: "node" }] }],
        "/api2/json/access/permissions?path=/": [200, { data: { "/": privileges } }],
        // The node's status of each datastore (Datastore.Audit); the cluster's storage configuration needs
        // Datastore.Allocate, which the README's role does not grant: Proxmox refuses it (pve-storage Config.pm).
        "/api2/json/nodes/pve/storage/local/status": [200, { data: { type: "dir", content: localContent, active: 1, enabled: 1, shared: 0, total: 100, used: 10, avail: 90 } }],
        ...(lvm ? { "/api2/json/nodes/pve/storage/local-lvm/status": [200, { data: { type: "lvmthin", content: "images,rootdir", active: 1, enabled: 1 } }] as [number, unknown] } : {}),
        "/api2/json/storage/local": [403, { data: null, message: "Permission check failed (/storage/local, Datastore.Allocate)" }],
        "/api2/json/storage/local-lvm": [403, { data: null, message: "Permission check failed (/storage/local-lvm, Datastore.Allocate)" }],
    };
}

describe("Proxmox VE's API", () => {
    let api: FakeApi | undefined;
    afterEach(() => api?.close());

    test("a ready node: version, node, every privilege, datastores with import, snippets and disk images", async () => {
        api = await serve(proxmoxRoutes(9));
        const results = await checkProxmox({ endpoint: `${api.url}/`, apiToken: "pulumi@pve!iac=0000-token", insecure: false }, proxmoxConfig);
        expect(results.every((result) => result.ok)).toBe(true);
        expect(results.map((result) => result.name)).toEqual([
            `Proxmox API at ${api.url}/`,
            "node pve",
            "token privileges on /",
            "datastore local for the cloud image (proxmox.imageDatastore)",
            "datastore local for the cloud-init snippet (proxmox.snippetsDatastore)",
            "datastore local-lvm for the VM disk (proxmox.datastore)",
        ]);
        expect(api.requests[0]).toEqual({ path: "/api2/json/version", authorization: "PVEAPIToken=pulumi@pve!iac=0000-token" });
    });

    test("a missing privilege is named with the command that grants all of them; Proxmox VE 8 wants VM.Monitor", async () => {
        api = await serve(proxmoxRoutes(9, { withoutPrivilege: "VM.GuestAgent.Audit" }));
        const nine = await checkProxmox({ endpoint: api.url, apiToken: "t", insecure: false }, proxmoxConfig);
        expect(byName(nine, "token privileges")).toMatchObject({ ok: false, detail: "missing VM.GuestAgent.Audit", fix: expect.stringContaining("pveum role modify AuthentikSSO -privs") });
        api.close();
        api = await serve(proxmoxRoutes(8, { withoutPrivilege: "VM.Monitor" }));
        const eight = await checkProxmox({ endpoint: api.url, apiToken: "t", insecure: false }, proxmoxConfig);
        expect(byName(eight, "token privileges").detail).toBe("missing VM.Monitor");
    });

    test("datastores without Import or Snippets, and a ZFS install without local-lvm, each with the fix", async () => {
        api = await serve(proxmoxRoutes(9, { localContent: "iso,vztmpl,backup", lvm: false }));
        const results = await checkProxmox({ endpoint: api.url, apiToken: "t", insecure: false }, proxmoxConfig);
        expect(byName(results, "datastore local for the cloud image")).toMatchObject({ ok: false, fix: expect.stringContaining("Content: add Import") });
        expect(byName(results, "datastore local for the cloud-init snippet")).toMatchObject({ ok: false, fix: expect.stringContaining("Content: add Snippets") });
        expect(byName(results, "datastore local-lvm")).toMatchObject({ ok: false, fix: expect.stringContaining('"local-zfs"') });
    });

    test("a datastore that is not active on the node, and one the token may not see", async () => {
        api = await serve({
            ...proxmoxRoutes(9),
            "/api2/json/nodes/pve/storage/local-lvm/status": [200, { data: { type: "lvmthin", content: "images,rootdir", active: 0, enabled: 1 } }],
            "/api2/json/nodes/pve/storage/local/status": [403, { data: null }],
        });
        const results = await checkProxmox({ endpoint: api.url, apiToken: "t", insecure: false }, proxmoxConfig);
        expect(byName(results, "datastore local-lvm")).toMatchObject({ ok: false, detail: "is not active on this node" });
        expect(byName(results, "datastore local for the cloud image")).toMatchObject({ ok: false, detail: "the token may not see it (403)", fix: expect.stringContaining("Datastore.Audit") });
    });

    test("a refused token and an unknown node", async () => {
        api = await serve({ "/api2/json/version": [401, { data: null }] });
        expect(await checkProxmox({ endpoint: api.url, apiToken: "wrong", insecure: false }, proxmoxConfig)).toEqual([
            expect.objectContaining({ ok: false, detail: "refuses the token (401)" }),
        ]);
        api.close();
        api = await serve({ ...proxmoxRoutes(9), "/api2/json/nodes": [200, { data: [{ node: "pve2", status: "online" }] }] });
        expect(byName(await checkProxmox({ endpoint: api.url, apiToken: "t", insecure: false }, proxmoxConfig), "node pve")).toMatchObject({ ok: false, detail: "not found; the cluster has pve2" });
    });

    test("Proxmox VE before 8.4 (no content type Import) is refused", async () => {
        api = await serve({ ...proxmoxRoutes(8), "/api2/json/version": [200, { data: { version: "8.3.5", release: "8.3" } }] });
        const [version] = await checkProxmox({ endpoint: api.url, apiToken: "t", insecure: false }, proxmoxConfig);
        expect(version).toMatchObject({ ok: false, detail: "Proxmox VE 8.3.5", fix: expect.stringContaining("8.4 or later") });
    });

    test("a call that fails half-way keeps what was found so far, and says which call failed", async () => {
        api = await serve({ ...proxmoxRoutes(9), "/api2/json/nodes": HANG_UP });
        const results = await checkProxmox({ endpoint: api.url, apiToken: "t", insecure: false }, proxmoxConfig);
        expect(results).toEqual([
            expect.objectContaining({ ok: true, detail: "Proxmox VE 9.0.11" }),
            expect.objectContaining({ ok: false, name: `Proxmox API at ${api.url}: nodes`, detail: expect.stringContaining("no answer:") }),
        ]);
    });

    test("an endpoint that does not answer", async () => {
        const [result] = await checkProxmox({ endpoint: "http://127.0.0.1:9/", apiToken: "t", insecure: false }, proxmoxConfig);
        expect(result).toMatchObject({ ok: false, detail: expect.stringContaining("does not answer"), fix: expect.stringContaining("proxmoxve:endpoint") });
    });

    describeWithTool("openssl", "with a self-signed certificate, as a fresh install has", () => {
        let tls: { key: string; cert: string };
        beforeAll(() => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "self-signed-"));
            execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stdio: "pipe" });
            tls = { key: fs.readFileSync(path.join(dir, "key.pem"), "utf8"), cert: fs.readFileSync(path.join(dir, "cert.pem"), "utf8") };
        });

        test("says so and names both ways out; with proxmoxve:insecure it goes on", async () => {
            api = await serve(proxmoxRoutes(9), tls);
            const [refused] = await checkProxmox({ endpoint: api.url, apiToken: "t", insecure: false }, proxmoxConfig);
            expect(refused).toMatchObject({ ok: false, detail: expect.stringContaining("self-signed"), fix: expect.stringContaining("proxmoxve:insecure") });
            const insecure = await checkProxmox({ endpoint: api.url, apiToken: "t", insecure: true }, proxmoxConfig);
            expect(insecure.every((result) => result.ok)).toBe(true);
        });
    });
});

describe("Cloudflare's API", () => {
    let api: FakeApi | undefined;
    afterEach(() => api?.close());
    const access = (apiBase: string) => ({ apiToken: "cf-token", accountId: "0123456789abcdef0123456789abcdef", zone: "example.com", domain: "auth-dev.example.com", apiBase });
    const denied: [number, unknown] = [403, { success: false, errors: [{ code: 10000, message: "Authentication error" }] }];
    const ready: Record<string, [number, unknown]> = {
        "/user/tokens/verify": [200, { success: true, result: { id: "t1", status: "active" } }],
        "/zones?name=example.com": [200, { success: true, result: [{ id: "fedcba9876543210fedcba9876543210", name: "example.com", status: "active" }] }],
        "/zones/fedcba9876543210fedcba9876543210/dns_records?per_page=1": [200, { success: true, result: [] }],
        "/accounts/0123456789abcdef0123456789abcdef/cfd_tunnel?per_page=1": [200, { success: true, result: [] }],
    };

    test("a ready account: token active, zone active, DNS and tunnel access, a covered name", async () => {
        api = await serve(ready);
        const results = await checkCloudflare(access(api.url));
        expect(results.map((result) => [result.name, result.ok])).toEqual([
            ["Cloudflare API token", true],
            ["zone example.com", true],
            ["DNS access in the zone", true],
            ["Cloudflare Tunnel access in the account", true],
            ["Cloudflare's universal certificate covers auth-dev.example.com", true],
        ]);
        expect(api.requests.every((request) => request.authorization === "Bearer cf-token")).toBe(true);
    });

    test("an invalid token stops there, with Cloudflare's own message", async () => {
        api = await serve({ "/user/tokens/verify": [401, { success: false, errors: [{ code: 1000, message: "Invalid API Token" }] }] });
        expect(await checkCloudflare(access(api.url))).toEqual([expect.objectContaining({ ok: false, detail: "not valid: Invalid API Token (1000)" })]);
    });

    test("a pending zone, no DNS permission, no tunnel permission", async () => {
        api = await serve({
            ...ready,
            "/zones?name=example.com": [200, { success: true, result: [{ id: "fedcba9876543210fedcba9876543210", name: "example.com", status: "pending" }] }],
            "/zones/fedcba9876543210fedcba9876543210/dns_records?per_page=1": denied,
            "/accounts/0123456789abcdef0123456789abcdef/cfd_tunnel?per_page=1": denied,
        });
        const results = await checkCloudflare(access(api.url));
        expect(byName(results, "zone example.com")).toMatchObject({ ok: false, detail: "is pending" });
        expect(byName(results, "DNS access")).toMatchObject({ ok: false, detail: "Authentication error (10000)", fix: "give the token Zone → DNS → Edit" });
        expect(byName(results, "Cloudflare Tunnel access")).toMatchObject({ ok: false, fix: expect.stringContaining("Cloudflare Tunnel → Edit") });
    });

    test("with cloudflare.zoneId the token needs no Zone → Read: DNS in that zone is checked, and a wrong id fails there", async () => {
        api = await serve({ ...ready, "/zones?name=example.com": denied });
        const right = await checkCloudflare({ ...access(api.url), zoneId: "fedcba9876543210fedcba9876543210" });
        expect(right.every((result) => result.ok)).toBe(true);
        expect(api.requests.some((request) => request.path.startsWith("/zones?name="))).toBe(false);
        const wrong = await checkCloudflare({ ...access(api.url), zoneId: "00000000000000000000000000000000" });
        expect(byName(wrong, "DNS access")).toMatchObject({ ok: false, fix: expect.stringContaining("check cloudflare.zoneId") });
    });

    test("a token owned by the account is verified under the account", async () => {
        api = await serve({
            ...ready,
            "/user/tokens/verify": [401, { success: false, errors: [{ code: 1000, message: "Invalid API Token" }] }],
            "/accounts/0123456789abcdef0123456789abcdef/tokens/verify": [200, { success: true, result: { id: "t2", status: "active" } }],
        });
        const results = await checkCloudflare(access(api.url));
        expect(results[0]).toMatchObject({ name: "Cloudflare API token", ok: true, detail: "active (an account token)" });
        expect(results.every((result) => result.ok)).toBe(true);
    });
});

describe("npm run preflight for a stack", () => {
    let api: FakeApi | undefined;
    afterEach(() => api?.close());

    test("a local stack: the tools and the Docker engine, from the stack file when the Pulumi CLI cannot decrypt", async () => {
        const run = runner({ "pulumi version": { status: 0, stdout: "v3.210.0" }, "pulumi config": { status: 255, stderr: "no stack named 'local' found" }, "docker version": { status: 0, stdout: "28.2.2" } });
        const results = await preflight({ stack: "local", run, dir: REPO_ROOT, env: {} });
        expect(results.map((result) => [result.name, result.ok])).toEqual([
            ["Pulumi CLI", true],
            ["Node.js", true],
            ["stack local: configuration", true],
            ["Docker engine (DOCKER_HOST or the local socket)", true],
        ]);
        expect(renderResults(results)).toMatch(/^PASS {2}Pulumi CLI: v3\.210\.0/);
    });

    test("a local stack on a docker context (rootless Docker, Colima): the context's engine is checked, the one the program will use", async () => {
        const run = runner({
            "pulumi version": { status: 0, stdout: "v3.210.0" },
            "pulumi config": { status: 255 },
            "docker context": { status: 0, stdout: "unix:///run/user/1000/docker.sock\n" },
            "docker version": { status: 0, stdout: "28.2.2" },
        });
        const results = await preflight({ stack: "local", run, dir: REPO_ROOT, env: {} });
        expect(results[3]).toMatchObject({ name: "Docker engine at unix:///run/user/1000/docker.sock (the docker CLI's current context)", ok: true });
        expect(run.calls).toContainEqual(["docker", "version", "--format", "{{.Server.Version}}", JSON.stringify({ DOCKER_HOST: "unix:///run/user/1000/docker.sock" })]);
    });

    test("the k8s stack: no Docker engine is asked for (the cluster is the Kubernetes provider's), the tunnel's side is", async () => {
        const run = runner({ "pulumi version": { status: 0, stdout: "v3.210.0" }, "pulumi config": { status: 255 } });
        const results = await preflight({ stack: "k8s", run, dir: REPO_ROOT, env: {} });
        expect(results.map((result) => [result.name, result.ok])).toEqual([
            ["Pulumi CLI", true],
            ["Node.js", true],
            ["stack k8s: configuration", true],
            ["Cloudflare credentials", false],
        ]);
        expect(run.calls.map((call) => call[0])).toEqual(["pulumi", "pulumi"]);
    });

    test("the dev stack: Proxmox and Cloudflare credentials from the environment, each failure with its fix", async () => {
        api = await serve({ ...proxmoxRoutes(9, { withoutPrivilege: "Sys.Modify" }), "/user/tokens/verify": [200, { success: true, result: { status: "active" } }] });
        // The dev stack file, with its Proxmox endpoint pointed at the fake API.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-"));
        const devFile = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8").replace(/proxmoxve:endpoint: .*/, `proxmoxve:endpoint: ${api.url}/`);
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), devFile);
        const run = runner({ "pulumi version": { status: 0, stdout: "v3.210.0" }, "pulumi config": { status: 255 }, "ssh -V": { status: 0, stderr: "OpenSSH_9.2p1" }, ssh: { status: 255, stderr: "Permission denied (publickey)." } });
        const results = await preflight({ stack: "dev", run, dir, env: { PROXMOX_VE_API_TOKEN: "pulumi@pve!iac=t", CLOUDFLARE_API_TOKEN: "cf" }, cloudflareApiBase: api.url });
        expect(byName(results, `Proxmox API at ${api.url}/`)).toMatchObject({ ok: true, detail: "Proxmox VE 9.0.11" });
        expect(byName(results, "token privileges on /")).toMatchObject({ ok: false, detail: "missing Sys.Modify" });
        expect(byName(results, "SSH to the Proxmox node (snippet upload) (root@127.0.0.1)")).toMatchObject({ ok: false, fix: expect.stringContaining("ssh-copy-id root@127.0.0.1") });
        expect(byName(results, "Cloudflare API token").ok).toBe(true);
        expect(byName(results, "zone example.com")).toMatchObject({ ok: false });
        expect(api.requests.find((request) => request.path === "/api2/json/version")?.authorization).toBe("PVEAPIToken=pulumi@pve!iac=t");
        const output = renderResults(results);
        expect(output).toContain("FAIL  SSH to the Proxmox node");
        expect(output).toContain("      fix: ");
        // Nothing secret in what it prints.
        expect(output).not.toContain("pulumi@pve!iac=t");
    });

    test("credentials the Pulumi CLI could not decrypt are named as such, not as missing", async () => {
        const run = runner({ "pulumi version": { status: 0, stdout: "v3.210.0" }, "pulumi config": { status: 255, stderr: "passphrase must be set" }, "ssh -V": { status: 0, stderr: "OpenSSH_9.2p1" }, ssh: { status: 0 } });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-"));
        const devFile = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8").replace("config:\n", "config:\n  proxmoxve:apiToken:\n    secure: v1:AAAA\n  cloudflare:apiToken:\n    secure: v1:BBBB\n");
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), devFile);
        const results = await preflight({ stack: "dev", run, dir, env: {} });
        expect(byName(results, "Proxmox credentials")).toMatchObject({ ok: false, detail: "proxmoxve:apiToken is in the stack, encrypted", fix: expect.stringContaining("PULUMI_CONFIG_PASSPHRASE") });
        expect(byName(results, "Cloudflare credentials")).toMatchObject({ ok: false, detail: "cloudflare:apiToken is in the stack, encrypted" });
    });

    test("credentials missing everywhere are named", async () => {
        const run = runner({ "pulumi version": { status: 0, stdout: "v3.210.0" }, "pulumi config": { status: 255 }, "ssh -V": { status: 0, stderr: "OpenSSH_9.2p1" }, ssh: { status: 0 } });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-"));
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8").replace(/ *proxmoxve:endpoint: .*\n/, ""));
        const results = await preflight({ stack: "dev", run, dir, env: {} });
        expect(byName(results, "Proxmox credentials")).toMatchObject({ ok: false, detail: "proxmoxve:endpoint is not set" });
        expect(byName(results, "Cloudflare credentials")).toMatchObject({ ok: false, detail: "cloudflare:apiToken is not set" });
    });

    test("a configuration error is reported as such, and nothing is contacted", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-"));
        fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), "config:\n  authentik-sso:domain: localhost\n  authentik-sso:authentik:\n    version: 2025.1\n    bootstrapEmail: a@example.com\n");
        const run = runner({ "pulumi version": { status: 0, stdout: "v3.210.0" }, "pulumi config": { status: 255 } });
        const results = await preflight({ stack: "broken", run, dir, env: {} });
        expect(byName(results, "stack broken: configuration")).toMatchObject({ ok: false, detail: expect.stringContaining("quote it") });
        expect(run.calls.map((call) => call[0])).toEqual(["pulumi", "pulumi"]);
    });
});

test("npm run preflight without a known stack shows its usage", async () => {
    const error = jest.spyOn(console, "error").mockImplementation(() => undefined);
    try {
        expect(await main(["--stack", "nope"], REPO_ROOT)).toBe(2);
        expect(await main([], REPO_ROOT)).toBe(2);
        expect(error.mock.calls.flat().join("\n")).toContain("usage: npm run preflight -- --stack <name>");
    } finally {
        error.mockRestore();
    }
});
