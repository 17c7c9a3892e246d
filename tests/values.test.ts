/**
 * Values, not presence: where a wrong value would still look right to a test that only checks that something is
 * there. The backup container as a resource, one database password shared by all its consumers, generated secrets in
 * the character set their consumers take, the memory budget with limits that all differ, and the cross-key rules at
 * their edges. (Found by mutation testing: README, "Tests".)
 */
import { ConfigError, containerMemoryPlan, parseStackConfig } from "../lib/config";
import { Ipv4Cidr, cidrContains, cidrsOverlap, parseCidr } from "../lib/ipv4";
import { CLOUDFLARED_METRICS_ADDRESS } from "../lib/tunnelPlan";
import { ProgramRun, byName, envOf, loadStackFile, ofType, runProgram, withOverrides } from "./harness";

const local = loadStackFile("local");
const dev = loadStackFile("dev");
const localBackup = local.config["authentik-sso:backup"] as Record<string, unknown>;

describe("the backup container as a resource", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "local", config: local });
    });

    test("dumps with PostgreSQL's own password, as the database's owner, on the authentik network", () => {
        const backup = envOf(byName(run, "backup-container"));
        const postgres = envOf(byName(run, "authentik-postgresql"));
        expect(backup.PGPASSWORD).toBe(postgres.POSTGRES_PASSWORD);
        expect(backup).toMatchObject({ PGHOST: "postgresql", PGUSER: postgres.POSTGRES_USER, PGDATABASE: postgres.POSTGRES_DB, BACKUP_TIME: "03:00", RETENTION_DAYS: "7", BACKUP_DIR: "/backups" });
        expect(byName(run, "backup-container").inputs.networksAdvanced).toEqual([{ name: "authentik-network", aliases: ["backup"] }]);
    });

    test("runs the uploaded script's loop as its only process, with the settings the script reads", () => {
        const container = byName(run, "backup-container");
        expect(container.inputs.entrypoints).toEqual(["/bin/sh", "/usr/local/bin/authentik-backup"]);
        expect(container.inputs.command).toEqual(["loop"]);
        // root: it reads every file of authentik's volumes, whatever their owner, and writes the backup folder.
        expect(container.inputs.user).toBe("root");
        expect(container.inputs.uploads).toEqual([expect.objectContaining({ file: "/usr/local/bin/authentik-backup", executable: true })]);
        const script = String((container.inputs.uploads as { content: string }[])[0]?.content);
        expect(script).toMatch(/^loop\) loop ;;$/m);
        // The files root the script archives is where the read-only mounts are.
        expect(envOf(container).FILES_ROOT).toBe("/sources");
    });

    test("every container's environment is NAME=value with a name a shell and Docker take", () => {
        for (const container of ofType(run, "docker:index/container:Container")) {
            for (const entry of container.inputs.envs as string[]) {
                expect(`${container.name}: ${entry.split("=")[0]}`).toMatch(/^[\w-]+: [A-Za-z_][A-Za-z0-9_]*$/);
            }
        }
    });

    test("reads authentik's files read-only and writes only to the backup folder", () => {
        expect(byName(run, "backup-container").inputs.volumes).toEqual([
            { volumeName: "authentik-data", containerPath: "/sources/data", readOnly: true },
            { volumeName: "authentik-certs", containerPath: "/sources/certs", readOnly: true },
            { volumeName: "authentik-custom-templates", containerPath: "/sources/templates", readOnly: true },
            { hostPath: String(localBackup.hostPath), containerPath: "/backups", readOnly: false },
        ]);
    });

    test("its health check gives the pre-upgrade dump a quarter of an hour, then looks every 30 s", () => {
        expect(byName(run, "backup-container").inputs.healthcheck).toEqual({
            tests: ["CMD", "/bin/sh", "/usr/local/bin/authentik-backup", "health"],
            interval: "30s",
            timeout: "10s",
            retries: 3,
            startPeriod: "15m0s",
            startInterval: "5s",
        });
    });

    test("backup.enabled: false stops the daily runs, not the container (it still takes the pre-upgrade dump)", async () => {
        const off = await runProgram({ stack: "local", config: withOverrides(local, { backup: { ...localBackup, enabled: false } }) });
        expect(envOf(byName(off, "backup-container")).BACKUP_TIME).toBe("off");
        expect(envOf(byName(off, "backup-container")).AUTHENTIK_VERSION).toBe(envOf(byName(run, "backup-container")).AUTHENTIK_VERSION);
    });
});

describe("one database password for every consumer, and generated secrets their consumers take", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "dev", config: dev });
    });

    test("server, worker and backup use the password PostgreSQL was created with", () => {
        const password = envOf(byName(run, "authentik-postgresql")).POSTGRES_PASSWORD;
        expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
        for (const name of ["authentik-server", "authentik-worker"]) {
            expect(envOf(byName(run, name)).AUTHENTIK_POSTGRESQL__PASSWORD).toBe(password);
        }
        expect(envOf(byName(run, "backup-container")).PGPASSWORD).toBe(password);
    });

    test("generated passwords are letters and digits only: safe in a connection string, an env file and a shell", () => {
        for (const password of ofType(run, "random:index/randomPassword:RandomPassword")) {
            expect({ name: password.name, special: password.inputs.special }).toEqual({ name: password.name, special: false });
        }
        expect(byName(run, "authentik-secret-key").inputs.length).toBe(64);
        expect(envOf(byName(run, "authentik-server")).AUTHENTIK_SECRET_KEY).toBe(envOf(byName(run, "authentik-worker")).AUTHENTIK_SECRET_KEY);
    });

    test("cloudflared's health check asks the metrics address the connector listens on", () => {
        const connector = byName(run, "cloudflared-1");
        expect(connector.inputs.command).toEqual(expect.arrayContaining(["--metrics", CLOUDFLARED_METRICS_ADDRESS]));
        expect((connector.inputs.healthcheck as { tests: string[] }).tests).toEqual(["CMD", "cloudflared", "tunnel", "--metrics", CLOUDFLARED_METRICS_ADDRESS, "ready"]);
    });
});

describe("the memory budget, with limits that all differ", () => {
    const base = { domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" } };
    const limits = { postgresql: 300, redis: 70, server: 700, worker: 500, cloudflared: 40, backup: 90 };

    test("counts each connector, Redis only on lines that use it, and the backup container", () => {
        const cloudflare = { accountId: "0123456789abcdef0123456789abcdef", zone: "example.com", connectors: 3 };
        const withRedis = parseStackConfig({ ...base, authentik: { ...base.authentik, version: "2025.8.6" }, docker: { memoryMb: 4096, memoryLimitsMb: limits }, cloudflare });
        expect(containerMemoryPlan(withRedis)).toEqual({ postgresql: 300, redis: 70, server: 700, worker: 500, "cloudflared-1": 40, "cloudflared-2": 40, "cloudflared-3": 40, backup: 90 });
        const withoutRedis = parseStackConfig({ ...base, docker: { memoryMb: 4096, memoryLimitsMb: limits } });
        expect(containerMemoryPlan(withoutRedis)).toEqual({ postgresql: 300, server: 700, worker: 500, backup: 90 });
    });

    test("exactly enough passes; one MB less is refused with the sum and each part", () => {
        const cloudflare = { accountId: "0123456789abcdef0123456789abcdef", zone: "example.com", connectors: 2 };
        const sum = 300 + 700 + 500 + 2 * 40 + 90;
        expect(() => parseStackConfig({ ...base, domain: "auth.example.com", docker: { memoryMb: sum, memoryLimitsMb: limits }, cloudflare })).not.toThrow();
        expect(() => parseStackConfig({ ...base, docker: { memoryMb: sum - 1, memoryLimitsMb: limits }, cloudflare })).toThrow(
            `authentik-sso:docker.memoryMb: got ${sum - 1}; is smaller than the containers' memory limits together (${sum} MB: postgresql 300, server 700, worker 500, cloudflared-1 40, cloudflared-2 40, backup 90)`,
        );
    });
});

describe("cross-key rules at their edges", () => {
    const base = { domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" } };
    const problems = (raw: Record<string, unknown>): readonly string[] => {
        try {
            parseStackConfig(raw);
            return [];
        } catch (error) {
            return (error as ConfigError).problems;
        }
    };
    const cloudflare = { accountId: "0123456789abcdef0123456789abcdef", zone: "example.com" };

    test("a domain that only ends like the zone, without a dot before it, is outside it", () => {
        expect(problems({ ...base, domain: "authexample.com", cloudflare })).toEqual([expect.stringContaining("authentik-sso:domain: got \"authexample.com\"; is outside the Cloudflare zone example.com")]);
        expect(problems({ ...base, domain: "example.com", cloudflare })).toEqual([]);
        expect(problems({ ...base, domain: "a.b.example.com", cloudflare })).toEqual([]);
    });

    const proxmox = { node: "pve", gateway: "192.168.10.1", sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnlyForTests operator@laptop"], adminCidr: "192.168.10.0/24" };

    test("the Docker subnet and the VM's network must not overlap, either way round", () => {
        // The VM's network inside the Docker subnet.
        expect(problems({ ...base, docker: { subnet: "192.168.0.0/16" }, proxmox: { ...proxmox, ipv4: "192.168.10.20/24" } })).toEqual([
            expect.stringContaining("authentik-sso:docker.subnet: got \"192.168.0.0/16\"; overlaps the VM's network 192.168.10.20/24"),
        ]);
        // The Docker subnet inside the VM's network.
        expect(problems({ ...base, docker: { subnet: "192.168.10.128/26" }, proxmox: { ...proxmox, ipv4: "192.168.10.20/24" } })).toEqual([
            expect.stringContaining("overlaps the VM's network 192.168.10.20/24"),
        ]);
        // Next to each other: fine.
        expect(problems({ ...base, docker: { subnet: "192.168.11.0/24" }, proxmox: { ...proxmox, ipv4: "192.168.10.20/24" } })).toEqual([]);
    });

    test.each([
        ["10.0.0.0/15", false],
        ["10.0.0.0/16", true],
        ["10.213.53.0/28", true],
        ["10.213.53.0/29", false],
    ])("the Docker subnet %s is allowed: %s (prefixes /16 to /28)", (subnet, allowed) => {
        expect(problems({ ...base, docker: { subnet } }).length === 0).toBe(allowed);
    });
});

describe("the firewall options", () => {
    test("on, dropping inbound by default, accepting outbound; the MAC filter on; no DHCP, NDP or router advertisements (a static IPv4 VM)", async () => {
        const run = await runProgram({ stack: "dev", config: dev });
        expect(byName(run, "authentik-firewall-options").inputs).toEqual({ nodeName: "pve", vmId: 9101, enabled: true, inputPolicy: "DROP", outputPolicy: "ACCEPT", macfilter: true, dhcp: false, ndp: false, radv: false });
    });
});

describe("CIDR parsing at its edges (found by mutation testing)", () => {
    test.each([
        ["10.0.0.1/32", { prefix: 32 }],
        ["0.0.0.0/0", { prefix: 0, address: 0 }],
        ["192.168.1.0/24", { prefix: 24, address: 0xc0a80100 }],
    ])("%s is a CIDR", (text, expected) => {
        expect(parseCidr(text)).toEqual({ address: expect.any(Number), text, ...expected });
    });

    test("/0 holds every address and overlaps every network; /32 holds its one address", () => {
        const everything = parseCidr("0.0.0.0/0") as Ipv4Cidr;
        const host = parseCidr("10.0.0.1/32") as Ipv4Cidr;
        expect([cidrContains(everything, 0xffffffff), cidrContains(everything, 0), cidrsOverlap(everything, host)]).toEqual([true, true, true]);
        expect([cidrContains(host, 0x0a000001), cidrContains(host, 0x0a000002)]).toEqual([true, false]);
    });

    test.each(["10.0.0.0/33", "10.0.0.0/x8", "10.0.0.0/8a", "10.0.0.0/", "10.0.0.0/8/8", "10.0.0.256/8", "10.0.0.0"])("%s is not", (text) => {
        expect(parseCidr(text)).toBeUndefined();
    });
});
