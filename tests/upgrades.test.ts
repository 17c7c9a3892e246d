/** The version ladder: one authentik release line at a time, no downgrades, PostgreSQL majors only when allowed. */
import { UpgradeError, assertSafeUpgrade, upgradeProblems } from "../lib/upgradeGuard";
import { SUPPORTED_RELEASE_LINES, checkUpgrade, compareVersions, featuresOf, parseAuthentikVersion } from "../lib/versions";
import { DEFAULT_IMAGES, parseStackConfig } from "../lib/config";
import { postgresDataPath, postgresMajorVersion } from "../lib/postgresImage";
import { lastRun, loadStackFile, runProgram, withOverrides } from "./harness";

function version(tag: string) {
    const parsed = parseAuthentikVersion(tag);
    if (!parsed) {
        throw new Error(`bad test version ${tag}`);
    }
    return parsed;
}

describe("versions", () => {
    test.each(["2025.6", "2025.6.3-rc1", "v2025.6.3", "latest", "2025.06.x"])("%s is not an exact version", (tag) => {
        expect(parseAuthentikVersion(tag)).toBeUndefined();
    });

    test("ordering is numeric, not textual", () => {
        expect(compareVersions(version("2025.10.0"), version("2025.8.9"))).toBeGreaterThan(0);
        expect(compareVersions(version("2025.6.10"), version("2025.6.9"))).toBeGreaterThan(0);
        expect(compareVersions(version("2026.2.0"), version("2025.12.5"))).toBeGreaterThan(0);
    });

    const redisLines = { server: { defaultMb: 576, minimumMb: 384 }, worker: { defaultMb: 512, minimumMb: 384 } };
    const pythonWorker = { server: { defaultMb: 640, minimumMb: 448 }, worker: { defaultMb: 512, minimumMb: 384 } };
    const rustWorker = { server: { defaultMb: 704, minimumMb: 512 }, worker: { defaultMb: 448, minimumMb: 320 } };
    test.each([
        ["2025.6.3", { usesRedis: true, storageRoot: "/media", shmSizeMb: undefined, setsBaseUrl: false, listensOnIpv6ByDefault: false, oauthGrantTypes: false, healthStartPeriodSeconds: 60, memory: redisLines }],
        ["2025.8.6", { usesRedis: true, storageRoot: "/media", shmSizeMb: undefined, setsBaseUrl: false, listensOnIpv6ByDefault: false, oauthGrantTypes: false, healthStartPeriodSeconds: 60, memory: redisLines }],
        ["2025.10.0", { usesRedis: false, storageRoot: "/media", shmSizeMb: undefined, setsBaseUrl: false, listensOnIpv6ByDefault: false, oauthGrantTypes: false, healthStartPeriodSeconds: 60, memory: pythonWorker }],
        ["2025.12.0", { usesRedis: false, storageRoot: "/data", shmSizeMb: undefined, setsBaseUrl: false, listensOnIpv6ByDefault: false, oauthGrantTypes: false, healthStartPeriodSeconds: 60, memory: pythonWorker }],
        ["2026.2.1", { usesRedis: false, storageRoot: "/data", shmSizeMb: 512, setsBaseUrl: false, listensOnIpv6ByDefault: false, oauthGrantTypes: false, healthStartPeriodSeconds: 60, memory: pythonWorker }],
        ["2026.5.0", { usesRedis: false, storageRoot: "/data", shmSizeMb: 512, setsBaseUrl: false, listensOnIpv6ByDefault: true, oauthGrantTypes: true, healthStartPeriodSeconds: 60, memory: rustWorker }],
        ["2026.8.3", { usesRedis: false, storageRoot: "/data", shmSizeMb: 512, setsBaseUrl: true, listensOnIpv6ByDefault: true, oauthGrantTypes: true, healthStartPeriodSeconds: 120, memory: rustWorker }],
    ])("features of %s", (tag, features) => {
        expect(featuresOf(version(tag))).toEqual(features);
    });

    test("every line's default server and worker memory is at least its minimum", () => {
        for (const line of SUPPORTED_RELEASE_LINES) {
            const { memory } = featuresOf(version(`${line}.0`));
            expect(memory.server.defaultMb).toBeGreaterThanOrEqual(memory.server.minimumMb);
            expect(memory.worker.defaultMb).toBeGreaterThanOrEqual(memory.worker.minimumMb);
        }
    });
});

describe("checkUpgrade", () => {
    test.each([
        ["2025.6.3", "2025.6.4"],
        ["2025.6.3", "2025.8.1"],
        ["2025.12.3", "2026.2.0"],
        ["2026.5.2", "2026.8.3"],
        ["2026.8.3", "2026.8.3"],
    ])("%s → %s is allowed", (from, to) => {
        expect(checkUpgrade(version(from), version(to))).toEqual({ ok: true });
    });

    test("a skipped release line is refused with the steps to take", () => {
        const result = checkUpgrade(version("2025.6.3"), version("2025.12.2"));
        expect(result).toEqual({
            ok: false,
            reason: "upgrade from 2025.6.3 to 2025.12.2 skips release lines (2025.8, 2025.10)",
            steps: [
                "set authentik.version to the newest 2025.8.x and run pulumi up",
                "set authentik.version to the newest 2025.10.x and run pulumi up",
                "set authentik.version to the newest 2025.12.x and run pulumi up",
            ],
        });
    });

    test("a downgrade is refused, even within a line", () => {
        // The steps too (mutation testing found them unchecked): the user is told the way back.
        expect(checkUpgrade(version("2025.8.2"), version("2025.8.1"))).toEqual({
            ok: false,
            reason: "downgrade from 2025.8.2 to 2025.8.1 is not supported by authentik",
            steps: [
                "keep authentik.version at 2025.8.2 or newer",
                "or restore the pre-upgrade dump (scripts/restore.sh) and set authentik-sso:upgrades.allowDowngrade to true for that one update",
            ],
        });
        expect(checkUpgrade(version("2025.10.0"), version("2025.6.3"))).toMatchObject({ ok: false });
    });

    test("a deployed line the program does not know is refused with the way out", () => {
        expect(checkUpgrade(version("2025.4.1"), version("2025.6.3"))).toEqual({
            ok: false,
            reason: `the deployed release line 2025.4 is not one this program knows (${SUPPORTED_RELEASE_LINES.join(", ")})`,
            steps: ["upgrade it by hand to a supported line, following authentik's release notes, then run pulumi up"],
        });
    });

    test("every step of the ladder is one line", () => {
        for (let index = 1; index < SUPPORTED_RELEASE_LINES.length; index++) {
            const from = version(`${SUPPORTED_RELEASE_LINES[index - 1]}.0`);
            const to = version(`${SUPPORTED_RELEASE_LINES[index]}.0`);
            expect(checkUpgrade(from, to)).toEqual({ ok: true });
            if (index + 1 < SUPPORTED_RELEASE_LINES.length) {
                expect(checkUpgrade(from, version(`${SUPPORTED_RELEASE_LINES[index + 1]}.0`)).ok).toBe(false);
            }
        }
    });
});

test("a refused upgrade is one Pulumi run error listing every problem, with numbered steps", () => {
    const skip = parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com", version: "2025.12.1" } });
    const problems = upgradeProblems({ authentikVersion: "2025.6.3", postgresImage: "docker.io/library/postgres:15.8-alpine" }, skip);
    expect(problems[0]).toBe(
        'authentik-sso:authentik.version: got "2025.12.1" while 2025.6.3 is deployed; upgrade from 2025.6.3 to 2025.12.1 skips release lines (2025.8, 2025.10). Steps: (1) set authentik.version to the newest 2025.8.x and run pulumi up (2) set authentik.version to the newest 2025.10.x and run pulumi up (3) set authentik.version to the newest 2025.12.x and run pulumi up',
    );
    expect(problems).toHaveLength(2);
    let error: unknown;
    try {
        assertSafeUpgrade({ authentikVersion: "2025.6.3", postgresImage: "docker.io/library/postgres:15.8-alpine" }, skip);
    } catch (caught) {
        error = caught;
    }
    expect(error).toBeInstanceOf(UpgradeError);
    // The engine prints a RunError's message without a stack trace; it recognises one by this flag.
    expect({ name: (error as UpgradeError).name, runError: (error as { __pulumiRunError?: unknown }).__pulumiRunError }).toEqual({ name: "UpgradeError", runError: true });
    expect((error as UpgradeError).message).toBe(`Refusing this change (nothing was created or replaced):\n  - ${problems[0]}\n  - ${problems[1]}`);
    expect(() => assertSafeUpgrade({ authentikVersion: "2025.10.2" }, skip)).not.toThrow();
});

describe("upgradeProblems", () => {
    const base = parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com", version: "2025.8.1" } });

    test("nothing deployed yet: anything supported goes", () => {
        expect(upgradeProblems({}, base)).toEqual([]);
    });

    test("a PostgreSQL major change is refused unless allowed", () => {
        const next = parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com", version: "2025.8.1" }, docker: { images: { postgresql: "docker.io/library/postgres:17.5-alpine" } } });
        const [problem] = upgradeProblems({ authentikVersion: "2025.8.1", postgresImage: "docker.io/library/postgres:16.14-alpine" }, next);
        expect(problem).toContain("authentik-sso:docker.images.postgresql");
        expect(problem).toContain("PostgreSQL 16");
        expect(problem).toContain("allowPostgresMajorChange");
        const allowed = { ...next, upgrades: { ...next.upgrades, allowPostgresMajorChange: true } };
        expect(upgradeProblems({ postgresImage: "docker.io/library/postgres:16.14-alpine" }, allowed)).toEqual([]);
        expect(upgradeProblems({ postgresImage: "docker.io/library/postgres:16.4-alpine" }, base)).toEqual([]);
    });

    test("a deployed image whose major cannot be read is no reason to refuse; a new one cannot reach the guard", () => {
        expect(upgradeProblems({ postgresImage: "postgres@sha256:" + "b".repeat(64) }, base)).toEqual([]);
        expect(() =>
            parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com", version: "2025.8.1" }, docker: { images: { postgresql: "postgres:bookworm" } } }),
        ).toThrow(/authentik-sso:docker.images.postgresql: got "postgres:bookworm"; must have a tag that starts with PostgreSQL's major version/);
        // The guard itself errs on the safe side should an unreadable image ever reach it.
        expect(upgradeProblems({ postgresImage: "docker.io/library/postgres:16.4-alpine" }, { ...base, docker: { ...base.docker, images: { ...base.docker.images, postgresql: "postgres:bookworm" } } })).toHaveLength(1);
    });

    test("a smaller VM disk than deployed is refused with the reason; the same or larger passes", () => {
        const proxmox = { node: "pve", ipv4: "192.168.10.20/24", gateway: "192.168.10.1", sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnlyForTests x"], adminCidr: "192.168.10.0/24" };
        const withDisk = (diskGb: number) => parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" }, proxmox: { ...proxmox, diskGb } });
        expect(upgradeProblems({ vmDiskGb: 20 }, withDisk(16))).toEqual([
            'authentik-sso:proxmox.diskGb: got 16 while the VM\'s disk has 20 GB; Proxmox cannot shrink a disk ("Cannot shrink … it is not supported!"), so keep 20 or more (a smaller disk means a new VM: back up, replace the VM, restore)',
        ]);
        expect(upgradeProblems({ vmDiskGb: 20 }, withDisk(20))).toEqual([]);
        expect(upgradeProblems({ vmDiskGb: 20 }, withDisk(30))).toEqual([]);
        expect(upgradeProblems({ vmDiskGb: 20 }, base)).toEqual([]);
    });
});

test.each([
    ["docker.io/library/postgres:16.14-alpine", 16],
    ["postgres:18", 18],
    ["registry.example.com:5000/library/postgres:17.6-alpine@sha256:" + "a".repeat(64), 17],
    ["docker.io/library/postgres:16.14-alpine@sha256:" + "1234".repeat(16), 16],
    ["postgres@sha256:" + "b".repeat(64), undefined],
    ["postgres", undefined],
    // A registry's port is no tag, and a tag that starts with letters names no major (3 is Alpine's).
    ["registry.example.com:5000/postgres", undefined],
    ["registry.example.com:5000/postgres:18-alpine", 18],
    ["postgres:alpine3.22", undefined],
    ["postgres@sha256:" + "0123".repeat(16), undefined],
    ["registry.example.com:5000/postgres@sha256:" + "9".repeat(64), undefined],
])("the PostgreSQL major of %s is %s", (image, major) => {
    expect(postgresMajorVersion(image)).toBe(major);
});

test("a digest-pinned PostgreSQL 16 image keeps the PostgreSQL 16 data path", () => {
    expect(postgresDataPath("docker.io/library/postgres:16.14-alpine@sha256:" + "1234".repeat(16))).toBe("/var/lib/postgresql/data");
    expect(postgresDataPath("docker.io/library/postgres:18.1-alpine")).toBe("/var/lib/postgresql");
});

test("a deployed version outside the known lines is refused, not waved through", () => {
    expect(checkUpgrade(version("2024.12.3"), version("2026.8.3"))).toMatchObject({ ok: false, reason: expect.stringContaining("2024.12 is not one this program knows") });
});

test("allowDowngrade lets a restored pre-upgrade dump go back to its version, and nothing else", () => {
    const back = parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com", version: "2025.6.3" }, upgrades: { allowDowngrade: true } });
    expect(upgradeProblems({ authentikVersion: "2025.8.1" }, back)).toEqual([]);
    const skip = parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com", version: "2025.12.1" }, upgrades: { allowDowngrade: true } });
    expect(upgradeProblems({ authentikVersion: "2025.6.3" }, skip)).toHaveLength(1);
});

describe("the program refuses unsafe upgrades before creating anything", () => {
    const local = loadStackFile("local");
    const authentik = local.config["authentik-sso:authentik"] as Record<string, unknown>;

    test("a skipped line stops the update with the steps, and only the stack's own outputs were read", async () => {
        const config = withOverrides(local, { authentik: { ...authentik, version: "2025.12.1" } });
        await expect(runProgram({ stack: "local", config, previousOutputs: { authentikVersion: "2025.6.3" } })).rejects.toThrow(UpgradeError);
        await expect(runProgram({ stack: "local", config, previousOutputs: { authentikVersion: "2025.6.3" } })).rejects.toThrow(
            /authentik-sso:authentik.version: got "2025.12.1" while 2025.6.3 is deployed; .*\(1\) set authentik.version to the newest 2025.8.x/,
        );
        expect(lastRun.resources.map((resource) => resource.type)).toEqual(["pulumi:pulumi:StackReference"]);
        expect(lastRun.resources[0]?.inputs.name).toBe("organization/authentik-sso/local");
    });

    test("a downgrade stops the update", async () => {
        const shipped = version(String(authentik.version));
        const newer = `${shipped.line}.${shipped.patch + 1}`;
        await expect(runProgram({ stack: "local", config: local, previousOutputs: { authentikVersion: newer } })).rejects.toThrow(`downgrade from ${newer} to ${shipped.tag}`);
    });

    test("the next line goes through, and the deployed versions are exported for the next run", async () => {
        const config = withOverrides(local, { authentik: { ...authentik, version: "2025.8.1" } });
        const run = await runProgram({ stack: "local", config, previousOutputs: { authentikVersion: "2025.6.3", postgresImage: DEFAULT_IMAGES.postgresql } });
        expect(run.outputs.authentikVersion?.value).toBe("2025.8.1");
        expect(run.outputs.postgresImage?.value).toBe(DEFAULT_IMAGES.postgresql);
    });

    test("a PostgreSQL major change stops the update, read from the stack's own last outputs", async () => {
        const config = withOverrides(local, { docker: { ...(local.config["authentik-sso:docker"] as Record<string, unknown>), images: { postgresql: "docker.io/library/postgres:18.1-alpine" } } });
        await expect(runProgram({ stack: "local", config, previousOutputs: { authentikVersion: String(authentik.version), postgresImage: "docker.io/library/postgres:16.14-alpine" } })).rejects.toThrow(
            /authentik-sso:docker.images.postgresql: got "docker.io\/library\/postgres:18.1-alpine" while PostgreSQL 16 \(docker.io\/library\/postgres:16.14-alpine\) is deployed/,
        );
        expect(lastRun.resources.map((resource) => resource.type)).toEqual(["pulumi:pulumi:StackReference"]);
    });

    test("a shrunk VM disk stops the update before anything is created", async () => {
        const dev = loadStackFile("dev");
        const proxmox = dev.config["authentik-sso:proxmox"] as Record<string, unknown>;
        const config = withOverrides(dev, { proxmox: { ...proxmox, diskGb: 16 } });
        await expect(runProgram({ stack: "dev", config, previousOutputs: { vmDiskGb: 20 } })).rejects.toThrow(/authentik-sso:proxmox.diskGb: got 16 while the VM's disk has 20 GB/);
        expect(lastRun.resources.map((resource) => resource.type)).toEqual(["pulumi:pulumi:StackReference"]);
    });
});
