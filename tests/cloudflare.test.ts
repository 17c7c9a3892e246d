/** The Cloudflare Tunnel, its ingress, the DNS record and the connectors, under mocks with the dev and prod stacks. */
import { ProgramRun, RecordedResource, byName, envOf, loadStackFile, ofType, runProgram, transitiveDependencies, visibleInputs, withOverrides } from "./harness";

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

    test("the connector runs with the tunnel token as a secret, on the authentik network, with no published port", () => {
        const connectors = ofType(run, "docker:index/container:Container").filter((container) => container.name.startsWith("cloudflared-"));
        expect(connectors.map((container) => container.inputs.name)).toEqual(["authentik-cloudflared-1"]);
        const [connector] = connectors as [RecordedResource];
        const token = run.secretValues.find((value) => value.startsWith("MOCKTOKEN"));
        expect(token).toBeDefined();
        expect(envOf(connector)).toEqual({ TUNNEL_TOKEN: token });
        expect(connector.secretPaths).toContain("envs");
        expect(visibleInputs(connector)).not.toContain(String(token));
        expect(JSON.stringify(connector.inputs.command)).not.toContain(String(token));
        expect(connector.inputs).toMatchObject({
            command: ["tunnel", "--no-autoupdate", "--metrics", "127.0.0.1:20241", "run"],
            restart: "unless-stopped",
            memory: 64,
            networksAdvanced: [{ name: "authentik-network" }],
            ports: [],
            wait: true,
        });
        const image = byName(run, "cloudflared-image");
        expect(image.inputs.name).toBe("docker.io/cloudflare/cloudflared:2026.8.3");
    });

    test("order: the connector starts after the ingress config and the healthy server; destroy removes it before the tunnel", () => {
        const connector = byName(run, "cloudflared-1");
        for (const name of ["cloudflare-config", "cloudflare-tunnel", "authentik-server"]) {
            expect(connector.dependencies).toContain(byName(run, name).urn);
        }
        expect(byName(run, "authentik-server").inputs.wait).toBe(true);
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
        expect(envOf(server).AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS).toBe("127.0.0.0/8,::1/128,172.28.53.0/24");
        for (const container of ofType(run, "docker:index/container:Container")) {
            expect({ name: container.name, ports: container.inputs.ports }).toEqual({ name: container.name, ports: [] });
        }
    });

    test("the connector token never appears in plain text, in inputs or outputs", () => {
        const token = String(run.secretValues.find((value) => value.startsWith("MOCKTOKEN")));
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
