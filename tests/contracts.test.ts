/**
 * What the components and targets hand the engine beyond their resources' main inputs, for every kind of stack:
 * which component owns each resource (a resource under another parent has another URN, so the engine deletes it and
 * creates it again), what each component records in the state (registerOutputs), what the stack outputs wait for,
 * and the inputs and options a read-through of the components as a mutation tool sees them found unasserted.
 */
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_IMAGES } from "../lib/config";
import { connectorToken } from "../lib/tunnelPlan";
import {
    ProgramRun,
    RecordedResource,
    StackConfigInput,
    byName,
    findByName,
    loadStackFile,
    mockHostPublicKey,
    mockImageId,
    mockVmMacAddress,
    ofType,
    runProgram,
    withOverrides,
} from "./harness";

const local = loadStackFile("local");
const dev = loadStackFile("dev");
const k8s = loadStackFile("k8s");
const devProxmox = dev.config["authentik-sso:proxmox"] as Record<string, unknown>;
const localDocker = local.config["authentik-sso:docker"] as Record<string, unknown>;
const k8sKubernetes = k8s.config["authentik-sso:kubernetes"] as Record<string, unknown>;

const IDENTITY = {
    brand: { title: "Example SSO" },
    breakGlass: { username: "breakglass", email: "breakglass@example.com" },
    applications: [
        { slug: "grafana", name: "Grafana", oidc: { redirectUris: ["https://grafana.example.com/login/generic_oauth"] } },
        // A public client (a single-page app) has no secret: none is generated, none is exported.
        { slug: "wiki", name: "Wiki", oidc: { redirectUris: ["https://wiki.example.com/auth/callback"], public: true } },
        { slug: "books", name: "Calibre-Web", proxy: { externalHost: "https://books.example.com", internalHost: "http://192.168.1.60:8083" } },
    ],
};
const DEV_WITH_IDENTITY = withOverrides(dev, { identity: IDENTITY });
const BACKUP_CREDENTIALS = { accessKeyId: "AKIA-CONTRACTS-EXAMPLE", secretAccessKey: "contracts-secret-access-key" };
const K8S_WITH_BACKUP_AND_IDENTITY = withOverrides(
    k8s,
    {
        kubernetes: { ...k8sKubernetes, postgres: { instances: 3, storageGb: 10, backup: { destinationPath: "s3://my-bucket/authentik-pg", endpointUrl: "https://s3.example.com", credentials: BACKUP_CREDENTIALS } } },
        identity: { brand: { title: "Example SSO" }, applications: [{ slug: "grafana", name: "Grafana", oidc: { redirectUris: ["https://grafana.example.com/cb"] } }] },
    },
    { keys: ["authentik-sso:kubernetes"], values: Object.values(BACKUP_CREDENTIALS) },
);

const VARIANTS: [string, string, StackConfigInput][] = [
    ["local", "local", local],
    ["dev", "dev", dev],
    ["prod", "prod", loadStackFile("prod")],
    ["dev with identity", "dev", DEV_WITH_IDENTITY],
    ["k8s", "k8s", k8s],
    ["k8s with a database backup and identity", "k8s", K8S_WITH_BACKUP_AND_IDENTITY],
];

const runs = new Map<string, ProgramRun>();
beforeAll(async () => {
    for (const [name, stack, config] of VARIANTS) {
        runs.set(name, await runProgram({ stack, config }));
    }
});
const runOf = (name: string) => runs.get(name) as ProgramRun;
const components = (run: ProgramRun) => run.resources.filter((resource) => resource.type.startsWith("authentik-sso:"));
const componentKey = (component: RecordedResource) => `${component.type}::${component.name}`;

describe.each(VARIANTS.map(([name]) => name))("%s", (name) => {
    test("components sit at the top; every other resource belongs to one (the Kubernetes namespace is the stack's own)", () => {
        const run = runOf(name);
        expect(components(run).map((component) => component.parent)).toEqual(components(run).map(() => ""));
        const componentUrns = new Set(components(run).map((component) => component.urn));
        const topLevel = run.resources.filter((resource) => !resource.type.startsWith("authentik-sso:") && !componentUrns.has(resource.parent)).map((resource) => resource.type);
        expect(topLevel).toEqual(["pulumi:pulumi:StackReference", ...(name.startsWith("k8s") ? ["kubernetes:core/v1:Namespace"] : [])]);
    });

    test("what each component records in the state", () => {
        const run = runOf(name);
        const recorded = Object.fromEntries(components(run).map((component) => [componentKey(component), run.registeredOutputs[component.urn]]));
        expect(recorded).toEqual(expectedRegistrations(name, run));
    });
});

/** The registered outputs of every component a variant has, with the values they must carry. */
function expectedRegistrations(variant: string, run: ProgramRun): Record<string, { outputs: Record<string, unknown>; secretPaths: string[] }> {
    const plain = (outputs: Record<string, unknown>) => ({ outputs, secretPaths: [] });
    const version = "2026.8.3";
    const secrets = {
        outputs: {
            bootstrapPassword: run.outputs.bootstrapPassword?.value,
            bootstrapToken: run.outputs.bootstrapToken?.value,
            postgresPassword: expect.stringMatching(/^MOCKSECRET/),
            secretKey: expect.stringMatching(/^MOCKSECRET/),
        },
        secretPaths: ["bootstrapPassword", "bootstrapToken", "postgresPassword", "secretKey"],
    };
    const tunnel = (hostname: string) => plain({ tunnelId: byName(run, "cloudflare-tunnel").id, hostname });
    const docker = {
        "authentik-sso:docker:Data::authentik": plain({ networkName: "authentik-network" }),
        "authentik-sso:docker:Backup::backup": plain({ containerName: "authentik-backup" }),
        "authentik-sso:docker:Authentik::authentik": plain({
            containerNames: { postgresql: "authentik-postgresql", server: "authentik-server", worker: "authentik-worker" },
            runningVersion: version,
        }),
    };
    const vm = (address: string, vmId: number) => ({
        "authentik-sso:proxmox:Vm::authentik": plain({
            vmId,
            address,
            hostPublicKey: mockHostPublicKey("authentik-host-key"),
            nicMacAddress: mockVmMacAddress("authentik-vm", byName(run, "authentik-vm").inputs),
        }),
        "authentik-sso:docker:Host::vm": plain({ host: `ssh://authentik@${address}` }),
        "authentik-sso:docker:Cloudflared::cloudflared": plain({ containerNames: ofType(run, "docker:index/container:Container").map((container) => String(container.inputs.name)).filter((name) => name.startsWith("authentik-cloudflared-")) }),
    });
    switch (variant) {
        case "local":
            return { "authentik-sso:authentik:Secrets::authentik": secrets, "authentik-sso:docker:LocalHost::docker": plain({ host: "unix:///var/run/docker.sock" }), ...docker };
        case "dev":
            return { "authentik-sso:authentik:Secrets::authentik": secrets, "authentik-sso:cloudflare:Tunnel::cloudflare": tunnel("auth-dev.example.com"), ...vm("192.168.1.51", 9101), ...docker };
        case "prod":
            return { "authentik-sso:authentik:Secrets::authentik": secrets, "authentik-sso:cloudflare:Tunnel::cloudflare": tunnel("auth.example.com"), ...vm("192.168.1.61", 9201), ...docker };
        case "dev with identity":
            return {
                "authentik-sso:authentik:Secrets::authentik": secrets,
                "authentik-sso:authentik:IdentitySecrets::identity": {
                    outputs: { oidcClients: run.outputs.oidcClients?.value, breakGlassPassword: run.outputs.breakGlassPassword?.value },
                    secretPaths: ["breakGlassPassword", "oidcClients.grafana.clientSecret"],
                },
                "authentik-sso:cloudflare:Tunnel::cloudflare": tunnel("auth-dev.example.com"),
                ...vm("192.168.1.51", 9101),
                ...docker,
                "authentik-sso:authentik:Blueprints::identity": plain({ digest: (byName(run, "identity-apply").inputs.triggers as unknown[])[0] }),
            };
        default: {
            const identity = variant !== "k8s";
            return {
                "authentik-sso:authentik:Secrets::authentik": secrets,
                ...(identity ? { "authentik-sso:authentik:IdentitySecrets::identity": { outputs: { oidcClients: run.outputs.oidcClients?.value }, secretPaths: ["oidcClients.grafana.clientSecret"] } } : {}),
                "authentik-sso:cloudflare:Tunnel::cloudflare": tunnel("auth-k8s.example.com"),
                "authentik-sso:kubernetes:Database::database": plain({ cluster: "authentik-db" }),
                "authentik-sso:kubernetes:Authentik::authentik": plain({ release: "authentik" }),
                "authentik-sso:kubernetes:NetworkPolicies::network": plain({}),
                "authentik-sso:kubernetes:Connectors::connectors": plain({}),
            };
        }
    }
}

describe("what the stack outputs wait for", () => {
    test("Docker: authentikVersion counts only once the server's and the worker's health gates passed", () => {
        const run = runOf("dev");
        expect(run.outputs.authentikVersion).toEqual({ value: "2026.8.3", secret: false });
        expect(run.outputResources.authentikVersion).toEqual(expect.arrayContaining([byName(run, "authentik-server-ready").urn, byName(run, "authentik-worker-ready").urn]));
    });

    test("Kubernetes: every output, and authentikVersion only once the release (and so its pods) is ready", () => {
        const run = runOf("k8s");
        expect(run.outputs).toEqual({
            url: { value: "https://auth-k8s.example.com", secret: false },
            adminUser: { value: "akadmin", secret: false },
            bootstrapPassword: { value: expect.stringMatching(/^MOCKSECRET/), secret: true },
            bootstrapToken: { value: expect.stringMatching(/^MOCKSECRET/), secret: true },
            authentikVersion: { value: "2026.8.3", secret: false },
            namespace: { value: "authentik", secret: false },
            helmRelease: { value: "authentik", secret: false },
            chartVersion: { value: "2026.8.0", secret: false },
            databaseCluster: { value: "authentik-db", secret: false },
            tunnelId: { value: byName(run, "cloudflare-tunnel").id, secret: false },
            tunnelName: { value: "authentik-sso-k8s", secret: false },
        });
        expect(run.outputResources.authentikVersion).toContain(byName(run, "authentik-release").urn);
    });

    test("no off-site outputs without off-site backups; a public OIDC client is exported without a secret", () => {
        expect(runOf("local").outputs.offsitePassword).toBeUndefined();
        expect(runOf("local").outputs.offsiteRepository).toBeUndefined();
        const clients = runOf("dev with identity").outputs.oidcClients?.value as Record<string, Record<string, unknown>>;
        expect(Object.keys(clients).sort()).toEqual(["grafana", "wiki"]);
        expect(clients.wiki).toEqual({
            clientId: "wiki",
            issuerUrl: "https://auth-dev.example.com/application/o/wiki/",
            discoveryUrl: "https://auth-dev.example.com/application/o/wiki/.well-known/openid-configuration",
        });
        expect(clients.grafana?.clientSecret).toEqual(expect.stringMatching(/^MOCKSECRET/));
        // Generated identity secrets are letters and digits: they go into clients' files and environment variables.
        const generated = ofType(runOf("dev with identity"), "random:index/randomPassword:RandomPassword").filter((password) => password.parent.endsWith("::identity"));
        expect(generated.map((password) => [password.name, password.inputs.length, password.inputs.special])).toEqual([
            ["identity-oidc-grafana", 64, false],
            ["identity-break-glass", 32, false],
        ]);
    });
});

describe("Kubernetes resources the chart values do not show", () => {
    test("the namespace: its name, and protected with the database", () => {
        const run = runOf("k8s");
        expect(byName(run, "namespace").inputs).toEqual({ apiVersion: "v1", kind: "Namespace", metadata: { name: "authentik" } });
        expect(run.resources.filter((resource) => resource.protect).map((resource) => resource.name).sort()).toEqual(["authentik-postgres-password", "authentik-secret-key", "database-cluster", "namespace"]);
    });

    test("the connectors' Secret holds the tunnel's token under the name the Deployment reads", () => {
        const run = runOf("k8s");
        const tunnel = byName(run, "cloudflare-tunnel");
        expect(byName(run, "connectors-token").inputs).toEqual({
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "cloudflared-token", namespace: "authentik" },
            stringData: { token: connectorToken(String(tunnel.inputs.accountId), tunnel.id, String(tunnel.inputs.tunnelSecret)) },
        });
        expect(JSON.stringify(byName(run, "connectors-deployment").inputs)).toContain('"secretKeyRef":{"key":"token","name":"cloudflared-token"}');
    });

    test("the backup's S3 credentials Secret holds what config gave, under the keys the ObjectStore names", () => {
        const run = runOf("k8s with a database backup and identity");
        const credentials = byName(run, "database-backup-credentials").inputs as { metadata: Record<string, unknown>; stringData: Record<string, string> };
        expect(credentials.metadata).toEqual({ name: "authentik-db-backup-s3", namespace: "authentik" });
        expect(credentials.stringData).toEqual({ ACCESS_KEY_ID: BACKUP_CREDENTIALS.accessKeyId, ACCESS_SECRET_KEY: BACKUP_CREDENTIALS.secretAccessKey });
        const s3 = ((byName(run, "database-object-store").inputs.spec as { configuration: { s3Credentials: Record<string, { name: string; key: string }> } }).configuration.s3Credentials);
        for (const reference of Object.values(s3)) {
            expect({ reference, found: reference.name === credentials.metadata.name && reference.key in credentials.stringData }).toEqual({ reference, found: true });
        }
    });

    test("ordering that no input carries: budgets and policies after the namespace, the plugin after the operator, the daily backup after the cluster", () => {
        for (const variant of ["k8s", "k8s with a database backup and identity"]) {
            const run = runOf(variant);
            const namespace = byName(run, "namespace").urn;
            for (const resource of [byName(run, "connectors-disruption-budget"), ...ofType(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy")]) {
                expect({ resource: resource.name, afterNamespace: resource.dependencies.includes(namespace) }).toEqual({ resource: resource.name, afterNamespace: true });
            }
        }
        const run = runOf("k8s with a database backup and identity");
        expect(byName(run, "database-barman-cloud-plugin").dependencies).toContain(byName(run, "database-operator").urn);
        expect(byName(run, "database-daily-backup").dependencies).toContain(byName(run, "database-cluster").urn);
        expect(byName(run, "database-operator").inputs.createNamespace).toBe(true);
    });

    test("the blueprints ConfigMap exists only with blueprints to ship, under the name the chart values mount", () => {
        expect(findByName(runOf("k8s"), "authentik-blueprints")).toBeUndefined();
        const run = runOf("k8s with a database backup and identity");
        expect(byName(run, "authentik-blueprints").inputs.metadata).toEqual({ name: "authentik-sso-blueprints", namespace: "authentik" });
        expect((byName(run, "authentik-release").inputs.values as { blueprints: { configMaps: string[] } }).blueprints.configMaps).toEqual(["authentik-sso-blueprints"]);
    });
});

describe("Docker resources", () => {
    test("the VM: every input the provider gets", () => {
        const run = runOf("dev");
        expect(byName(run, "authentik-vm").inputs).toEqual({
            nodeName: "pve",
            vmId: 9101,
            name: "authentik-dev",
            description: "authentik single sign-on. Managed by Pulumi (authentik-sso/dev); change it there, not here.",
            tags: ["authentik", "dev"],
            onBoot: true,
            started: true,
            protection: false,
            agent: { enabled: true, timeout: "15m", trim: true },
            cpu: { cores: 2, sockets: 1, type: "x86-64-v2-AES" },
            memory: { dedicated: 2048, floating: 0 },
            operatingSystem: { type: "l26" },
            scsiHardware: "virtio-scsi-single",
            disks: [{ interface: "scsi0", datastoreId: "local-lvm", importFrom: "authentik-image-id", size: 20, discard: "on", iothread: true, ssd: true }],
            networkDevices: [{ bridge: "vmbr0", model: "virtio", firewall: true }],
            serialDevices: [{ device: "socket" }],
            initialization: {
                datastoreId: "local-lvm",
                ipConfigs: [{ ipv4: { address: "192.168.1.51/24", gateway: "192.168.1.1" } }],
                dns: { servers: ["1.1.1.1", "9.9.9.9"] },
                userDataFileId: "authentik-user-data-id",
            },
            stopOnDestroy: true,
        });
        expect((byName(run, "authentik-firewall-rules").inputs.rules as Record<string, unknown>[]).map((rule) => rule.comment)).toEqual(["SSH from the admin network (operators, CI, the Docker provider)"]);
    });

    test("the VM: tags sorted as Proxmox returns them, and a VLAN tag when set", async () => {
        const run = await runProgram({ stack: "dev", config: withOverrides(dev, { proxmox: { ...devProxmox, tags: ["prod", "authentik"], vlanId: 20 } }) });
        const vm = byName(run, "authentik-vm").inputs;
        expect(vm.tags).toEqual(["authentik", "prod"]);
        expect(vm.networkDevices).toEqual([{ bridge: "vmbr0", model: "virtio", firewall: true, vlanId: 20 }]);
    });

    test("a new VM re-runs the data preparation (its trigger holds the VM's identity); the network waits for the name guard", () => {
        const run = runOf("dev");
        expect(byName(run, "authentik-prepare-data").inputs.triggers).toEqual(["2026.8.3", "authentik-data", "authentik-media", mockVmMacAddress("authentik-vm", byName(run, "authentik-vm").inputs)]);
        expect(byName(run, "authentik-network").dependencies).toContain(byName(run, "authentik-names").urn);
    });

    test("the local engine: no provider setting, the default socket as output, image pulls without host triggers", async () => {
        const run = runOf("local");
        expect(byName(run, "docker-docker").inputs).toEqual({});
        expect(run.outputs.dockerHost).toEqual({ value: "unix:///var/run/docker.sock", secret: false });
        expect(byName(run, "authentik-image-server").inputs).toEqual({ name: "ghcr.io/goauthentik/server:2026.8.3", keepLocally: true });
        expect(byName(run, "backup-container").additionalSecretOutputs).toEqual([]);
        const fromVariable = await runProgram({ stack: "local", config: local, dockerHostVariable: "tcp://127.0.0.1:2375" });
        expect(fromVariable.outputs.dockerHost).toEqual({ value: "tcp://127.0.0.1:2375", secret: false });
    });

    test("docker.host with docker.sshOpts: both reach the provider", async () => {
        const run = await runProgram({ stack: "local", config: withOverrides(local, { docker: { ...localDocker, host: "ssh://deploy@docker.lan", sshOpts: ["-o", "ProxyJump=bastion"] } }) });
        const provider = byName(run, "docker-docker").inputs;
        expect(provider.host).toBe("ssh://deploy@docker.lan");
        expect(JSON.parse(String(provider.sshOpts))).toEqual(["-o", "ProxyJump=bastion"]);
    });

    test("on a Redis line the backup container runs the PostgreSQL image (pg_dump), and Redis holds no secret", async () => {
        const authentik = { ...(local.config["authentik-sso:authentik"] as Record<string, unknown>), version: "2025.6.3" };
        const run = await runProgram({ stack: "local", config: withOverrides(local, { authentik }) });
        expect(byName(run, "backup-container").inputs.image).toBe(mockImageId(DEFAULT_IMAGES.postgresql));
        expect(byName(run, "authentik-redis").secretPaths).toEqual([]);
    });
});

describe("the program itself", () => {
    test("config warnings reach pulumi's log", async () => {
        const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
        try {
            await runProgram({ stack: "local", config: withOverrides(local, { docker: { ...localDocker, subnet: "172.18.0.0/16" } }) });
            expect(warn.mock.calls.map(([message]) => message)).toEqual([expect.stringContaining("authentik-sso:docker.subnet: 172.18.0.0/16 lies in Docker's default address pool")]);
        } finally {
            warn.mockRestore();
        }
    });

    test("the DNS record says what made it; a zone lookup that fills only id still finds the zone", async () => {
        expect(byName(runOf("dev"), "cloudflare-dns").inputs.comment).toBe("authentik-sso (dev): Cloudflare Tunnel to authentik");
        const run = await runProgram({ stack: "dev", config: dev, zoneLookupWithoutZoneId: true });
        const zone = run.invokes.find((invoke) => invoke.token === "cloudflare:index/getZone:getZone");
        expect(zone?.args).toEqual({ filter: { name: "example.com" } });
        expect(byName(run, "cloudflare-dns").inputs.zoneId).toBe(byName(runOf("dev"), "cloudflare-dns").inputs.zoneId);
        expect(byName(run, "cloudflare-dns").inputs.zoneId).toMatch(/^[0-9a-f]{32}$/);
    });
});
