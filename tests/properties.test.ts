/**
 * Whole-stack guarantees, checked for every stack file: the same config registers the same inputs, a single
 * setting touches only what it must, no secret is visible in plain text, every container is hardened, and
 * independent parts stay independent.
 */
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { DEFAULT_IMAGES } from "../lib/config";
import { BlastRadius, blastRadius } from "./blastRadius";
import { ProgramRun, REPO_ROOT, StackConfigInput, byName, envOf, loadStackFile, ofType, runProgram, stackNames, transitiveDependencies, visibleInputs, visibleRegisteredOutputs, withOverrides } from "./harness";

const STACKS = stackNames();
const CONTAINER = "docker:index/container:Container";

/** A comparable view of one registration: everything Pulumi would diff, keyed by URN. */
function fingerprint(run: ProgramRun): Map<string, string> {
    return new Map(
        run.resources.map((resource) => [
            resource.urn,
            JSON.stringify({
                inputs: resource.inputs,
                secretPaths: [...resource.secretPaths].sort(),
                parent: resource.parent,
                provider: resource.provider,
                protect: resource.protect,
                deleteBeforeReplace: resource.deleteBeforeReplace,
                ignoreChanges: resource.ignoreChanges,
                dependencies: [...resource.dependencies].sort(),
            }),
        ]),
    );
}

/** Names of the resources a config change would touch: inputs or options changed, added or removed. */
function touched(before: ProgramRun, after: ProgramRun): string[] {
    const [a, b] = [fingerprint(before), fingerprint(after)];
    const urns = new Set([...a.keys(), ...b.keys()]);
    return [...urns]
        .filter((urn) => a.get(urn) !== b.get(urn))
        .map((urn) => urn.split("::").pop() as string)
        .sort();
}


/** dev with off-site backups (a stack file cannot hold their credentials: they are `secure:`). */
const DEV_WITH_OFFSITE = withOverrides(
    loadStackFile("dev"),
    {
        backup: {
            ...(loadStackFile("dev").config["authentik-sso:backup"] as Record<string, unknown>),
            offsite: { repository: "b2:example-bucket:authentik", env: { B2_ACCOUNT_ID: "b2-account-id-0001", B2_ACCOUNT_KEY: "b2-account-key-secret-0001" } },
        },
    },
    { keys: ["authentik-sso:backup"], values: ["b2-account-id-0001", "b2-account-key-secret-0001"] },
);

/** The stack files, and dev with off-site backups. */
const VARIANTS: [string, string, StackConfigInput][] = [...STACKS.map((stack): [string, string, StackConfigInput] => [stack, stack, loadStackFile(stack)]), ["dev with backup.offsite", "dev", DEV_WITH_OFFSITE]];

describe.each(VARIANTS)("stack %s", (_name, stack, config) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack, config });
    });

    test("passes config validation and registers the full resource set", () => {
        const hasTunnel = config.config["authentik-sso:cloudflare"] !== undefined;
        expect(ofType(run, "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared")).toHaveLength(hasTunnel ? 1 : 0);
        if (config.config["authentik-sso:kubernetes"] !== undefined) {
            // The Kubernetes target: no container, VM or Docker object at all.
            expect(run.resources.filter((resource) => /^(docker|proxmoxve|command:remote):/.test(resource.type)).map((resource) => resource.name)).toEqual([]);
            expect(ofType(run, "kubernetes:helm.sh/v3:Release").map((release) => release.inputs.chart).sort()).toEqual(["authentik", "cloudnative-pg"]);
            expect(ofType(run, "kubernetes:postgresql.cnpg.io/v1:Cluster")).toHaveLength(1);
            expect(ofType(run, "kubernetes:apps/v1:Deployment").map((deployment) => deployment.name)).toEqual(["connectors-deployment"]);
            return;
        }
        const containers = ofType(run, CONTAINER).map((container) => container.name);
        expect(containers).toEqual(expect.arrayContaining(["authentik-postgresql", "authentik-server", "authentik-worker", "backup-container"]));
        const offsite = (config.config["authentik-sso:backup"] as { offsite?: unknown } | undefined)?.offsite !== undefined;
        // Postgres password, secret key, bootstrap password and token; and the off-site repository's password.
        expect(ofType(run, "random:index/randomPassword:RandomPassword")).toHaveLength(offsite ? 5 : 4);
        expect(ofType(run, "docker:index/network:Network")).toHaveLength(1);
        const hasVm = config.config["authentik-sso:proxmox"] !== undefined;
        expect(ofType(run, "proxmoxve:index/vmLegacy:VmLegacy")).toHaveLength(hasVm ? 1 : 0);
        expect(containers.some((name) => name.startsWith("cloudflared-"))).toBe(hasTunnel);
    });

    test("idempotent: a second run with the same config registers identical resources", async () => {
        const again = await runProgram({ stack, config });
        expect(touched(run, again)).toEqual([]);
        expect(again.resources.map((resource) => resource.urn)).toEqual(run.resources.map((resource) => resource.urn));
    });

    test("secret scan: no generated or configured secret appears in a non-secret input or output", () => {
        expect(run.secretValues.length).toBeGreaterThanOrEqual(4);
        for (const resource of run.resources) {
            const visible = visibleInputs(resource);
            const leaks = run.secretValues.filter((secret) => visible.includes(secret));
            expect({ resource: resource.name, leaks }).toEqual({ resource: resource.name, leaks: [] });
        }
        for (const [name, output] of Object.entries(run.outputs)) {
            if (!output.secret) {
                const leaks = run.secretValues.filter((secret) => JSON.stringify(output.value).includes(secret));
                expect({ output: name, leaks }).toEqual({ output: name, leaks: [] });
            }
        }
        // Components' registered outputs are state too.
        for (const [urn, registered] of Object.entries(run.registeredOutputs)) {
            const visible = visibleRegisteredOutputs(registered);
            const leaks = run.secretValues.filter((secret) => visible.includes(secret));
            expect({ component: urn, leaks }).toEqual({ component: urn, leaks: [] });
        }
    });

    test("every component ends with registerOutputs (the engine marks it complete only then)", () => {
        const components = run.resources.filter((resource) => !resource.custom && resource.type.startsWith("authentik-sso:"));
        expect(components.length).toBeGreaterThan(3);
        expect(components.filter((component) => run.registeredOutputs[component.urn] === undefined).map((component) => `${component.type}::${component.name}`)).toEqual([]);
    });

    test("hardening: every container has a health check, a gate, a restart policy, a memory limit and no-new-privileges", () => {
        for (const container of ofType(run, CONTAINER)) {
            const inputs = container.inputs as { healthcheck?: { tests?: string[] }; restart?: string; memory?: number; securityOpts?: string[] };
            expect({ name: container.name, tests: (inputs.healthcheck?.tests ?? []).length > 1 }).toEqual({ name: container.name, tests: true });
            expect({ name: container.name, restart: inputs.restart }).toEqual({ name: container.name, restart: "unless-stopped" });
            expect({ name: container.name, memory: (inputs.memory ?? 0) > 0 }).toEqual({ name: container.name, memory: true });
            expect({ name: container.name, securityOpts: inputs.securityOpts }).toEqual({ name: container.name, securityOpts: ["no-new-privileges:true"] });
            const gates = run.resources.filter((resource) => resource.type.startsWith("command:") && JSON.stringify(resource.inputs.triggers) === JSON.stringify([container.id]));
            expect({ name: container.name, gates: gates.length }).toEqual({ name: container.name, gates: 1 });
            expect(String(gates[0]?.inputs.create)).toContain(`name='${String(container.inputs.name)}'`);
        }
    });

    test("hardening: no database or cache port is published, and the Docker socket is mounted nowhere unless asked", () => {
        for (const name of ["authentik-postgresql", "authentik-redis"]) {
            const container = run.resources.find((resource) => resource.name === name);
            if (container) {
                expect(container.inputs.ports).toEqual([]);
            }
        }
        const managedOutposts = (config.config["authentik-sso:authentik"] as { managedOutposts?: boolean }).managedOutposts === true;
        for (const container of ofType(run, CONTAINER)) {
            const mountsSocket = JSON.stringify(container.inputs.volumes ?? []).includes("docker.sock");
            expect({ name: container.name, mountsSocket }).toEqual({ name: container.name, mountsSocket: managedOutposts && container.name === "authentik-worker" });
        }
    });

    test("no false dependencies between parts that must stay independent", () => {
        const independent: [string, string][] = [
            ["cloudflare-dns", "authentik-vm"],
            ["cloudflare-tunnel", "authentik-vm"],
            ["cloudflare-config", "vm-ready"],
            ["cloudflare-dns", "authentik-postgresql"],
            ["authentik-secret-key", "authentik-vm"],
            ["authentik-postgres-password", "cloudflare-tunnel"],
            ["authentik-vm", "cloudflare-tunnel"],
            ["authentik-postgresql", "cloudflare-tunnel"],
            ["authentik-postgresql", "authentik-secret-key"],
            ["authentik-redis", "authentik-postgresql"],
        ];
        const present = independent.filter(([a, b]) => run.resources.some((resource) => resource.name === a) && run.resources.some((resource) => resource.name === b));
        expect(present.length).toBeGreaterThan(0);
        for (const [a, b] of present) {
            const resourceA = byName(run, a);
            const resourceB = byName(run, b);
            expect({ pair: `${a} / ${b}`, dependent: transitiveDependencies(run, resourceA).has(resourceB.urn) || transitiveDependencies(run, resourceB).has(resourceA.urn) }).toEqual({
                pair: `${a} / ${b}`,
                dependent: false,
            });
        }
    });
});

describe("blast radius of single-setting changes: what one pulumi up replaces or updates (the README's table)", () => {
    const dev = loadStackFile("dev");
    const prod = loadStackFile("prod");
    const authentik = dev.config["authentik-sso:authentik"] as Record<string, unknown>;
    const proxmox = dev.config["authentik-sso:proxmox"] as Record<string, unknown>;
    const docker = dev.config["authentik-sso:docker"] as Record<string, unknown>;
    const smtp = { host: "smtp.example.com", from: "authentik@example.com" };
    const atVersion = (version: string) => withOverrides(dev, { authentik: { ...authentik, version } });
    const shipped = String(authentik.version);
    const nextPatch = shipped.replace(/\d+$/, (patch) => String(Number(patch) + 1));
    /** postgres:16.14-alpine → postgres:16.15-alpine */
    const nextMinor = (image: string) => image.replace(/:(\d+)\.(\d+)/, (_, major: string, minor: string) => `:${major}.${Number(minor) + 1}`);
    const scenarios: Record<string, { stack: string; before: StackConfigInput; after: StackConfigInput }> = {
        "authentik patch release (`authentik.version` x.y.z → x.y.z+1)": { stack: "dev", before: dev, after: atVersion(nextPatch) },
        "authentik release line 2025.10 → 2025.12 (files move to `/data`)": { stack: "dev", before: atVersion("2025.10.4"), after: atVersion("2025.12.4") },
        "`docker.images.postgresql` minor release": {
            stack: "dev",
            before: dev,
            after: withOverrides(dev, { docker: { ...docker, images: { postgresql: nextMinor(DEFAULT_IMAGES.postgresql) } } }),
        },
        "`smtp.host`": { stack: "dev", before: withOverrides(dev, { smtp }), after: withOverrides(dev, { smtp: { ...smtp, host: "mail.example.net" } }) },
        "`domain` (also seeds authentik's base URL)": { stack: "dev", before: dev, after: withOverrides(dev, { domain: "sso-dev.example.com" }) },
        "`backup.retentionDays`": { stack: "dev", before: dev, after: withOverrides(dev, { backup: { ...(dev.config["authentik-sso:backup"] as object), retentionDays: 14 } }) },
        "`backup.offsite` set": { stack: "dev", before: dev, after: DEV_WITH_OFFSITE },
        "`identity.brand.title` (any change to the blueprints)": {
            stack: "dev",
            before: withOverrides(dev, { identity: { brand: { title: "Example SSO" } } }),
            after: withOverrides(dev, { identity: { brand: { title: "Example Single Sign-On" } } }),
        },
        "`identity.applications`: a proxy application added": {
            stack: "dev",
            before: withOverrides(dev, { identity: { brand: { title: "Example SSO" } } }),
            after: withOverrides(dev, { identity: { brand: { title: "Example SSO" }, applications: [{ slug: "books", name: "Books", proxy: { externalHost: "https://books.example.com", internalHost: "http://192.168.1.60:8083" } }] } }),
        },
        "`docker.memoryLimitsMb.server` (prod)": {
            stack: "prod",
            before: prod,
            after: withOverrides(prod, { docker: { ...(prod.config["authentik-sso:docker"] as object), memoryLimitsMb: { postgresql: 512, server: 1280, worker: 1024 } } }),
        },
        "`docker.subnet`": { stack: "dev", before: dev, after: withOverrides(dev, { docker: { ...docker, subnet: "10.213.99.0/24" } }) },
        "`cloudflare.connectors` 2 → 3 (prod)": {
            stack: "prod",
            before: prod,
            after: withOverrides(prod, { cloudflare: { ...(prod.config["authentik-sso:cloudflare"] as object), connectors: 3 } }),
        },
        "`proxmox.memoryMb` (the VM reboots)": { stack: "dev", before: dev, after: withOverrides(dev, { proxmox: { ...proxmox, memoryMb: 3072 } }) },
        "`proxmox.vmId`: a new VM, which starts empty": { stack: "dev", before: dev, after: withOverrides(dev, { proxmox: { ...proxmox, vmId: 9102 } }) },
    };

    /** The README's table: change → created, replaced, updated in place (resource names in backticks). */
    function readmeTable(): Map<string, BlastRadius> {
        const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
        const section = /<!-- blast-radius:start -->([\s\S]*?)<!-- blast-radius:end -->/.exec(readme)?.[1];
        if (section === undefined) {
            throw new Error("README.md has no blast-radius table between its markers");
        }
        const names = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string).sort();
        const rows = new Map<string, BlastRadius>();
        for (const line of section.split("\n").filter((row) => row.startsWith("| ") && !row.startsWith("| Change") && !row.startsWith("|---"))) {
            const [change, created, replaced, updated] = line.split(" | ").map((cell) => cell.replace(/^\| |\s*\|$/g, "").trim()) as [string, string, string, string];
            rows.set(change, { created: names(created), deleted: [], replaced: names(replaced), updated: names(updated) });
        }
        return rows;
    }

    test("the README lists exactly these changes", () => {
        expect([...readmeTable().keys()].sort()).toEqual(Object.keys(scenarios).sort());
    });

    test.each(Object.keys(scenarios))("%s", async (change) => {
        const { stack, before, after } = scenarios[change] as { stack: string; before: StackConfigInput; after: StackConfigInput };
        const radius = blastRadius(await runProgram({ stack, config: before }), await runProgram({ stack, config: after }));
        expect(radius).toEqual(readmeTable().get(change));
    });

    test("never the database or its password, the secret key, the tunnel or the VM, unless the change is about them", async () => {
        const keep = ["authentik-volume-database", "authentik-postgres-password", "authentik-secret-key", "cloudflare-tunnel", "cloudflare-secret", "authentik-host-key"];
        for (const [change, { stack, before, after }] of Object.entries(scenarios)) {
            const radius = blastRadius(await runProgram({ stack, config: before }), await runProgram({ stack, config: after }));
            const touchedKept = [...radius.replaced, ...radius.deleted].filter((name) => keep.includes(name) && !(change.includes("proxmox.vmId") && name === "authentik-volume-database"));
            expect({ change, touchedKept }).toEqual({ change, touchedKept: [] });
        }
    });
});

describe("environments", () => {
    test("prod protects the VM, the database storage and the secret key; dev protects nothing", async () => {
        const dev = await runProgram({ stack: "dev", config: loadStackFile("dev") });
        const prod = await runProgram({ stack: "prod", config: loadStackFile("prod") });
        expect(prod.resources.filter((resource) => resource.protect).map((resource) => resource.name).sort()).toEqual([
            "authentik-postgres-password",
            "authentik-secret-key",
            "authentik-vm",
            "authentik-volume-data",
            "authentik-volume-database",
            "authentik-volume-media",
        ]);
        expect(dev.resources.filter((resource) => resource.protect)).toEqual([]);
    });

    test("dev and prod never share a VM id, address, image file, tunnel name, hostname or Docker subnet", async () => {
        const runs = [await runProgram({ stack: "dev", config: loadStackFile("dev") }), await runProgram({ stack: "prod", config: loadStackFile("prod") })];
        const identity = (run: ProgramRun) => {
            const vm = byName(run, "authentik-vm");
            return {
                vmId: vm.inputs.vmId,
                address: (vm.inputs.initialization as { ipConfigs: { ipv4: { address: string } }[] }).ipConfigs[0]?.ipv4.address.split("/")[0],
                imageFile: byName(run, "authentik-image").inputs.fileName,
                tunnel: byName(run, "cloudflare-tunnel").inputs.name,
                hostname: byName(run, "cloudflare-dns").inputs.name,
                subnet: envOf(byName(run, "authentik-server")).AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS,
            };
        };
        const [dev, prod] = runs.map(identity) as [ReturnType<typeof identity>, ReturnType<typeof identity>];
        for (const key of Object.keys(dev) as (keyof typeof dev)[]) {
            expect({ key, same: dev[key] === prod[key] }).toEqual({ key, same: false });
        }
    });

    test.each(STACKS)("Pulumi.%s.yaml holds no plain-text secret", (stack) => {
        const document = parseYaml(fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
        const offending: string[] = [];
        const visit = (value: unknown, at: string) => {
            if (value !== null && typeof value === "object" && !Array.isArray(value)) {
                const record = value as Record<string, unknown>;
                if (Object.keys(record).length === 1 && typeof record.secure === "string") {
                    return;
                }
                Object.entries(record).forEach(([key, item]) => visit(item, `${at}.${key}`));
            } else if (/(password|token|secret|privatekey|apikey)$/i.test(at.split(".").pop() ?? "") && value !== undefined) {
                offending.push(at);
            }
        };
        visit(document.config ?? {}, "config");
        expect(offending).toEqual([]);
    });
});
