/**
 * Config validation: every rule stops the real program with a message naming the key, the value and what is
 * allowed, before a single resource is registered.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CLOUD_IMAGES, ConfigError, DEFAULT_AUTHENTIK_VERSION, DEFAULT_IMAGES, cloudImageOf, configWarnings, parseStackConfig, plainTextSecrets } from "../lib/config";
import { loadUserBlueprints } from "../lib/loadConfig";
import { expectConfigRefused, lastRun, loadStackFile, runProgram, withOverrides } from "./harness";

const local = loadStackFile("local");
const localDocker = local.config["authentik-sso:docker"] as Record<string, unknown>;
const localAuthentik = local.config["authentik-sso:authentik"] as Record<string, unknown>;

const validProxmox = {
    node: "pve",
    ipv4: "192.168.10.20/24",
    gateway: "192.168.10.1",
    sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnlyForTests operator@laptop"],
    adminCidr: "192.168.10.0/24",
};
const validCloudflare = { accountId: "0123456789abcdef0123456789abcdef", zone: "example.com" };

/** Server-side stacks do not publish a port; the local stack does. */
const remoteDocker = { ...localDocker, publish: undefined, host: undefined };

interface Case {
    rule: string;
    overrides: Record<string, unknown>;
    /** Every fragment must appear in one line of the error. */
    expected: string[];
}

const localBackup = local.config["authentik-sso:backup"] as Record<string, unknown>;

/** The least a stack needs; `problemsOf` adds settings to it and returns parseStackConfig's problem lines. */
const minimal = { domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" } };
const problemsOf = (settings: Record<string, unknown>): readonly string[] => {
    try {
        parseStackConfig({ ...minimal, ...settings });
        return [];
    } catch (caught) {
        return (caught as ConfigError).problems;
    }
};
const offsite = (settings: Record<string, unknown>) => ({ backup: { ...localBackup, offsite: { repository: "s3:s3.eu-central-1.amazonaws.com/bucket/authentik", ...settings } } });

const cases: Case[] = [
    {
        rule: "an off-site repository needs a scheme restic knows, or an absolute path",
        overrides: offsite({ repository: "ftp://nas.lan/backups" }),
        expected: ["authentik-sso:backup.offsite.repository", '"ftp://nas.lan/backups"', "scheme ftp:", "s3:, b2:, rest:, azure:"],
    },
    {
        rule: "sftp: and gs: repositories cannot work from the backup container",
        overrides: offsite({ repository: "sftp:backup@nas.lan:/srv/restic" }),
        expected: ["authentik-sso:backup.offsite.repository", "scheme sftp:", "no ssh client, key or known_hosts there", "rest:"],
    },
    {
        rule: "an off-site repository may not be a relative path",
        overrides: offsite({ repository: "backups/restic" }),
        expected: ["authentik-sso:backup.offsite.repository", '"backups/restic"', "relative path or has no scheme"],
    },
    {
        rule: "an off-site path repository may not climb out with ..",
        overrides: offsite({ repository: "/mnt/nas/../etc" }),
        expected: ["authentik-sso:backup.offsite.repository", "without .."],
    },
    {
        rule: "a repository URL's password is not echoed",
        overrides: offsite({ repository: "rest:https://user:s3cr3t-in-url@nas.lan:8000/authentik" }),
        expected: ["authentik-sso:backup.offsite.repository", '"rest:https://[secret]@nas.lan:8000/authentik"', "carries a password in the URL", "RESTIC_REST_PASSWORD"],
    },
    {
        // The user part runs to the authority's last @: a user that is an e-mail address hides nothing.
        rule: "a password after a user with an @ is found and not echoed",
        overrides: offsite({ repository: "rest:https://me@example.com:s3cr3t-in-url@nas.lan:8000/authentik" }),
        expected: ["authentik-sso:backup.offsite.repository", '"rest:https://[secret]@nas.lan:8000/authentik"', "carries a password in the URL"],
    },
    {
        rule: "an @ in a repository's path is no user",
        overrides: offsite({ repository: "ftp://nas.lan/back@ups" }),
        expected: ["authentik-sso:backup.offsite.repository", '"ftp://nas.lan/back@ups"', "has the scheme ftp:, which is not one of s3:, b2:, rest:, azure: (or an absolute path)"],
    },
    {
        rule: "off-site credentials are environment variable names",
        overrides: offsite({ env: { "aws-key": "x" } }),
        expected: ["authentik-sso:backup.offsite.env.aws-key", 'the name "aws-key" must be a backend credential restic reads: AWS_*'],
    },
    {
        rule: "off-site credentials cannot override the repository's password or the script's settings",
        overrides: offsite({ env: { RESTIC_PASSWORD: "x" } }),
        expected: ["authentik-sso:backup.offsite.env.RESTIC_PASSWORD", "not RESTIC_PASSWORD: that is backup.offsite.password"],
    },
    {
        rule: "restic needs room in the backup container",
        overrides: { ...offsite({}), docker: { ...localDocker, memoryLimitsMb: { backup: 64 } } },
        expected: ["authentik-sso:docker.memoryLimitsMb.backup", "got 64", "at least 128 with backup.offsite"],
    },
    {
        rule: "the off-site keep policy keeps at least one of each",
        overrides: offsite({ keep: { daily: 0 } }),
        expected: ["authentik-sso:backup.offsite.keep.daily", "got 0", ">=1"],
    },
    {
        rule: "the weekly check day is a weekday",
        overrides: offsite({ checkDay: "sun" }),
        expected: ["authentik-sso:backup.offsite.checkDay", '"sun"', "sunday"],
    },
    {
        rule: "a path repository is not the local backup folder",
        overrides: { backup: { ...localBackup, offsite: { repository: `${String(localBackup.hostPath)}/restic` } } },
        expected: ["authentik-sso:backup.offsite.repository", "must lie outside backup.hostPath (/tmp/authentik-backups)"],
    },
    {
        rule: "a path repository does not hold the local backup folder either",
        overrides: { backup: { ...localBackup, offsite: { repository: "/tmp" } } },
        expected: ["authentik-sso:backup.offsite.repository", '"/tmp"', "must lie outside backup.hostPath (/tmp/authentik-backups)"],
    },
    {
        rule: "off-site copies follow the daily backup",
        overrides: { backup: { ...localBackup, enabled: false, offsite: { repository: "/mnt/nas/restic" } } },
        expected: ["authentik-sso:backup.enabled", "got false", "must be true with backup.offsite"],
    },
    {
        rule: "an off-site password is long enough, and not echoed",
        overrides: offsite({ password: "short-pass" }),
        expected: ["authentik-sso:backup.offsite.password", "[secret]", "at least 16 characters"],
    },
    {
        rule: "a recovered secret key is as long as authentik requires, and not echoed",
        overrides: { authentik: { ...localAuthentik, secretKey: "too-short-key" } },
        expected: ["authentik-sso:authentik.secretKey", "[secret]", "at least 50 characters"],
    },
    { rule: "domain is required", overrides: { domain: undefined }, expected: ["authentik-sso:domain", "got nothing", "is required (string)"] },
    { rule: "domain must be a DNS name", overrides: { domain: "Auth Example" }, expected: ["authentik-sso:domain", '"Auth Example"', "lower-case DNS name"] },
    {
        rule: "unknown top-level keys are refused",
        overrides: { dokcer: { host: "x" } },
        expected: ["authentik-sso:dokcer", "not a known setting", "docker"],
    },
    {
        rule: "unknown nested keys are refused",
        overrides: { docker: { ...localDocker, memroyMb: 2048 } },
        expected: ["authentik-sso:docker.memroyMb", "not a known setting"],
    },
    {
        rule: "version must be exact",
        overrides: { authentik: { ...localAuthentik, version: "latest" } },
        expected: ["authentik-sso:authentik.version", '"latest"', "exact release such as 2025.6.3"],
    },
    {
        rule: "version must be in a supported line (too old)",
        overrides: { authentik: { ...localAuthentik, version: "2025.4.1" } },
        expected: ["authentik-sso:authentik.version", '"2025.4.1"', "2025.6, 2025.8, 2025.10, 2025.12, 2026.2, 2026.5, 2026.8"],
    },
    {
        rule: "version must be in a supported line (too new)",
        overrides: { authentik: { ...localAuthentik, version: "2026.11.0" } },
        expected: ["authentik-sso:authentik.version", "release line 2026.11 is not supported"],
    },
    {
        rule: "bootstrap e-mail must be an address",
        overrides: { authentik: { ...localAuthentik, bootstrapEmail: "admin" } },
        expected: ["authentik-sso:authentik.bootstrapEmail", '"admin"', "e-mail address"],
    },
    {
        rule: "docker host must be a supported URL",
        overrides: { docker: { ...localDocker, host: "docker.lan:2375" } },
        expected: ["authentik-sso:docker.host", '"docker.lan:2375"', "unix:///path, ssh://user@host or tcp://host:port"],
    },
    {
        rule: "subnet must be a private network CIDR",
        overrides: { docker: { ...localDocker, subnet: "8.8.8.0/24" } },
        expected: ["authentik-sso:docker.subnet", '"8.8.8.0/24"', "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"],
    },
    {
        rule: "subnet must have no host bits",
        overrides: { docker: { ...localDocker, subnet: "172.28.53.7/24" } },
        expected: ["authentik-sso:docker.subnet", "no host bits set"],
    },
    {
        rule: "publish must be ip:port",
        overrides: { docker: { ...localDocker, publish: "9000" } },
        expected: ["authentik-sso:docker.publish", '"9000"', "ip:port"],
    },
    {
        rule: "publish port must be in range",
        overrides: { docker: { ...localDocker, publish: "127.0.0.1:70000" } },
        expected: ["authentik-sso:docker.publish", "port from 1 to 65535"],
    },
    {
        rule: "images must be pinned",
        overrides: { docker: { ...localDocker, images: { postgresql: "postgres:latest" } } },
        expected: ["authentik-sso:docker.images.postgresql", '"postgres:latest"', "not :latest"],
    },
    {
        // postgres:alpine is 18 today: its data lives one level up, and a later pull could cross a major unseen.
        rule: "the PostgreSQL tag must name its major version",
        overrides: { docker: { ...localDocker, images: { postgresql: "docker.io/library/postgres:alpine3.22" } } },
        expected: ["authentik-sso:docker.images.postgresql", '"docker.io/library/postgres:alpine3.22"', "starts with PostgreSQL's major version, e.g. 16.14-alpine"],
    },
    {
        rule: "images must carry a tag",
        overrides: { docker: { ...localDocker, images: { redis: "redis" } } },
        expected: ["authentik-sso:docker.images.redis", "explicit tag"],
    },
    {
        rule: "container memory limits must fit the memory budget",
        overrides: { docker: { ...localDocker, memoryMb: 1024 } },
        expected: ["authentik-sso:docker.memoryMb", "got 1024", "1472 MB", "postgresql 256", "server 704", "worker 448", "backup 64"],
    },
    {
        rule: "a single container limit has a floor",
        overrides: { docker: { ...localDocker, memoryLimitsMb: { server: 128 } } },
        expected: ["authentik-sso:docker.memoryLimitsMb.server", "got 128", ">=256"],
    },
    {
        rule: "server memory below what the release line needs",
        overrides: { authentik: { ...localAuthentik, version: "2026.8.3" }, docker: { ...localDocker, memoryLimitsMb: { server: 480 } } },
        expected: ["authentik-sso:docker.memoryLimitsMb.server", "got 480", "the authentik server of 2026.8.3 needs: at least 512 MB (default 704"],
    },
    {
        rule: "worker memory below what the release line needs (a line with a larger worker)",
        overrides: { authentik: { ...localAuthentik, version: "2025.12.4" }, docker: { ...localDocker, memoryLimitsMb: { worker: 320 } } },
        expected: ["authentik-sso:docker.memoryLimitsMb.worker", "got 320", "the authentik worker of 2025.12.4 needs: at least 384 MB (default 512"],
    },
    {
        rule: "a custom cloud image needs its checksum",
        overrides: { docker: remoteDocker, proxmox: { ...validProxmox, image: { url: "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2" } } },
        expected: ["authentik-sso:proxmox.image.checksum", "got nothing", "is required with proxmox.image.url", "SHA512SUMS"],
    },
    {
        rule: "a checksum without a URL is refused",
        overrides: { docker: remoteDocker, proxmox: { ...validProxmox, image: { checksum: "a".repeat(128) } } },
        expected: ["authentik-sso:proxmox.image.checksum", "belongs to proxmox.image.url"],
    },
    {
        rule: "an authentik digest is a sha256 digest",
        overrides: { authentik: { ...localAuthentik, digest: "latest" } },
        expected: ["authentik-sso:authentik.digest", '"latest"', "sha256: and 64 hex characters"],
    },
    {
        rule: "SMTP TLS and SSL exclude each other",
        overrides: { smtp: { host: "smtp.example.com", from: "auth@example.com", useTls: true, useSsl: true } },
        expected: ["authentik-sso:smtp.useSsl", "exclude each other"],
    },
    {
        rule: "SMTP username and password go together, and the password is never echoed",
        overrides: { smtp: { host: "smtp.example.com", from: "auth@example.com", password: "hunter2-not-echoed" } },
        expected: ["authentik-sso:smtp.password", "got [secret]", "set together"],
    },
    {
        rule: "proxmox needs at least 2 cores",
        overrides: { docker: remoteDocker, proxmox: { ...validProxmox, cores: 1 } },
        expected: ["authentik-sso:proxmox.cores", "got 1", "at least 2"],
    },
    {
        rule: "proxmox needs at least 2048 MB",
        overrides: { docker: { ...remoteDocker, memoryMb: 1024, memoryLimitsMb: { server: 512, worker: 320, postgresql: 128, backup: 32 } }, proxmox: { ...validProxmox, memoryMb: 1536 } },
        expected: ["authentik-sso:proxmox.memoryMb", "got 1536", "at least 2048 MB"],
    },
    {
        rule: "proxmox memory must hold the containers and the OS",
        overrides: { docker: { ...remoteDocker, memoryMb: 1800 }, proxmox: validProxmox },
        expected: ["authentik-sso:proxmox.memoryMb", "got 2048", "1600 MB for containers", "at least 2248"],
    },
    {
        rule: "the VM address must be in its gateway's network",
        overrides: { docker: remoteDocker, proxmox: { ...validProxmox, gateway: "192.168.11.1" } },
        expected: ["authentik-sso:proxmox.ipv4", '"192.168.10.20/24"', "gateway 192.168.11.1"],
    },
    {
        rule: "the VM address needs a prefix",
        overrides: { docker: remoteDocker, proxmox: { ...validProxmox, ipv4: "192.168.10.20" } },
        expected: ["authentik-sso:proxmox.ipv4", "with a prefix"],
    },
    {
        rule: "the Docker subnet must not overlap the VM's LAN",
        overrides: { docker: { ...remoteDocker, subnet: "192.168.10.0/24" }, proxmox: validProxmox },
        expected: ["authentik-sso:docker.subnet", "overlaps the VM's network"],
    },
    {
        rule: "docker.host cannot be used with a proxmox VM",
        overrides: { docker: { ...remoteDocker, host: "ssh://someone@elsewhere" }, proxmox: validProxmox },
        expected: ["authentik-sso:docker.host", "must not be set with proxmox"],
    },
    {
        rule: "proxmox needs an SSH key",
        overrides: { docker: remoteDocker, proxmox: { ...validProxmox, sshPublicKeys: [] } },
        expected: ["authentik-sso:proxmox.sshPublicKeys", "at least one OpenSSH public key"],
    },
    {
        rule: "proxmox admin CIDR must be a network",
        overrides: { docker: remoteDocker, proxmox: { ...validProxmox, adminCidr: "192.168.10.7/24" } },
        expected: ["authentik-sso:proxmox.adminCidr", "no host bits set"],
    },
    {
        rule: "the domain must lie in the Cloudflare zone",
        overrides: { domain: "auth.example.org", docker: remoteDocker, cloudflare: validCloudflare },
        expected: ["authentik-sso:domain", '"auth.example.org"', "outside the Cloudflare zone example.com"],
    },
    {
        rule: "no published port behind the tunnel",
        overrides: { domain: "auth.example.com", cloudflare: validCloudflare },
        expected: ["authentik-sso:docker.publish", '"127.0.0.1:9000"', "publishes no host port"],
    },
    {
        rule: "Cloudflare ids are 32 hex characters",
        overrides: { domain: "auth.example.com", docker: remoteDocker, cloudflare: { ...validCloudflare, accountId: "abc" } },
        expected: ["authentik-sso:cloudflare.accountId", '"abc"', "32-character hex account id"],
    },
    {
        rule: "connectors between 1 and 4",
        overrides: { domain: "auth.example.com", docker: remoteDocker, cloudflare: { ...validCloudflare, connectors: 0 } },
        expected: ["authentik-sso:cloudflare.connectors", "got 0", ">=1"],
    },
    {
        rule: "backup time is HH:MM",
        overrides: { backup: { time: "3am" } },
        expected: ["authentik-sso:backup.time", '"3am"', "HH:MM"],
    },
    {
        rule: "backup retention is at least a day",
        overrides: { backup: { retentionDays: 0 } },
        expected: ["authentik-sso:backup.retentionDays", "got 0", ">=1"],
    },
    {
        rule: "backup folder is absolute",
        overrides: { backup: { hostPath: "backups" } },
        expected: ["authentik-sso:backup.hostPath", '"backups"', "absolute path"],
    },
    {
        rule: "the VM address must be a host, not the network",
        overrides: { docker: remoteDocker, proxmox: { ...validProxmox, ipv4: "192.168.10.0/24" } },
        expected: ["authentik-sso:proxmox.ipv4", '"192.168.10.0/24"', "is a network address"],
    },
    {
        rule: "the admin user is not root",
        overrides: { docker: remoteDocker, proxmox: { ...validProxmox, sshUser: "root" } },
        expected: ["authentik-sso:proxmox.sshUser", '"root"', "must not be root"],
    },
    {
        rule: "SSH keys are OpenSSH public key lines",
        overrides: { docker: remoteDocker, proxmox: { ...validProxmox, sshPublicKeys: ["-----BEGIN OPENSSH PRIVATE KEY-----"] } },
        expected: ["authentik-sso:proxmox.sshPublicKeys.0", "OpenSSH public key line"],
    },
    {
        rule: "the image checksum matches its algorithm",
        overrides: { docker: remoteDocker, proxmox: { ...validProxmox, image: { url: "https://example.com/image.qcow2", checksum: "a".repeat(64), checksumAlgorithm: "sha512" } } },
        expected: ["authentik-sso:proxmox.image.checksum", "sha512 digest (128 hex characters)"],
    },
    {
        rule: "the image file name has an importable extension",
        overrides: { docker: remoteDocker, proxmox: { ...validProxmox, image: { fileName: "debian.img" } } },
        expected: ["authentik-sso:proxmox.image.fileName", '"debian.img"', ".qcow2, .raw or .vmdk"],
    },
    {
        rule: "VLAN ids are 1 to 4094",
        overrides: { docker: remoteDocker, proxmox: { ...validProxmox, vlanId: 4095 } },
        expected: ["authentik-sso:proxmox.vlanId", "got 4095", "<=4094"],
    },
    {
        rule: "a zone id is 32 hex characters",
        overrides: { domain: "auth.example.com", docker: remoteDocker, cloudflare: { ...validCloudflare, zoneId: "example.com" } },
        expected: ["authentik-sso:cloudflare.zoneId", '"example.com"', "32-character hex zone id"],
    },
    {
        rule: "the log level is one authentik knows",
        overrides: { authentik: { ...localAuthentik, logLevel: "verbose" } },
        expected: ["authentik-sso:authentik.logLevel", '"verbose"', '"debug"|"info"|"warning"|"error"'],
    },
    {
        rule: "the name prefix is a short lower-case name",
        overrides: { docker: { ...localDocker, namePrefix: "Authentik_SSO" } },
        expected: ["authentik-sso:docker.namePrefix", '"Authentik_SSO"', "lower-case letters, digits or dashes"],
    },
    {
        rule: "protection flags are booleans",
        overrides: { protect: { database: "yes" } },
        expected: ["authentik-sso:protect.database", '"yes"', "expected boolean"],
    },
    {
        rule: "upgrade overrides are booleans",
        overrides: { upgrades: { allowDowngrade: "once" } },
        expected: ["authentik-sso:upgrades.allowDowngrade", '"once"', "expected boolean"],
    },
    {
        rule: "SMTP ports are 1 to 65535",
        overrides: { smtp: { host: "smtp.example.com", from: "auth@example.com", port: 0 } },
        expected: ["authentik-sso:smtp.port", "got 0", ">=1"],
    },
    {
        rule: "an object key set to plain text is refused",
        overrides: { docker: "unix:///var/run/docker.sock" },
        expected: ["authentik-sso:docker", "not a structured value"],
    },
];

describe("config validation stops the program before any resource exists", () => {
    test.each(cases)("$rule", async ({ overrides, expected }) => {
        await expectConfigRefused({ stack: "local", config: withOverrides(local, overrides) }, expected);
    });

    test("every problem is reported at once", () => {
        expect.assertions(2);
        try {
            parseStackConfig({ domain: "BAD", authentik: { bootstrapEmail: "x", version: "1" } });
        } catch (caught) {
            const problems = (caught as ConfigError).problems;
            expect(problems.map((line) => line.split(":").slice(0, 2).join(":"))).toEqual(
                expect.arrayContaining(["authentik-sso:domain", "authentik-sso:authentik.version", "authentik-sso:authentik.bootstrapEmail"]),
            );
            expect((caught as Error).message).toMatch(/^Invalid configuration for stack \(nothing was created\)/);
        }
    });

    test("secret values never appear in error messages", () => {
        expect.assertions(1);
        try {
            parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" }, smtp: { host: "smtp.example.com", from: "a@example.com", password: 42 } });
        } catch (caught) {
            expect((caught as Error).message).not.toContain("42");
        }
    });

    test("a stack without any setting (a fresh `pulumi stack init`) is told what it needs and where to start", async () => {
        let error: unknown;
        try {
            await runProgram({ stack: "fresh", config: { config: {}, secretKeys: [], secretValues: [] } });
        } catch (caught) {
            error = caught;
        }
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems).toEqual([expect.stringContaining("this stack has no authentik-sso:* settings at all; at least authentik-sso:domain and authentik-sso:authentik")]);
        expect((error as ConfigError).problems[0]).toContain("Copy Pulumi.local.yaml");
        expect(lastRun.resources).toEqual([]);
    });

    test("a rule on an object echoes only the offending value, not the object it ran on", () => {
        expect.assertions(2);
        try {
            parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com", version: "latest" } });
        } catch (caught) {
            const [line] = (caught as ConfigError).problems;
            expect(line).toBe('authentik-sso:authentik.version: got "latest"; must be an exact release such as 2025.6.3');
            expect((caught as Error).message).not.toContain("bootstrapEmail");
        }
    });

    test("an unquoted version (a YAML number) is answered with: quote it", () => {
        expect.assertions(1);
        try {
            parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com", version: 2025.1 } });
        } catch (caught) {
            expect((caught as ConfigError).problems).toEqual([
                'authentik-sso:authentik.version: got 2025.1; must be a string: YAML read an unquoted version as the number 2025.1; quote it in the stack file, e.g. version: "2025.10.4"',
            ]);
        }
    });

    test("the SMTP password never appears, whichever SMTP rule fails", () => {
        expect.assertions(3);
        const smtp = { host: "smtp.example.com", from: "a@example.com", username: "mailer", password: "hunter2-never-printed", useTls: true, useSsl: true };
        try {
            parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" }, smtp });
        } catch (caught) {
            const problems = (caught as ConfigError).problems;
            expect(problems).toEqual(["authentik-sso:smtp.useSsl: got true; useTls (STARTTLS) and useSsl (implicit TLS) exclude each other: set one of them"]);
            expect((caught as Error).message).not.toContain("hunter2");
        }
        try {
            // An object echoed whole (here: a list where an object belongs) has its secret fields masked.
            parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" }, smtp: [smtp] });
        } catch (caught) {
            expect((caught as Error).message).not.toContain("hunter2");
        }
    });

    test("defaults are filled in, the memory of server and worker by release line", () => {
        const config = parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" } });
        expect(config.authentik.version).toBe(DEFAULT_AUTHENTIK_VERSION);
        expect(config.docker.host).toBeUndefined();
        expect(config.docker).toMatchObject({ subnet: "10.213.53.0/24", memoryMb: 1600, namePrefix: "authentik" });
        expect(config.docker.memoryLimitsMb).toEqual({ postgresql: 256, redis: 64, server: 704, worker: 448, cloudflared: 64, backup: 64 });
        const older = parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com", version: "2025.6.4" } });
        expect(older.docker.memoryLimitsMb).toMatchObject({ server: 576, worker: 512 });
        const given = parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" }, docker: { memoryMb: 4096, memoryLimitsMb: { server: 1500 } } });
        expect(given.docker.memoryLimitsMb).toMatchObject({ server: 1500, worker: 448 });
        expect(config.protect).toEqual({ vm: false, database: false, secretKey: false });
        expect(config.backup).toEqual({ enabled: true, time: "03:00", retentionDays: 7, hostPath: "/var/backups/authentik" });
        const withOffsite = parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" }, backup: { offsite: { repository: "b2:bucket:authentik" } } });
        expect(withOffsite.backup.offsite).toEqual({ repository: "b2:bucket:authentik", env: {}, keep: { daily: 7, weekly: 4, monthly: 6 }, checkDay: "sunday" });
        // restic runs in the backup container: it gets more memory.
        expect(withOffsite.docker.memoryLimitsMb.backup).toBe(128);
    });
});

describe("values at the edge of a rule", () => {

    // The default line's floors (upgrades.test.ts holds each line's): server 512 of 704 MB, worker 320 of 448 MB.
    test.each([
        ["server", 512, 704],
        ["worker", 320, 448],
    ] as const)("a %s memory limit of exactly the line's minimum (%i MB) is accepted, one MB less is not", (role, minimumMb, defaultMb) => {
        expect(problemsOf({ docker: { memoryMb: 4096, memoryLimitsMb: { [role]: minimumMb } } })).toEqual([]);
        expect(problemsOf({ docker: { memoryMb: 4096, memoryLimitsMb: { [role]: minimumMb - 1 } } })).toEqual([
            `authentik-sso:docker.memoryLimitsMb.${role}: got ${minimumMb - 1}; is below what the authentik ${role} of ${DEFAULT_AUTHENTIK_VERSION} needs: at least ${minimumMb} MB (default ${defaultMb}; README "Memory")`,
        ]);
    });

    test("a path repository next to the backup folder, sharing its name as a prefix, is outside it", () => {
        const backup = (repository: string) => ({ backup: { hostPath: "/srv/backups", offsite: { repository } } });
        expect(problemsOf(backup("/srv/backups-offsite"))).toEqual([]);
        expect(problemsOf(backup("/srv"))).toEqual([expect.stringContaining("authentik-sso:backup.offsite.repository: got \"/srv\"; must lie outside backup.hostPath (/srv/backups)")]);
        expect(problemsOf(backup("/srv/backups"))).toEqual([expect.stringContaining("must lie outside backup.hostPath")]);
    });
});

describe("secrets inside structured settings must be secrets in the stack", () => {
    const s3 = { repository: "s3:s3.amazonaws.com/bucket", env: { AWS_ACCESS_KEY_ID: "AKIA-plain-id", AWS_SECRET_ACCESS_KEY: "plain-secret-access-key" }, password: "a-repository-password" };

    test("values in the stack file that are not secure: are named, never shown", () => {
        const stackFile = [
            "config:",
            "  authentik-sso:backup:",
            "    offsite:",
            "      repository: s3:s3.amazonaws.com/bucket",
            "      env:",
            "        AWS_ACCESS_KEY_ID: AKIA-plain-id",
            "        AWS_SECRET_ACCESS_KEY:",
            "          secure: v1:abc",
            "      password: a-repository-password",
            "  authentik-sso:authentik:",
            "    secretKey:",
            "      secure: v1:def",
        ].join("\n");
        expect(plainTextSecrets({ backup: { offsite: s3 }, authentik: { secretKey: "k".repeat(50) } }, stackFile, () => true)).toEqual([
            "authentik-sso:backup.offsite.env.AWS_ACCESS_KEY_ID",
            "authentik-sso:backup.offsite.password",
        ]);
    });

    test("a key Pulumi does not hold as a secret has every secret value under it named", () => {
        expect(plainTextSecrets({ backup: { offsite: s3 }, authentik: { secretKey: "k".repeat(50) } }, undefined, (key) => key !== "backup")).toEqual([
            "authentik-sso:backup.offsite.env.AWS_ACCESS_KEY_ID",
            "authentik-sso:backup.offsite.env.AWS_SECRET_ACCESS_KEY",
            "authentik-sso:backup.offsite.password",
        ]);
        expect(plainTextSecrets({ backup: { offsite: s3 } }, undefined, () => undefined)).toEqual([]);
    });

    test("the program stops before any resource, naming the keys and the command that fixes them, without the values", async () => {
        const config = withOverrides(local, { backup: { ...localBackup, offsite: s3 } });
        await expect(runProgram({ stack: "local", config })).rejects.toThrow(ConfigError);
        expect(lastRun.resources).toEqual([]);
        let message = "";
        try {
            await runProgram({ stack: "local", config });
        } catch (caught) {
            message = (caught as Error).message;
        }
        expect(message).toContain("authentik-sso:backup.offsite.env.AWS_SECRET_ACCESS_KEY: is plain text in the stack; it must be a secret: pulumi config set --secret --path");
        for (const value of [s3.env.AWS_ACCESS_KEY_ID, s3.env.AWS_SECRET_ACCESS_KEY, s3.password]) {
            expect(message).not.toContain(value);
        }
        // The same settings held as a secret: the program runs.
        const secret = withOverrides(local, { backup: { ...localBackup, offsite: s3 } }, { keys: ["authentik-sso:backup"] });
        await expect(runProgram({ stack: "local", config: secret })).resolves.toBeDefined();
    });
});

describe("problem lines, whole", () => {
    const cloudflare = { accountId: "0123456789abcdef0123456789abcdef", zone: "example.com" };
    const proxyAt = (externalHost: string) => ({ applications: [{ slug: "b", name: "B", proxy: { externalHost, internalHost: "http://10.0.0.5:8083" } }] });

    test("an unknown key names what is allowed at its level", () => {
        expect(problemsOf({ dokcer: {} })).toEqual(["authentik-sso:dokcer: is not a known setting (allowed here: domain, authentik, docker, smtp, protect, proxmox, cloudflare, backup, upgrades, kubernetes, identity, sshPrivateKey)"]);
        expect(problemsOf({ docker: { memroyMb: 2048 } })).toEqual(["authentik-sso:docker.memroyMb: is not a known setting (allowed here: see the README's config reference)"]);
    });

    test("what the Kubernetes target replaces is refused beside it, each with what replaces it", () => {
        const k8s = loadStackFile("k8s").config;
        const problems = problemsOf({ ...minimal, cloudflare: k8s["authentik-sso:cloudflare"], kubernetes: k8s["authentik-sso:kubernetes"], docker: { host: "ssh://u@h", publish: "127.0.0.1:9000" }, backup: { offsite: { repository: "b2:bucket:authentik" } } });
        expect(problems).toEqual(
            expect.arrayContaining([
                'authentik-sso:docker.host: got "ssh://u@h"; must not be set with kubernetes: the Kubernetes target is instead of a Docker host',
                'authentik-sso:docker.publish: got "127.0.0.1:9000"; must not be set with kubernetes: the Kubernetes target is instead of a published Docker port',
                'authentik-sso:backup.offsite: got {"repository":"b2:bucket:authentik"}; must not be set with kubernetes: the Kubernetes target is instead of restic off-site copies of the Docker target (use kubernetes.postgres.backup)',
            ]),
        );
    });

    test("a proxy application's host: not authentik's own, the zone's apex is fine, one level below the zone at most", () => {
        expect(problemsOf({ identity: proxyAt("https://auth.example.com") })).toEqual([
            'authentik-sso:identity.applications.0.proxy.externalHost: got "https://auth.example.com"; is authentik\'s own hostname (auth.example.com); give the application a name of its own',
        ]);
        expect(problemsOf({ cloudflare, identity: proxyAt("https://example.com") })).toEqual([]);
        expect(problemsOf({ cloudflare, identity: proxyAt("https://books.sso.example.com") })).toEqual([
            'authentik-sso:identity.applications.0.proxy.externalHost: got "https://books.sso.example.com"; is more than one level below the zone example.com: Cloudflare\'s free certificate covers example.com and *.example.com only, so browsers would refuse the connection; use a name such as books.example.com',
        ]);
    });

    test("a rule about a key the user left out still names it (its parent is absent, not an error)", () => {
        expect(problemsOf({ cloudflare: { ...cloudflare, connectors: 4 } })).toEqual([
            "authentik-sso:docker.memoryMb: got 1600; is smaller than the containers' memory limits together (1728 MB: postgresql 256, server 704, worker 448, cloudflared-1 64, cloudflared-2 64, cloudflared-3 64, cloudflared-4 64, backup 64); raise docker.memoryMb or lower docker.memoryLimitsMb",
        ]);
    });

    test("echoed values: secrets inside lists and credentials hidden, null shown as null, zod's own words without its prefix", () => {
        expect(problemsOf({ smtp: [{ host: "smtp.example.com", password: "hunter2" }] })).toEqual(['authentik-sso:smtp: got [{"host":"smtp.example.com","password":"[secret]"}]; expected object, received array']);
        expect(problemsOf({ smtp: null })).toEqual(["authentik-sso:smtp: got null; expected object, received null"]);
        expect(problemsOf({ backup: { offsite: { repository: "s3:s3.amazonaws.com/bucket", env: { AWS_SECRET_ACCESS_KEY: 12345678 } } } })).toEqual(["authentik-sso:backup.offsite.env.AWS_SECRET_ACCESS_KEY: got [secret]; expected string, received number"]);
        expect(problemsOf({ protect: { database: "yes" } })).toEqual(['authentik-sso:protect.database: got "yes"; expected boolean, received string']);
        expect(problemsOf({ backup: { offsite: { repository: "ftp://me@example.com:hunter2@nas.lan/x" } } })).toEqual([
            'authentik-sso:backup.offsite.repository: got "ftp://[secret]@nas.lan/x"; carries a password in the URL; give it in backup.offsite.env (RESTIC_REST_PASSWORD for the REST server), as a secret',
        ]);
    });

    test("ConfigError: one line per problem, and marked for Pulumi to print without a stack trace", () => {
        const error = new ConfigError(["a: x", "b: y"]);
        expect({ message: error.message, name: error.name, runError: error.__pulumiRunError }).toEqual({ message: "Invalid configuration for stack (nothing was created):\n  - a: x\n  - b: y", name: "ConfigError", runError: true });
    });

    test("plain-text secrets: every kind, sorted; empty values and a malformed secure: in the stack file", () => {
        expect(
            plainTextSecrets({ backup: { offsite: { password: "p" } }, authentik: { secretKey: "k" }, kubernetes: { postgres: { backup: { credentials: { secretAccessKey: "s", accessKeyId: "a" } } } } }, undefined, () => false),
        ).toEqual(["authentik-sso:authentik.secretKey", "authentik-sso:backup.offsite.password", "authentik-sso:kubernetes.postgres.backup.credentials.accessKeyId", "authentik-sso:kubernetes.postgres.backup.credentials.secretAccessKey"]);
        expect(plainTextSecrets({}, "config:\n  authentik-sso:backup:\n    offsite:\n      env:\n      password:\n", () => true)).toEqual(["authentik-sso:backup.offsite.password"]);
        expect(plainTextSecrets({}, "config:\n  authentik-sso:authentik:\n    secretKey:\n      secure: 5\n", () => true)).toEqual(["authentik-sso:authentik.secretKey"]);
    });
});

describe("each key at its edges, with the whole problem line", () => {
    const hex = (length: number) => "ab".repeat(length / 2);
    const image = (settings: Record<string, unknown>) => ({ proxmox: { ...validProxmox, image: settings } });
    const withOffsite = (settings: Record<string, unknown>) => ({ backup: { offsite: { repository: "s3:s3.amazonaws.com/bucket", ...settings } } });
    const key = "authentik-sso:";
    const dns = "must be a lower-case DNS name such as auth.example.com";
    const imageRule = "must be an image reference with an explicit tag, e.g. docker.io/library/postgres:16.14-alpine";
    const hostRule = "must be unix:///path, ssh://user@host or tcp://host:port";
    const publishRule = "must hold a valid IPv4 address and a port from 1 to 65535";
    const prefixRule = "must start with a letter and hold at most 24 lower-case letters, digits or dashes";
    const credentialRule = "must be a backend credential restic reads: AWS_*, B2_*, AZURE_*, OS_*, ST_*, RESTIC_REST_USERNAME or RESTIC_REST_PASSWORD (not RESTIC_PASSWORD: that is backup.offsite.password)";
    test.each<[string, Record<string, unknown>, string[]]>([
        ["the default images, given explicitly", { docker: { images: { ...DEFAULT_IMAGES } } }, []],
        ["a domain with a scheme", { domain: "https://auth.example.com" }, [`${key}domain: got "https://auth.example.com"; ${dns}`]],
        ["a domain of 259 characters", { domain: `${("a".repeat(63) + ".").repeat(4)}com` }, [`${key}domain: got "${("a".repeat(63) + ".").repeat(4)}com"; ${dns}`]],
        ["an image with an upper-case registry", { docker: { images: { redis: "Docker.io/library/redis:7.4.11-alpine" } } }, [`${key}docker.images.redis: got "Docker.io/library/redis:7.4.11-alpine"; ${imageRule}`]],
        ["an image with a short digest", { docker: { images: { redis: "docker.io/library/redis:7.4.11-alpine@sha256:1234" } } }, [`${key}docker.images.redis: got "docker.io/library/redis:7.4.11-alpine@sha256:1234"; ${imageRule}`]],
        ["an image with a full digest", { docker: { images: { redis: `docker.io/library/redis:7.4.11-alpine@sha256:${hex(64)}` } } }, []],
        ["a public subnet", { docker: { subnet: "8.8.8.0/24" } }, [`${key}docker.subnet: got "8.8.8.0/24"; must be a subnet in CIDR form inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, with a prefix from /16 to /28 and no host bits set`]],
        ["an admin network without a prefix", { proxmox: { ...validProxmox, adminCidr: "192.168.10.0" } }, [`${key}proxmox.adminCidr: got "192.168.10.0"; must be an IPv4 network in CIDR form with no host bits set, e.g. 192.168.1.0/24`]],
        ["a gateway out of range", { proxmox: { ...validProxmox, gateway: "192.168.10.256" } }, [`${key}proxmox.gateway: got "192.168.10.256"; must be an IPv4 address`]],
        ["a version that is not a string", { authentik: { ...minimal.authentik, version: true } }, [`${key}authentik.version: got true; expected string, received boolean`]],
        ["a digest without its algorithm", { authentik: { ...minimal.authentik, digest: `@sha256:${hex(64)}` } }, [`${key}authentik.digest: got "@sha256:${hex(64)}"; must be an image digest, sha256: and 64 hex characters`]],
        ["a digest one character long", { authentik: { ...minimal.authentik, digest: `sha256:${hex(64)}0` } }, [`${key}authentik.digest: got "sha256:${hex(64)}0"; must be an image digest, sha256: and 64 hex characters`]],
        ["a secret key of 49 characters and blanks", { authentik: { ...minimal.authentik, secretKey: `${"k".repeat(49)}  ` } }, [`${key}authentik.secretKey: got [secret]; must be at least 50 characters (authentik's minimum)`]],
        ["an image repository with a scheme", { authentik: { ...minimal.authentik, image: "https://ghcr.io/goauthentik/server" } }, [`${key}authentik.image: got "https://ghcr.io/goauthentik/server"; must be an image repository without a tag`]],
        ["a docker host of each kind", { docker: { host: "unix:///var/run/docker.sock" } }, []],
        ["a tcp docker host", { docker: { host: "tcp://docker.lan:2375" } }, []],
        ["a docker host as an assignment", { docker: { host: "DOCKER_HOST=ssh://deploy@docker.lan" } }, [`${key}docker.host: got "DOCKER_HOST=ssh://deploy@docker.lan"; ${hostRule}`]],
        ["a docker host with a path", { docker: { host: "ssh://deploy@docker.lan/docker" } }, [`${key}docker.host: got "ssh://deploy@docker.lan/docker"; ${hostRule}`]],
        ["a published port twice", { docker: { publish: "127.0.0.1:9000:9000" } }, [`${key}docker.publish: got "127.0.0.1:9000:9000"; must be ip:port, e.g. 127.0.0.1:9000`]],
        ["port 0", { docker: { publish: "127.0.0.1:0" } }, [`${key}docker.publish: got "127.0.0.1:0"; ${publishRule}`]],
        ["an address out of range", { docker: { publish: "256.0.0.1:9000" } }, [`${key}docker.publish: got "256.0.0.1:9000"; ${publishRule}`]],
        ["ports 1 and 65535", { docker: { publish: "192.168.1.50:1" } }, []],
        ["port 65535", { docker: { publish: "127.0.0.1:65535" } }, []],
        ["a name prefix starting with a digit", { docker: { namePrefix: "1authentik" } }, [`${key}docker.namePrefix: got "1authentik"; ${prefixRule}`]],
        ["a name prefix of 25 characters", { docker: { namePrefix: "a".repeat(25) } }, [`${key}docker.namePrefix: got "${"a".repeat(25)}"; ${prefixRule}`]],
        ["a name prefix of 24 characters", { docker: { namePrefix: "a".repeat(24) } }, []],
        ["an SMTP time-out of 30 s", { smtp: { host: "smtp.example.com", from: "a@example.com", timeout: 30 } }, []],
        ["an image over http", image({ url: "http://example.com/d.qcow2", checksum: hex(128) }), [`${key}proxmox.image.url: got "http://example.com/d.qcow2"; Invalid URL`]],
        ["a sha512 image of its own", image({ url: "https://example.com/i/debian.raw", checksum: hex(128) }), []],
        ["a sha256 image of its own", image({ url: "https://example.com/i/ubuntu.img", checksumAlgorithm: "sha256", checksum: hex(64) }), []],
        ["a checksum with a non-hex first character", image({ url: "https://example.com/d.qcow2", checksum: `g${"a".repeat(127)}` }), [`${key}proxmox.image.checksum: got "g${"a".repeat(127)}"; must be a hex sha256 or sha512 digest`]],
        ["a checksum with a non-hex last character", image({ url: "https://example.com/d.qcow2", checksum: `${"a".repeat(127)}g` }), [`${key}proxmox.image.checksum: got "${"a".repeat(127)}g"; must be a hex sha256 or sha512 digest`]],
        ["a sha256 checksum of sha512's length", image({ url: "https://example.com/d.qcow2", checksumAlgorithm: "sha256", checksum: "a".repeat(128) }), [`${key}proxmox.image.checksum: got "${"a".repeat(128)}"; must be a sha256 digest (64 hex characters)`]],
        ["a file name that climbs out", image({ fileName: "../debian.qcow2" }), [`${key}proxmox.image.fileName: got "../debian.qcow2"; must be a file name ending in .qcow2, .raw or .vmdk`]],
        ["a file name with a suffix after the type", image({ fileName: "debian.qcow2.part" }), [`${key}proxmox.image.fileName: got "debian.qcow2.part"; must be a file name ending in .qcow2, .raw or .vmdk`]],
        ["a file name of its own", image({ fileName: "debian-13.qcow2" }), []],
        ["no DNS server", { proxmox: { ...validProxmox, dns: [] } }, [`${key}proxmox.dns: got []; Too small: expected array to have >=1 items`]],
        ["explicit DNS, CPU type and ready time-out", { proxmox: { ...validProxmox, dns: ["1.1.1.1", "9.9.9.9"], cpuType: "host", readyTimeoutSeconds: 600 } }, []],
        ["a bridge with a space", { proxmox: { ...validProxmox, bridge: "vmbr 0" } }, [`${key}proxmox.bridge: got "vmbr 0"; must be a bridge name such as vmbr0`]],
        ["an SSH user with a space", { proxmox: { ...validProxmox, sshUser: "deploy user" } }, [`${key}proxmox.sshUser: got "deploy user"; must be a Linux user name`]],
        ["a tag with a space", { proxmox: { ...validProxmox, tags: ["prod env"] } }, [`${key}proxmox.tags.0: got "prod env"; must be lower-case letters, digits, _ or -`]],
        ["an ECDSA key without a comment", { proxmox: { ...validProxmox, sshPublicKeys: ["ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY="] } }, []],
        ["two keys in one entry", { proxmox: { ...validProxmox, sshPublicKeys: ["ssh-ed25519 AAAAkey1 a\nssh-ed25519 AAAAkey2 b"] } }, [`${key}proxmox.sshPublicKeys.0: got ${JSON.stringify("ssh-ed25519 AAAAkey1 a\nssh-ed25519 AAAAkey2 b")}; must be an OpenSSH public key line`]],
        ["an account id of 33 characters", { cloudflare: { accountId: "0123456789abcdef0123456789abcdef0", zone: "example.com" } }, [`${key}cloudflare.accountId: got "0123456789abcdef0123456789abcdef0"; must be the 32-character hex account id`]],
        ["a credential name with a prefix", withOffsite({ env: { MY_AWS_ACCESS_KEY_ID: "x" } }), [`${key}backup.offsite.env.MY_AWS_ACCESS_KEY_ID: the name "MY_AWS_ACCESS_KEY_ID" ${credentialRule}`]],
        ["a credential name with a suffix", withOffsite({ env: { RESTIC_REST_USERNAME_FILE: "x" } }), [`${key}backup.offsite.env.RESTIC_REST_USERNAME_FILE: the name "RESTIC_REST_USERNAME_FILE" ${credentialRule}`]],
        ["a repository path with a space", withOffsite({ repository: "/mnt/my nas/restic" }), [`${key}backup.offsite.repository: got "/mnt/my nas/restic"; must be an absolute path of letters, digits, ., _, - and /, without ..`]],
        ["a repository on Google Cloud Storage", withOffsite({ repository: "gs:bucket:/authentik" }), [`${key}backup.offsite.repository: got "gs:bucket:/authentik"; has the scheme gs:, which the backup container cannot use (no credentials file there); use rest: (restic's REST server), s3: or an absolute path`]],
        ["a relative repository", withOffsite({ repository: "backups/restic" }), [`${key}backup.offsite.repository: got "backups/restic"; is a relative path or has no scheme; use an absolute path or one of s3:, b2:, rest:, azure:`]],
        ["an upper-case scheme", withOffsite({ repository: "S3:s3.amazonaws.com/bucket" }), [`${key}backup.offsite.repository: got "S3:s3.amazonaws.com/bucket"; is a relative path or has no scheme; use an absolute path or one of s3:, b2:, rest:, azure:`]],
        ["no weekly or monthly snapshot kept", withOffsite({ keep: { weekly: 0, monthly: 0 } }), [`${key}backup.offsite.keep.weekly: got 0; Too small: expected number to be >=1`, `${key}backup.offsite.keep.monthly: got 0; Too small: expected number to be >=1`]],
        ["the default keep, given explicitly", withOffsite({ keep: { daily: 7, weekly: 4, monthly: 6 } }), []],
        ["a weekday abbreviated", withOffsite({ checkDay: "sun" }), [`${key}backup.offsite.checkDay: got "sun"; Invalid option: expected one of "monday"|"tuesday"|"wednesday"|"thursday"|"friday"|"saturday"|"sunday"`]],
        ["a relative backup folder", { backup: { hostPath: "backups/authentik" } }, [`${key}backup.hostPath: got "backups/authentik"; must be an absolute path`]],
        ["a backup folder with a space", { backup: { hostPath: "/srv/my backups/authentik" } }, [`${key}backup.hostPath: got "/srv/my backups/authentik"; must be an absolute path`]],
        ["a backup folder that climbs out", { backup: { hostPath: "/var/backups/../etc" } }, [`${key}backup.hostPath: got "/var/backups/../etc"; must not contain ..`]],
        ["secret fields of every name are hidden", { protect: { vm: { token: "t1", apiToken: "t2", privateKey: "k1", clientSecret: "c1", secret: "s1" } } }, [`${key}protect.vm: got {"token":"[secret]","apiToken":"[secret]","privateKey":"[secret]","clientSecret":"[secret]","secret":"[secret]"}; expected boolean, received object`]],
        ["an SSH private key that is no string", { sshPrivateKey: 12345 }, [`${key}sshPrivateKey: got [secret]; expected string, received number`]],
    ])("%s", (_rule, settings, expected) => {
        expect(problemsOf(settings)).toEqual(expected);
    });

    test("defaults of smtp and proxmox, whole", () => {
        expect(parseStackConfig({ ...minimal, smtp: { host: "smtp.example.com", from: "a@example.com" } }).smtp).toEqual({ host: "smtp.example.com", from: "a@example.com", port: 587, timeout: 10, useTls: true, useSsl: false });
        expect(parseStackConfig({ ...minimal, proxmox: validProxmox }).proxmox).toEqual({
            ...validProxmox,
            cores: 2,
            memoryMb: 2048,
            diskGb: 20,
            datastore: "local-lvm",
            imageDatastore: "local",
            snippetsDatastore: "local",
            bridge: "vmbr0",
            dns: ["1.1.1.1", "9.9.9.9"],
            sshUser: "authentik",
            cpuType: "x86-64-v2-AES",
            onBoot: true,
            tags: ["authentik"],
            readyTimeoutSeconds: 900,
            image: { distro: "debian", checksumAlgorithm: "sha512" },
        });
    });

    test("an image of one's own: its file name on the datastore", () => {
        const sha256 = { checksumAlgorithm: "sha256" as const, checksum: hex(64) };
        expect(cloudImageOf({ distro: "ubuntu", url: "https://example.com/i/ubuntu-24.04-server.img", ...sha256 })).toEqual({ url: "https://example.com/i/ubuntu-24.04-server.img", ...sha256, fileName: "ubuntu-24.04-server.qcow2" });
        expect(cloudImageOf({ distro: "debian", url: "https://example.com/i/debian.raw", ...sha256 }).fileName).toBe("debian.raw");
        expect(cloudImageOf({ distro: "debian", url: "https://example.com/i/debian.raw.xz", ...sha256 }).fileName).toBe("debian.raw.qcow2");
        expect(cloudImageOf({ distro: "debian", url: "https://example.com/i/debian.raw", ...sha256, fileName: "given.vmdk" }).fileName).toBe("given.vmdk");
        expect(cloudImageOf({ distro: "ubuntu", checksumAlgorithm: "sha512" })).toEqual({ ...CLOUD_IMAGES.ubuntu });
    });
});

describe("what the program reads beside the config", () => {
    const s3 = { repository: "s3:s3.amazonaws.com/bucket", env: { AWS_ACCESS_KEY_ID: "AKIA-plain-id", AWS_SECRET_ACCESS_KEY: "plain-secret-access-key" }, password: "a-repository-password" };
    const problemsOfRun = async (config: Parameters<typeof withOverrides>[0], cwd?: string): Promise<readonly string[]> => {
        const previous = process.cwd();
        if (cwd !== undefined) {
            process.chdir(cwd);
        }
        try {
            await runProgram({ stack: "local", config });
            return [];
        } catch (error) {
            return error instanceof ConfigError ? error.problems : [String(error)];
        } finally {
            process.chdir(previous);
        }
    };

    test("beside its stack file, a key held as a secret is still refused for the values under it the file has in plain text", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-file-"));
        fs.writeFileSync(
            path.join(dir, "Pulumi.local.yaml"),
            ["config:", "  authentik-sso:backup:", "    offsite:", "      repository: s3:s3.amazonaws.com/bucket", "      env:", "        AWS_ACCESS_KEY_ID:", "          secure: v1:a", "        AWS_SECRET_ACCESS_KEY:", "          secure: v1:b", "      password: a-repository-password", ""].join("\n"),
        );
        const held = withOverrides(local, { backup: { ...localBackup, offsite: s3 } }, { keys: ["authentik-sso:backup"] });
        expect(await problemsOfRun(held, dir)).toEqual([expect.stringMatching(/^authentik-sso:backup\.offsite\.password: is plain text in the stack; it must be a secret/)]);
        // Without the file (the program elsewhere), Pulumi's own flag for the key is all there is: it is a secret.
        expect(await problemsOfRun(held, fs.mkdtempSync(path.join(os.tmpdir(), "no-stack-file-")))).toEqual([]);
    });

    test("an unknown key given as plain text is named; a bad value and plain secrets are reported together", async () => {
        expect(await problemsOfRun(withOverrides(local, { domian: "auth.example.com" }))).toEqual([expect.stringMatching(/^authentik-sso:domian: .*is not a known setting/)]);
        const both = await problemsOfRun(withOverrides(local, { domain: "BAD", backup: { ...localBackup, offsite: s3 } }));
        expect(both.filter((line) => line.startsWith("authentik-sso:domain:"))).toHaveLength(1);
        expect(both.filter((line) => line.includes("is plain text in the stack"))).toHaveLength(3);
    });

    test("the user's blueprints are read only for a validated version", () => {
        const config = parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" }, identity: { blueprints: "blueprints" } });
        expect(() => loadUserBlueprints({ ...config, authentik: { ...config.authentik, version: "latest" } })).toThrow("authentik.version latest was not validated");
        expect(() => loadUserBlueprints({ ...config, authentik: { ...config.authentik, version: "2024.12.1" } })).toThrow("authentik.version 2024.12.1 was not validated");
    });
});

describe("warnings for settings that work but may collide", () => {
    const withSubnet = (subnet: string) => parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" }, docker: { subnet } });

    test.each(["172.17.5.0/24", "172.18.0.0/16", "172.28.53.0/24", "172.31.255.0/24", "192.168.0.0/20", "192.168.144.0/24"])(
        "%s lies in Docker's default address pools",
        (subnet) => {
            const [warning] = configWarnings(withSubnet(subnet));
            expect(warning).toContain(`authentik-sso:docker.subnet: ${subnet} lies in Docker's default address pool`);
            expect(warning).toContain("10.213.53.0/24 lies outside the pools");
        },
    );

    test.each(["10.213.53.0/24", "172.16.0.0/24", "172.16.255.0/24", "10.0.0.0/16"])("%s does not", (subnet) => {
        expect(configWarnings(withSubnet(subnet))).toEqual([]);
    });

    test("a path repository is off-site only when it is a mount of other storage", () => {
        const withRepository = (repository: string) =>
            configWarnings(parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" }, backup: { offsite: { repository } } }));
        expect(withRepository("/mnt/nas/restic")).toEqual([expect.stringContaining("authentik-sso:backup.offsite.repository: /mnt/nas/restic is a path on the Docker host")]);
        expect(withRepository("rest:https://nas.lan:8000/authentik")).toEqual([]);
    });
});
