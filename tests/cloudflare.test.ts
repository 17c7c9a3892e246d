/** The Cloudflare Tunnel, its ingress, the DNS record and the connectors, under mocks with the dev and prod stacks. */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as http from "http";
import type { AddressInfo } from "net";
import { DEFAULT_IMAGES } from "../lib/config";
import { connectionsCleanupScript, connectorToken } from "../lib/tunnelPlan";
import { ProgramRun, RecordedResource, byName, envOf, loadStackFile, ofType, runProgram, transitiveDependencies, visibleInputs, withOverrides } from "./harness";
import { describeWithTool } from "./tools";

const dev = loadStackFile("dev");
const prod = loadStackFile("prod");


describe("dev stack behind a Cloudflare Tunnel", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "dev", config: dev });
    });

    test("a remotely managed tunnel named after project and stack, with a 32-byte secret kept secret", () => {
        const tunnel = byName(run, "cloudflare-tunnel");
        const secret = byName(run, "cloudflare-secret");
        expect(tunnel.type).toBe("cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared");
        expect(tunnel.inputs).toMatchObject({ accountId: "0123456789abcdef0123456789abcdef", name: "authentik-sso-dev", configSrc: "cloudflare" });
        expect(tunnel.secretPaths).toContain("tunnelSecret");
        expect(secret.type).toBe("random:index/randomBytes:RandomBytes");
        expect(secret.inputs.length).toBe(32);
        expect(Buffer.from(String(tunnel.inputs.tunnelSecret), "base64")).toHaveLength(32);
        expect(tunnel.dependencies).toContain(secret.urn);
        // The name is unique per account: a create-first replacement would fail with 409 (code 1013).
        expect(tunnel.deleteBeforeReplace).toBe(true);
    });

    test("before the tunnel is deleted, a command cleans up its lingering connections (only on delete)", () => {
        const cleanup = byName(run, "cloudflare-connections-cleanup");
        const tunnelId = String(run.outputs.tunnelId?.value);
        expect(cleanup.type).toBe("command:local:Command");
        expect(cleanup.inputs.create).toBeUndefined();
        expect(String(cleanup.inputs.delete)).toContain("/accounts/$ACCOUNT_ID/cfd_tunnel/$TUNNEL_ID/connections");
        expect(cleanup.inputs.environment).toEqual({ ACCOUNT_ID: "0123456789abcdef0123456789abcdef", TUNNEL_ID: tunnelId });
        expect(cleanup.inputs.triggers).toEqual([tunnelId]);
        expect(cleanup.dependencies).toContain(byName(run, "cloudflare-tunnel").urn);
        // The connectors depend on it: destroy removes them first, then runs the cleanup, then deletes the tunnel.
        expect(byName(run, "cloudflared-1").dependencies).toContain(cleanup.urn);
    });

    test("ingress: the domain to the authentik server on the Docker network, then the 404 catch-all", () => {
        const config = byName(run, "cloudflare-config");
        expect(config.inputs.tunnelId).toBe(run.outputs.tunnelId?.value);
        const ingresses = (config.inputs.config as { ingresses: { hostname?: string; service: string; originRequest?: Record<string, number> }[] }).ingresses;
        expect(ingresses).toHaveLength(2);
        expect(ingresses[0]).toEqual({
            hostname: "auth-dev.example.com",
            service: "http://authentik-server:9000",
            originRequest: { connectTimeout: 30, keepAliveTimeout: 300, keepAliveConnections: 100, tcpKeepAlive: 30 },
        });
        expect(ingresses[ingresses.length - 1]).toEqual({ service: "http_status:404" });
    });

    test("a proxied CNAME from the domain to <tunnel id>.cfargotunnel.com, TTL automatic, in the looked-up zone", () => {
        const record = byName(run, "cloudflare-dns");
        const tunnelId = String(run.outputs.tunnelId?.value);
        expect(record.inputs).toMatchObject({ name: "auth-dev.example.com", type: "CNAME", content: `${tunnelId}.cfargotunnel.com`, proxied: true, ttl: 1 });
        expect(run.invokes).toContainEqual({ token: "cloudflare:index/getZone:getZone", args: { filter: { name: "example.com" } } });
        expect(record.inputs.zoneId).toMatch(/^[a-f0-9]{32}$/);
    });

    test("the connector reads the tunnel token from a secret file, not its environment, on the authentik network, with no published port", () => {
        const connectors = ofType(run, "docker:index/container:Container").filter((container) => container.name.startsWith("cloudflared-"));
        expect(connectors.map((container) => container.inputs.name)).toEqual(["authentik-cloudflared-1"]);
        const [connector] = connectors as [RecordedResource];
        const tunnel = byName(run, "cloudflare-tunnel");
        const token = connectorToken("0123456789abcdef0123456789abcdef", tunnel.id, String(tunnel.inputs.tunnelSecret));
        expect(run.secretValues).toContain(token);
        // `docker inspect` shows the environment to everyone with access to the Docker API.
        expect(connector.inputs.envs).toBeUndefined();
        expect(connector.inputs.uploads).toEqual([{ file: "/etc/cloudflared/token", content: token, permissions: "0444" }]);
        expect(connector.secretPaths).toContain("uploads");
        // The provider stores uploads in state as they are: its outputs must be secret too.
        expect(connector.additionalSecretOutputs).toContain("uploads");
        expect(visibleInputs(connector)).not.toContain(String(token));
        expect(connector.inputs).toMatchObject({
            command: ["tunnel", "--no-autoupdate", "--metrics", "127.0.0.1:20241", "run", "--token-file", "/etc/cloudflared/token"],
            restart: "unless-stopped",
            memory: 64,
            networksAdvanced: [{ name: "authentik-network" }],
            ports: [],
            destroyGraceSeconds: 35,
        });
        // The probe asks the metrics address the connector listens on; durations as the provider reads them back.
        expect(connector.inputs.healthcheck).toEqual({ tests: ["CMD", "cloudflared", "tunnel", "--metrics", "127.0.0.1:20241", "ready"], interval: "30s", timeout: "10s", retries: 3, startPeriod: "30s", startInterval: "5s" });
        const image = byName(run, "cloudflared-image");
        expect(image.inputs.name).toBe(DEFAULT_IMAGES.cloudflared);
        // One component owns the image, each connector and its gate.
        const component = run.resources.find((resource) => resource.urn === connector.parent);
        expect(`${component?.type}::${component?.name}`).toBe("authentik-sso:docker:Cloudflared::cloudflared");
        for (const name of ["cloudflared-image", "cloudflared-1-ready"]) {
            expect(byName(run, name).parent).toBe(connector.parent);
        }
        expect(run.registeredOutputs[connector.parent]?.outputs).toEqual({ containerNames: ofType(run, "docker:index/container:Container").map((container) => String(container.inputs.name)).filter((name) => name.includes("cloudflared")) });
    });

    test("order: the connector starts after the ingress config and the server's gate; destroy removes it before the tunnel", () => {
        const connector = byName(run, "cloudflared-1");
        for (const name of ["cloudflare-config", "cloudflare-tunnel", "cloudflare-connections-cleanup", "authentik-server-ready"]) {
            expect(connector.dependencies).toContain(byName(run, name).urn);
        }
        const gate = byName(run, "cloudflared-1-ready");
        expect(gate.inputs.triggers).toEqual([connector.id]);
        expect(String(gate.inputs.create)).toContain("name='authentik-cloudflared-1'");
    });

    test("nothing on the Cloudflare side waits for the VM or the Docker host", () => {
        const vmSide = new Set(
            run.resources.filter((resource) => resource.type.startsWith("proxmoxve:") || resource.type.startsWith("command:") || resource.type.startsWith("docker:") || resource.type === "pulumi:providers:docker").map((resource) => resource.urn),
        );
        for (const name of ["cloudflare-tunnel", "cloudflare-config", "cloudflare-dns", "cloudflare-secret"]) {
            const dependencies = [...transitiveDependencies(run, byName(run, name))];
            expect({ name, vmSide: dependencies.filter((urn) => vmSide.has(urn)) }).toEqual({ name, vmSide: [] });
        }
    });

    test("behind the tunnel the server publishes no port and trusts forwarded headers from loopback and the network only", () => {
        const server = byName(run, "authentik-server");
        expect(server.inputs.ports).toEqual([]);
        expect(envOf(server).AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS).toBe("127.0.0.0/8,::1/128,10.213.53.0/24");
        for (const container of ofType(run, "docker:index/container:Container")) {
            expect({ name: container.name, ports: container.inputs.ports }).toEqual({ name: container.name, ports: [] });
        }
    });

    test("the connector token never appears in plain text, in inputs or outputs", () => {
        const tunnel = byName(run, "cloudflare-tunnel");
        const token = connectorToken("0123456789abcdef0123456789abcdef", tunnel.id, String(tunnel.inputs.tunnelSecret));
        for (const resource of run.resources) {
            expect({ name: resource.name, hidden: !visibleInputs(resource).includes(token) }).toEqual({ name: resource.name, hidden: true });
        }
        expect(JSON.stringify(run.outputs)).not.toContain(token);
    });
});

test("prod runs two connectors for redundancy and its tunnel has its own name", async () => {
    const run = await runProgram({ stack: "prod", config: prod });
    expect(ofType(run, "docker:index/container:Container").filter((container) => container.name.startsWith("cloudflared-")).map((container) => container.inputs.name)).toEqual([
        "authentik-cloudflared-1",
        "authentik-cloudflared-2",
    ]);
    expect(byName(run, "cloudflare-tunnel").inputs.name).toBe("authentik-sso-prod");
});

test("a cloudflare:apiToken in the stack reaches the cleanup as a secret, for when CLOUDFLARE_API_TOKEN is not set", async () => {
    const token = "cloudflare-token-from-secure-config";
    const run = await runProgram({ stack: "dev", config: withOverrides(dev, { "cloudflare:apiToken": token }, { keys: ["cloudflare:apiToken"], values: [token] }) });
    const cleanup = byName(run, "cloudflare-connections-cleanup");
    expect((cleanup.inputs.environment as Record<string, string>).STACK_API_TOKEN).toBe(token);
    expect(cleanup.secretPaths.some((at) => at.startsWith("environment"))).toBe(true);
    expect(visibleInputs(cleanup)).not.toContain(token);
});

test("the connector token is cloudflared's own format, made from the tunnel's parts: no API call, so a preview needs no write permission", async () => {
    const run = await runProgram({ stack: "dev", config: dev });
    const tunnel = byName(run, "cloudflare-tunnel");
    const [connector] = ofType(run, "docker:index/container:Container").filter((container) => container.name.startsWith("cloudflared-"));
    const content = (connector?.inputs.uploads as { content: string }[])[0]?.content ?? "";
    // cloudflared's TunnelToken: base64 of {"a": account, "s": secret (base64), "t": tunnel id}.
    expect(JSON.parse(Buffer.from(content, "base64").toString("utf8"))).toEqual({ a: "0123456789abcdef0123456789abcdef", s: tunnel.inputs.tunnelSecret, t: tunnel.id });
    expect(Buffer.from(String(tunnel.inputs.tunnelSecret), "base64")).toHaveLength(32);
    expect(run.invokes.map((invoke) => invoke.token)).not.toContain("cloudflare:index/getZeroTrustTunnelCloudflaredToken:getZeroTrustTunnelCloudflaredToken");
});

test("connectorToken encodes exactly what cloudflared decodes", () => {
    const token = connectorToken("acc", "7a1c2b3d-0000-4000-8000-000000000001", Buffer.alloc(32, 7).toString("base64"));
    expect(token).toBe(Buffer.from(`{"a":"acc","s":"${Buffer.alloc(32, 7).toString("base64")}","t":"7a1c2b3d-0000-4000-8000-000000000001"}`).toString("base64"));
});

test("a zone id in config skips the zone lookup", async () => {
    const cloudflare = { ...(dev.config["authentik-sso:cloudflare"] as object), zoneId: "fedcba9876543210fedcba9876543210" };
    const run = await runProgram({ stack: "dev", config: withOverrides(dev, { cloudflare }) });
    expect(byName(run, "cloudflare-dns").inputs.zoneId).toBe("fedcba9876543210fedcba9876543210");
    expect(run.invokes.map((invoke) => invoke.token)).not.toContain("cloudflare:index/getZone:getZone");
});

test("without cloudflare config there is no Cloudflare resource, provider or lookup", async () => {
    const run = await runProgram({ stack: "local", config: loadStackFile("local") });
    expect(run.resources.filter((resource) => resource.type.includes("cloudflare"))).toEqual([]);
    expect(run.invokes).toEqual([]);
    expect(run.outputs.tunnelId).toBeUndefined();
});

describe("the connections cleanup script against a local HTTP server that answers like Cloudflare's API", () => {
    interface Seen {
        method: string;
        url: string;
        authorization: string | undefined;
    }
    async function runCleanup(env: Record<string, string | undefined>, status: number): Promise<{ code: number; stdout: string; stderr: string; seen: Seen[] }> {
        const seen: Seen[] = [];
        const server = http.createServer((request, response) => {
            seen.push({ method: request.method ?? "", url: request.url ?? "", authorization: request.headers.authorization });
            response.writeHead(status, { "content-type": "application/json" });
            response.end(JSON.stringify({ success: status === 200, errors: status === 200 ? [] : [{ code: 1000, message: "failure for the test" }], messages: [], result: null }));
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as AddressInfo).port;
        try {
            const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
                execFile(
                    "sh",
                    ["-c", connectionsCleanupScript()],
                    { env: { PATH: process.env.PATH ?? "", ACCOUNT_ID: "acc0123", TUNNEL_ID: "tun-4567", CLOUDFLARE_API_BASE: `http://127.0.0.1:${port}/client/v4`, RETRY_SECONDS: "0", ...env } },
                    (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
                );
            });
            return { ...result, seen };
        } finally {
            server.close();
        }
    }

    describeWithTool("curl", "with curl", () => {
        test("DELETEs the tunnel's connections with the token in the Authorization header", async () => {
            const result = await runCleanup({ CLOUDFLARE_API_TOKEN: "token-from-env" }, 200);
            expect(result.seen).toEqual([{ method: "DELETE", url: "/client/v4/accounts/acc0123/cfd_tunnel/tun-4567/connections", authorization: "Bearer token-from-env" }]);
            expect(result).toMatchObject({ code: 0, stdout: "cleaned up the connections of tunnel tun-4567\n" });
        });

        test("the live CLOUDFLARE_API_TOKEN wins over the token stored with the stack", async () => {
            const result = await runCleanup({ CLOUDFLARE_API_TOKEN: "live", STACK_API_TOKEN: "stored" }, 200);
            expect(result.seen.map((request) => request.authorization)).toEqual(["Bearer live"]);
            const stored = await runCleanup({ STACK_API_TOKEN: "stored" }, 200);
            expect(stored.seen.map((request) => request.authorization)).toEqual(["Bearer stored"]);
        });

        test("an API that keeps failing is tried five times, then the delete goes on with a warning", async () => {
            const result = await runCleanup({ CLOUDFLARE_API_TOKEN: "token" }, 500);
            expect(result.seen).toHaveLength(5);
            expect(result.code).toBe(0);
            expect(result.stderr).toContain("warning: could not clean up the connections of tunnel tun-4567");
        });

        test("between failed attempts it waits RETRY_SECONDS (Cloudflare lists stopped connectors for minutes)", async () => {
            const started = Date.now();
            const result = await runCleanup({ CLOUDFLARE_API_TOKEN: "token", RETRY_SECONDS: "0.25" }, 500);
            expect(result.seen).toHaveLength(5);
            // Four pauses: a lower bound only, so a slow machine cannot make this fail.
            expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 250);
        });

        test("a missing tunnel id is a bug, not a URL: the script stops (set -u) before any request", async () => {
            const result = await runCleanup({ CLOUDFLARE_API_TOKEN: "token", TUNNEL_ID: undefined }, 200);
            expect(result.seen).toEqual([]);
            expect(result.code).not.toBe(0);
            expect(result.stderr).toMatch(/TUNNEL_ID/);
        });
    });

    test("without curl the delete goes on at once with a warning, and nothing else is tried", async () => {
        const emptyPath = fs.mkdtempSync(path.join(os.tmpdir(), "no-curl-"));
        const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
            execFile("/bin/sh", ["-c", connectionsCleanupScript()], { env: { PATH: emptyPath, ACCOUNT_ID: "acc0123", TUNNEL_ID: "tun-4567", CLOUDFLARE_API_TOKEN: "token" } }, (error, stdout, stderr) =>
                resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
            );
        });
        expect(result).toEqual({ code: 0, stdout: "", stderr: "warning: curl is not installed: the connections of tunnel tun-4567 were not cleaned up\n" });
    });

    test("unless told otherwise it asks Cloudflare's own API", async () => {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "curl-args-"));
        fs.writeFileSync(path.join(bin, "curl"), `#!/bin/sh\nfor arg in "$@"; do echo "$arg"; done >>"${bin}/args"\nexit 22\n`, { mode: 0o755 });
        await new Promise<void>((resolve) => {
            execFile("/bin/sh", ["-c", connectionsCleanupScript()], { env: { PATH: `${bin}:${process.env.PATH ?? ""}`, ACCOUNT_ID: "acc0123", TUNNEL_ID: "tun-4567", CLOUDFLARE_API_TOKEN: "token", RETRY_SECONDS: "0" } }, () => resolve());
        });
        const urls = fs.readFileSync(path.join(bin, "args"), "utf8").split("\n").filter((arg) => arg.startsWith("http"));
        expect(urls.length).toBeGreaterThan(0);
        expect(new Set(urls)).toEqual(new Set(["https://api.cloudflare.com/client/v4/accounts/acc0123/cfd_tunnel/tun-4567/connections"]));
    });

    test("without a token nothing is sent, and the delete goes on with a warning that says what to do", async () => {
        const result = await runCleanup({}, 200);
        expect(result.seen).toEqual([]);
        expect(result.code).toBe(0);
        expect(result.stderr).toContain("run pulumi destroy again in a few minutes");
    });
});
