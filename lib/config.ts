/**
 * The stack's configuration contract: one zod schema per config key, defaults resolved in one place, and
 * cross-key rules checked together so that a bad stack reports every problem at once, before any resource exists.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { IdentityConfig, externalHostname, identitySchema } from "./identityConfig";
import { kubernetesSchema } from "./kubernetes/config";
import { Ipv4Cidr, cidrContains, cidrsOverlap, isNetworkCidr, isPrivateCidr, parseCidr, parseIpv4 } from "./ipv4";
import { postgresMajorVersion } from "./postgresImage";
import { AuthentikFeatures, SUPPORTED_RELEASE_LINES, featuresOf, isSupportedLine, parseAuthentikVersion } from "./versions";

export const PROJECT = "authentik-sso";

/** What a new stack runs: the newest patch of the newest supported line (kept current by Renovate, renovate.json). */
export const DEFAULT_AUTHENTIK_VERSION = "2026.8.3";

/** The images the stack runs besides authentik's, pinned (kept current by Renovate, renovate.json). */
export const DEFAULT_IMAGES = {
    postgresql: "docker.io/library/postgres:16.14-alpine",
    redis: "docker.io/library/redis:7.4.11-alpine",
    cloudflared: "docker.io/cloudflare/cloudflared:2026.8.3",
    restic: "docker.io/restic/restic:0.18.1",
} as const;

/**
 * Memory the guest OS and Docker itself need on the VM, on top of the containers' limits: Debian 13's generic cloud
 * image idles near 150 MB, dockerd, containerd and one shim per container add about 150 MB; the rest is page cache.
 */
export const VM_OS_RESERVE_MB = 448;

/** authentik's documented minimum host size. */
export const MIN_VM_CORES = 2;
export const MIN_VM_MEMORY_MB = 2048;

/**
 * Config fields whose values are never echoed back in an error message, whatever rule fails and wherever the field
 * sits. Matched against every segment of an issue's path and every key inside an echoed object.
 */
const SECRET_FIELD_NAMES = new Set(["password", "sshprivatekey", "privatekey", "token", "apitoken", "clientsecret", "secret", "secretkey"]);

const HOSTNAME_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IMAGE_PATTERN = /^[a-z0-9][a-z0-9._\-/:]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[a-f0-9]{64})?$/;
const CLOUDFLARE_ID_PATTERN = /^[a-f0-9]{32}$/;
const TIME_OF_DAY_PATTERN = /^([01]\d|2[0-3]):[0-5]\d$/;

const hostname = z
    .string()
    .regex(HOSTNAME_PATTERN, "must be a lower-case DNS name such as auth.example.com");

/** An image reference pinned to an explicit tag (a bare name would mean a moving "latest"). */
const pinnedImage = z
    .string()
    .regex(IMAGE_PATTERN, "must be an image reference with an explicit tag, e.g. docker.io/library/postgres:16.14-alpine")
    .refine((image) => !image.endsWith(":latest"), "must be pinned to a version, not :latest");

/** Where PostgreSQL keeps its data, and whether a new image needs a dump and restore, follow the tag's major version. */
const postgresImage = pinnedImage.refine(
    (image) => postgresMajorVersion(image) !== undefined,
    "must have a tag that starts with PostgreSQL's major version, e.g. 16.14-alpine or 17.6 (the data directory's path and the major-upgrade guard are read from it)",
);

const privateCidr = (what: string) =>
    z.string().superRefine((text, ctx) => {
        const cidr = parseCidr(text);
        if (!cidr || !isNetworkCidr(cidr) || !isPrivateCidr(cidr) || cidr.prefix < 16 || cidr.prefix > 28) {
            ctx.addIssue({
                code: "custom",
                message: `must be a ${what} in CIDR form inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, with a prefix from /16 to /28 and no host bits set`,
            });
        }
    });

const anyCidr = z.string().refine((text) => {
    const cidr = parseCidr(text);
    return cidr !== undefined && isNetworkCidr(cidr);
}, "must be an IPv4 network in CIDR form with no host bits set, e.g. 192.168.1.0/24");

const ipv4Address = z.string().refine((text) => parseIpv4(text) !== undefined, "must be an IPv4 address");

const memoryMb = (min: number, max: number) => z.number().int().min(min).max(max);

const authentikSchema = z
    .strictObject({
        /** Exact authentik image tag. */
        version: z
            .string({
                // YAML reads an unquoted 2025.10 as the number 2025.1: say so instead of "expected string".
                error: (issue) =>
                    typeof issue.input === "number"
                        ? `must be a string: YAML read an unquoted version as the number ${issue.input}; quote it in the stack file, e.g. version: "2025.10.4"`
                        : undefined,
            })
            .default(DEFAULT_AUTHENTIK_VERSION),
        /** sha256 digest of the server image of that version; then the image is pulled by digest. */
        digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, "must be an image digest, sha256: and 64 hex characters").optional(),
        /** E-mail of the bootstrap admin (akadmin). */
        bootstrapEmail: z.email("must be an e-mail address"),
        /**
         * Only to rebuild a stack whose state is lost from its off-site backup: the AUTHENTIK_SECRET_KEY the backup
         * holds. Without it the stack generates one. Keep it a secret.
         */
        secretKey: z.string().trim().min(50, "must be at least 50 characters (authentik's minimum)").optional(),
        /** Image repository for server and worker (a mirror may be used). */
        image: z
            .string()
            .regex(/^[a-z0-9][a-z0-9._\-/]*$/, "must be an image repository without a tag")
            .default("ghcr.io/goauthentik/server"),
        /**
         * Mount the Docker socket into the worker so authentik can deploy outposts itself. This gives the worker
         * root on the Docker host; off by default.
         */
        managedOutposts: z.boolean().default(false),
        /** Send error reports to authentik's Sentry. */
        errorReporting: z.boolean().default(false),
        /** authentik's log level. */
        logLevel: z.enum(["debug", "info", "warning", "error"]).default("info"),
    })
    .superRefine((value, ctx) => {
        const version = parseAuthentikVersion(value.version);
        if (!version) {
            ctx.addIssue({ code: "custom", path: ["version"], message: "must be an exact release such as 2025.6.3" });
        } else if (!isSupportedLine(version.line)) {
            ctx.addIssue({
                code: "custom",
                path: ["version"],
                message: `release line ${version.line} is not supported; supported lines are ${SUPPORTED_RELEASE_LINES.join(", ")}`,
            });
        }
    });

const memoryLimitsSchema = z
    .strictObject({
        postgresql: memoryMb(128, 65536).default(256),
        redis: memoryMb(32, 65536).default(64),
        /** Default and minimum depend on the authentik release line (featuresOf(version).memory). */
        server: memoryMb(256, 65536).optional(),
        worker: memoryMb(256, 65536).optional(),
        cloudflared: memoryMb(32, 4096).default(64),
        /** Default 64, or 128 with backup.offsite (restic runs in the backup container). */
        backup: memoryMb(32, 4096).optional(),
    })
    .prefault({});

/** The backup container's memory: pg_dump and tar, and with off-site backups restic too (GOMEMLIMIT below it). */
export const BACKUP_MEMORY_MB = { local: 64, offsite: 128 } as const;

/**
 * Docker's default address pools (172.17.0.0/16 to 172.31.0.0/16, then 192.168.0.0/16 in /20s): networks created
 * without a subnet take theirs from here, so a fixed subnet inside them collides on a busy host.
 */
export const DOCKER_DEFAULT_ADDRESS_POOLS = ["172.17.0.0/16", "172.18.0.0/15", "172.20.0.0/14", "172.24.0.0/13", "192.168.0.0/16"] as const;

export const DEFAULT_DOCKER_SUBNET = "10.213.53.0/24";

const dockerSchema = z
    .strictObject({
        /**
         * Docker daemon: unix socket, ssh://user@host or tcp://host:port; default the local socket. Not allowed
         * with a proxmox VM, whose Docker daemon is used instead.
         */
        host: z
            .string()
            .regex(/^(unix:\/\/\/\S+|ssh:\/\/[^\s@]+@[^\s/]+|tcp:\/\/[^\s/]+:\d+)$/, "must be unix:///path, ssh://user@host or tcp://host:port")
            .optional(),
        /** Extra ssh options for ssh:// hosts. */
        sshOpts: z.array(z.string()).default([]),
        /** Subnet of the authentik bridge network; authentik trusts forwarded headers only from here and loopback. */
        subnet: privateCidr("subnet").default(DEFAULT_DOCKER_SUBNET),
        /** The memory all containers may use together, in MB. */
        memoryMb: memoryMb(512, 1048576).default(1600),
        /** Per-container memory limits in MB. */
        memoryLimitsMb: memoryLimitsSchema,
        /** Publish the authentik server's HTTP port on the Docker host, as "ip:port" (e.g. 127.0.0.1:9000). */
        publish: z
            .string()
            .regex(/^(\d{1,3}\.){3}\d{1,3}:\d{1,5}$/, "must be ip:port, e.g. 127.0.0.1:9000")
            .refine((value) => {
                const [ip, port] = value.split(":") as [string, string];
                return parseIpv4(ip) !== undefined && Number(port) >= 1 && Number(port) <= 65535;
            }, "must hold a valid IPv4 address and a port from 1 to 65535")
            .optional(),
        /** Prefix of container, network and volume names on the Docker host. */
        namePrefix: z
            .string()
            .regex(/^[a-z][a-z0-9-]{0,23}$/, "must start with a letter and hold at most 24 lower-case letters, digits or dashes")
            .default("authentik"),
        images: z
            .strictObject({
                postgresql: postgresImage.default(DEFAULT_IMAGES.postgresql),
                redis: pinnedImage.default(DEFAULT_IMAGES.redis),
                cloudflared: pinnedImage.default(DEFAULT_IMAGES.cloudflared),
                /** Off-site backups take the restic binary from this image (backup.offsite). */
                restic: pinnedImage.default(DEFAULT_IMAGES.restic),
            })
            .prefault({}),
    })
    .prefault({});

const smtpSchema = z
    .strictObject({
        host: hostname,
        port: z.number().int().min(1).max(65535).default(587),
        username: z.string().min(1).optional(),
        /** Keep it a secret: `pulumi config set --secret --path authentik-sso:smtp.password`. */
        password: z.string().min(1).optional(),
        from: z.string().min(3),
        /** Seconds. */
        timeout: z.number().int().min(1).max(300).default(10),
        useTls: z.boolean().default(true),
        useSsl: z.boolean().default(false),
    })
    .superRefine((value, ctx) => {
        if (value.useTls && value.useSsl) {
            ctx.addIssue({ code: "custom", path: ["useSsl"], message: "useTls (STARTTLS) and useSsl (implicit TLS) exclude each other: set one of them" });
        }
        if ((value.username === undefined) !== (value.password === undefined)) {
            ctx.addIssue({ code: "custom", path: ["password"], message: "username and password must be set together" });
        }
    });

const protectSchema = z
    .strictObject({
        /** Protect the VM from deletion and replacement. */
        vm: z.boolean().default(false),
        /** Protect the PostgreSQL volume (and the media/data volume) from deletion and replacement. */
        database: z.boolean().default(false),
        /** Protect the generated AUTHENTIK_SECRET_KEY from deletion and replacement. */
        secretKey: z.boolean().default(false),
    })
    .prefault({});

/**
 * The generic cloud images the project knows, each a dated build with the checksum its publisher lists (Debian's
 * SHA512SUMS, Ubuntu's SHA256SUMS next to the file): the same stack file always boots the same image, and Proxmox
 * refuses a download that does not match. A moving `latest`/`current` URL would not: its file changes under the
 * checksum and the name.
 */
export const CLOUD_IMAGES = {
    // Debian 13 (trixie) generic cloud image, build 20261001-2618.
    debian: {
        url: "https://cloud.debian.org/images/cloud/trixie/20261001-2618/debian-13-genericcloud-amd64-20261001-2618.qcow2",
        checksum: "f46f0671a6e5bdec5291ab8972bae2f10e5408c2f64a74078f11efc2f06a436a9d0313ed50e0472542eeabf780e9f7c792ac0a314c6c20507fcd9fd81b468c3d",
        checksumAlgorithm: "sha512",
        fileName: "debian-13-genericcloud-amd64-20261001-2618.qcow2",
    },
    // Ubuntu 24.04 LTS (noble) server cloud image, release 20260926.
    ubuntu: {
        url: "https://cloud-images.ubuntu.com/releases/noble/release-20260926/ubuntu-24.04-server-cloudimg-amd64.img",
        checksum: "6a81c37564db9b1ee84e141922625e1d7c5b389b99bb3c572e0243607d5bb4d2",
        checksumAlgorithm: "sha256",
        // The file is qcow2 whatever its name says; the "import" content type accepts only these extensions.
        fileName: "ubuntu-24.04-server-cloudimg-amd64-20260926.qcow2",
    },
} as const;

const cloudImageSchema = z
    .strictObject({
        /** Which generic cloud image: Debian 13 or Ubuntu 24.04 LTS. Sets the default image and Docker's apt repository. */
        distro: z.enum(["debian", "ubuntu"]).default("debian"),
        /** Download URL of another build; then checksum is required. */
        url: z.url({ protocol: /^https$/ }).optional(),
        /** Published checksum of the file at url. */
        checksum: z.string().regex(/^[a-f0-9]{64}([a-f0-9]{64})?$/, "must be a hex sha256 or sha512 digest").optional(),
        checksumAlgorithm: z.enum(["sha256", "sha512"]).default("sha512"),
        /** File name on the datastore; must end in .qcow2, .raw or .vmdk for the "import" content type. */
        fileName: z
            .string()
            .regex(/^[A-Za-z0-9._-]+\.(qcow2|raw|vmdk)$/, "must be a file name ending in .qcow2, .raw or .vmdk")
            .optional(),
    })
    .superRefine((image, ctx) => {
        if (image.checksum !== undefined && image.checksum.length !== (image.checksumAlgorithm === "sha256" ? 64 : 128)) {
            ctx.addIssue({ code: "custom", path: ["checksum"], message: `must be a ${image.checksumAlgorithm} digest (${image.checksumAlgorithm === "sha256" ? 64 : 128} hex characters)` });
        }
        if (image.url !== undefined && image.checksum === undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["checksum"],
                message:
                    "is required with proxmox.image.url: give the checksum the image's publisher lists next to the file (SHA512SUMS or SHA256SUMS), so every VM of this stack boots the same verified image",
            });
        }
        if (image.checksum !== undefined && image.url === undefined) {
            ctx.addIssue({ code: "custom", path: ["checksum"], message: "belongs to proxmox.image.url; without url the built-in image and its own checksum are used" });
        }
    })
    .prefault({});

export type CloudImageConfig = z.output<typeof cloudImageSchema>;

export interface CloudImage {
    readonly url: string;
    readonly checksum: string;
    readonly checksumAlgorithm: "sha256" | "sha512";
    /** File name on the datastore, without the VM name in front. */
    readonly fileName: string;
}

/** The image a VM boots: the distro's pinned build, or the configured URL with its checksum. */
export function cloudImageOf(image: CloudImageConfig): CloudImage {
    const preset = CLOUD_IMAGES[image.distro];
    if (image.url === undefined || image.checksum === undefined) {
        return { url: preset.url, checksum: preset.checksum, checksumAlgorithm: preset.checksumAlgorithm, fileName: image.fileName ?? preset.fileName };
    }
    const lastSegment = new URL(image.url).pathname.split("/").pop() ?? "";
    const fileName = image.fileName ?? (/\.(qcow2|raw|vmdk)$/.test(lastSegment) ? lastSegment : `${lastSegment.replace(/\.[^.]*$/, "")}.qcow2`);
    return { url: image.url, checksum: image.checksum, checksumAlgorithm: image.checksumAlgorithm, fileName };
}

const proxmoxSchema = z.strictObject({
    /** Proxmox node that runs the VM. */
    node: z.string().min(1),
    vmId: z.number().int().min(100).max(999999999).optional(),
    /** VM name; defaults to authentik-<stack>. */
    name: hostname.optional(),
    cores: z.number().int().min(1).max(128).default(2),
    memoryMb: memoryMb(512, 1048576).default(2048),
    diskGb: z.number().int().min(8).max(65536).default(20),
    /** Datastore of the VM disk. */
    datastore: z.string().min(1).default("local-lvm"),
    /** Datastore for the downloaded cloud image (content type "import" must be allowed). */
    imageDatastore: z.string().min(1).default("local"),
    /** Datastore for the cloud-init snippet (content type "snippets" must be allowed). */
    snippetsDatastore: z.string().min(1).default("local"),
    bridge: z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be a bridge name such as vmbr0").default("vmbr0"),
    vlanId: z.number().int().min(1).max(4094).optional(),
    /** Static address of the VM with its prefix, e.g. 192.168.1.50/24. */
    ipv4: z.string().refine((text) => parseCidr(text) !== undefined, "must be an IPv4 address with a prefix, e.g. 192.168.1.50/24"),
    gateway: ipv4Address,
    dns: z.array(ipv4Address).min(1).default(["1.1.1.1", "9.9.9.9"]),
    /** Admin user created by cloud-init; the Docker provider connects as this user. */
    sshUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Linux user name").refine((name) => name !== "root", "must not be root").default("authentik"),
    sshPublicKeys: z
        .array(z.string().regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]+( .*)?$/, "must be an OpenSSH public key line"))
        .min(1, "needs at least one OpenSSH public key"),
    /** Network allowed to reach the VM's SSH port; nothing else is allowed in. */
    adminCidr: anyCidr,
    cpuType: z.string().min(1).default("x86-64-v2-AES"),
    onBoot: z.boolean().default(true),
    tags: z.array(z.string().regex(/^[a-z0-9_-]+$/, "must be lower-case letters, digits, _ or -")).default(["authentik"]),
    /** Seconds to wait for cloud-init and Docker on first boot. */
    readyTimeoutSeconds: z.number().int().min(60).max(3600).default(900),
    image: cloudImageSchema,
});

const cloudflareSchema = z.strictObject({
    accountId: z.string().regex(CLOUDFLARE_ID_PATTERN, "must be the 32-character hex account id"),
    /** The zone (apex domain) that holds the record, e.g. example.com. */
    zone: hostname,
    /** The zone's id; without it the zone is looked up by name. */
    zoneId: z.string().regex(CLOUDFLARE_ID_PATTERN, "must be the 32-character hex zone id").optional(),
    /** How many cloudflared connectors to run; two or more keep the tunnel up while one restarts. */
    connectors: z.number().int().min(1).max(4).default(1),
});

/**
 * Where restic keeps the off-site copies: the backends that work from the backup container, or an absolute path (a
 * NAS mount, tests). Not sftp: (restic runs an ssh binary the PostgreSQL image lacks, with a key and known_hosts
 * nothing provides) nor gs: (it reads a credentials file nothing uploads); restic's REST server or S3 instead.
 */
export const OFFSITE_SCHEMES = ["s3", "b2", "rest", "azure"] as const;

/** restic's backend credentials: S3 (AWS_*), B2, Azure, Swift (OS_*, ST_*), and the REST server's user and password. */
const OFFSITE_CREDENTIAL_NAME = /^((AWS|B2|AZURE|OS|ST)_[A-Z0-9_]+|RESTIC_REST_USERNAME|RESTIC_REST_PASSWORD)$/;

const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;

const offsiteSchema = z.strictObject({
    /** A restic repository: s3:…, b2:…, sftp:…, rest:…, azure:…, gs:…, or an absolute path on the Docker host. */
    repository: z.string().superRefine((text, ctx) => {
        if (text.startsWith("/")) {
            if (!/^\/[A-Za-z0-9._\-/]+$/.test(text) || text.split("/").includes("..")) {
                ctx.addIssue({ code: "custom", message: "must be an absolute path of letters, digits, ., _, - and /, without .." });
            }
            return;
        }
        const scheme = /^([a-z0-9]+):./.exec(text)?.[1];
        // The user part of a URL ends at the authority's last @ (a user may itself be an e-mail address).
        if (/\/\/[^/]*:[^/]*@/.test(text)) {
            ctx.addIssue({ code: "custom", message: "carries a password in the URL; give it in backup.offsite.env (RESTIC_REST_PASSWORD for the REST server), as a secret" });
        } else if (scheme === "sftp" || scheme === "gs") {
            ctx.addIssue({ code: "custom", message: `has the scheme ${scheme}:, which the backup container cannot use (${scheme === "sftp" ? "no ssh client, key or known_hosts there" : "no credentials file there"}); use rest: (restic's REST server), s3: or an absolute path` });
        } else if (scheme === undefined) {
            ctx.addIssue({ code: "custom", message: `is a relative path or has no scheme; use an absolute path or one of ${OFFSITE_SCHEMES.map((item) => `${item}:`).join(", ")}` });
        } else if (!(OFFSITE_SCHEMES as readonly string[]).includes(scheme)) {
            ctx.addIssue({ code: "custom", message: `has the scheme ${scheme}:, which is not one of ${OFFSITE_SCHEMES.map((item) => `${item}:`).join(", ")} (or an absolute path)` });
        }
    }),
    /** The backend's credentials as restic's environment variables (AWS_ACCESS_KEY_ID, B2_ACCOUNT_KEY, …), each a secret. */
    env: z
        .record(
            z.string().regex(OFFSITE_CREDENTIAL_NAME, "must be a backend credential restic reads: AWS_*, B2_*, AZURE_*, OS_*, ST_*, RESTIC_REST_USERNAME or RESTIC_REST_PASSWORD (not RESTIC_PASSWORD: that is backup.offsite.password)"),
            z.string().min(1),
        )
        .default({}),
    /** The repository's password; without it one is generated and kept in the state (output offsitePassword). */
    password: z.string().min(16, "must be at least 16 characters").optional(),
    /** How many daily, weekly and monthly snapshots `restic forget` keeps (pre-upgrade snapshots are always kept). */
    keep: z
        .strictObject({
            daily: z.number().int().min(1).max(3650).default(7),
            weekly: z.number().int().min(1).max(520).default(4),
            monthly: z.number().int().min(1).max(1200).default(6),
        })
        .prefault({}),
    /** The day of the weekly `restic check`, which also reads a fifth of the data (all of it over five weeks). */
    checkDay: z.enum(WEEKDAYS).default("sunday"),
});

export type OffsiteConfig = z.output<typeof offsiteSchema>;

const backupSchema = z
    .strictObject({
        /** Daily backups; the backup container still takes the dump before an authentik upgrade when false. */
        enabled: z.boolean().default(true),
        /** Daily time of the dump, HH:MM in UTC (the backup container's clock). */
        time: z.string().regex(TIME_OF_DAY_PATTERN, "must be a time of day HH:MM, e.g. 03:00").default("03:00"),
        retentionDays: z.number().int().min(1).max(3650).default(7),
        /** Folder on the Docker host that receives the dumps and archives. */
        hostPath: z
            .string()
            .regex(/^\/[A-Za-z0-9._\-/]+$/, "must be an absolute path")
            .refine((path) => !path.split("/").includes(".."), "must not contain ..")
            .default("/var/backups/authentik"),
        /** Encrypted copies of every backup in a restic repository off the machine. */
        offsite: offsiteSchema.optional(),
    })
    .prefault({});

const upgradesSchema = z
    .strictObject({
        /** Allow a PostgreSQL major version change (only after a dump-and-restore, see README). */
        allowPostgresMajorChange: z.boolean().default(false),
        /** Allow going back to an older authentik version, after restoring the dump taken before the upgrade. */
        allowDowngrade: z.boolean().default(false),
    })
    .prefault({});

export const stackConfigSchema = z
    .strictObject({
        domain: hostname,
        authentik: authentikSchema,
        docker: dockerSchema,
        smtp: smtpSchema.optional(),
        protect: protectSchema,
        proxmox: proxmoxSchema.optional(),
        cloudflare: cloudflareSchema.optional(),
        backup: backupSchema,
        upgrades: upgradesSchema,
        /** The Kubernetes target instead of a Proxmox VM or a Docker host. */
        kubernetes: kubernetesSchema.optional(),
        /** authentik's own configuration as code: brand, applications, enrollment, recovery, break-glass admin. */
        identity: identitySchema.optional(),
        /** Private key for the readiness check over SSH; without it the ssh-agent is used. */
        sshPrivateKey: z.string().min(1).optional(),
    })
    .transform(withVersionDefaults)
    .superRefine(checkCrossKeyRules);

export type StackConfig = z.output<typeof stackConfigSchema>;
export type RawStackConfig = z.input<typeof stackConfigSchema>;
export type MemoryLimits = StackConfig["docker"]["memoryLimitsMb"];
export type SmtpConfig = NonNullable<StackConfig["smtp"]>;
export type ProxmoxConfig = NonNullable<StackConfig["proxmox"]>;
export type CloudflareConfig = NonNullable<StackConfig["cloudflare"]>;
export type BackupConfig = StackConfig["backup"];

/** The config keys a stack may set, in the order they are read. */
export const CONFIG_KEYS = [
    "domain",
    "authentik",
    "docker",
    "smtp",
    "protect",
    "proxmox",
    "cloudflare",
    "backup",
    "upgrades",
    "kubernetes",
    "identity",
    "sshPrivateKey",
] as const;

export type ConfigKey = (typeof CONFIG_KEYS)[number];

/**
 * Fills in the defaults that depend on other keys (only reached once every key is valid): server and worker memory
 * by release line, the backup container's by whether restic runs in it.
 */
function withVersionDefaults<
    T extends {
        authentik: { version: string };
        docker: { memoryLimitsMb: { server?: number | undefined; worker?: number | undefined; backup?: number | undefined } };
        backup: { offsite?: unknown };
    },
>(config: T): T & { docker: { memoryLimitsMb: { server: number; worker: number; backup: number } } } {
    const memory = releaseMemory(config.authentik.version);
    const limits = config.docker.memoryLimitsMb;
    return {
        ...config,
        docker: {
            ...config.docker,
            memoryLimitsMb: {
                ...limits,
                server: limits.server ?? memory.server.defaultMb,
                worker: limits.worker ?? memory.worker.defaultMb,
                backup: limits.backup ?? (config.backup.offsite !== undefined ? BACKUP_MEMORY_MB.offsite : BACKUP_MEMORY_MB.local),
            },
        },
    };
}

function releaseMemory(tag: string): AuthentikFeatures["memory"] {
    const version = parseAuthentikVersion(tag);
    if (!version) {
        throw new Error(`authentik.version ${tag} was not validated`);
    }
    return featuresOf(version).memory;
}

/** Which containers run, and so which memory limits count. */
export function containerMemoryPlan(config: Pick<StackConfig, "authentik" | "docker" | "cloudflare">): Record<string, number> {
    const limits = config.docker.memoryLimitsMb;
    const version = parseAuthentikVersion(config.authentik.version);
    const plan: Record<string, number> = { postgresql: limits.postgresql, server: limits.server, worker: limits.worker };
    if (version && featuresOf(version).usesRedis) {
        plan.redis = limits.redis;
    }
    for (let index = 0; index < (config.cloudflare?.connectors ?? 0); index++) {
        plan[`cloudflared-${index + 1}`] = limits.cloudflared;
    }
    // The backup container runs even without daily backups: it takes the pre-upgrade dump.
    plan.backup = limits.backup;
    return plan;
}

/** Whether `inner` is `outer` or a path below it (`/a/bc` is not below `/a/b`). */
function isWithinPath(inner: string, outer: string): boolean {
    return `${inner}/`.startsWith(`${outer}/`);
}

function checkCrossKeyRules(config: StackConfig, ctx: z.RefinementCtx): void {
    const memory = releaseMemory(config.authentik.version);
    for (const role of ["server", "worker"] as const) {
        const minimum = memory[role].minimumMb;
        if (config.docker.memoryLimitsMb[role] < minimum) {
            ctx.addIssue({
                code: "custom",
                path: ["docker", "memoryLimitsMb", role],
                input: config.docker.memoryLimitsMb[role],
                message: `is below what the authentik ${role} of ${config.authentik.version} needs: at least ${minimum} MB (default ${memory[role].defaultMb}; README "Memory")`,
            });
        }
    }
    const plan = containerMemoryPlan(config);
    const total = Object.values(plan).reduce((sum, mb) => sum + mb, 0);
    // The Docker host's budget; on Kubernetes the limits are per pod, and the cluster schedules them.
    if (total > config.docker.memoryMb && config.kubernetes === undefined) {
        ctx.addIssue({
            code: "custom",
            path: ["docker", "memoryMb"],
            input: config.docker.memoryMb,
            message: `is smaller than the containers' memory limits together (${total} MB: ${Object.entries(plan)
                .map(([name, mb]) => `${name} ${mb}`)
                .join(", ")}); raise docker.memoryMb or lower docker.memoryLimitsMb`,
        });
    }
    if (config.cloudflare) {
        const zone = config.cloudflare.zone;
        if (config.domain !== zone && !config.domain.endsWith(`.${zone}`)) {
            ctx.addIssue({
                code: "custom",
                path: ["domain"],
                input: config.domain,
                message: `is outside the Cloudflare zone ${zone}; use ${zone} or a name ending in .${zone}`,
            });
        }
        if (config.docker.publish !== undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["docker", "publish"],
                input: config.docker.publish,
                message: "must not be set with cloudflare: behind the tunnel authentik publishes no host port",
            });
        }
    }
    if (config.proxmox) {
        checkProxmoxRules(config, config.proxmox, ctx);
    }
    if (config.backup.offsite !== undefined && !config.backup.enabled) {
        ctx.addIssue({
            code: "custom",
            path: ["backup", "enabled"],
            input: config.backup.enabled,
            message: "must be true with backup.offsite: the off-site copies are made right after each daily backup",
        });
    }
    if (config.identity) {
        checkIdentityRules(config, config.identity, ctx);
    }
    if (config.kubernetes) {
        checkKubernetesRules(config, ctx);
    }
    if (config.backup.offsite !== undefined && config.docker.memoryLimitsMb.backup < BACKUP_MEMORY_MB.offsite) {
        ctx.addIssue({
            code: "custom",
            path: ["docker", "memoryLimitsMb", "backup"],
            input: config.docker.memoryLimitsMb.backup,
            message: `must be at least ${BACKUP_MEMORY_MB.offsite} with backup.offsite: restic runs in the backup container (measured peaks near 110 MB)`,
        });
    }
    const repository = config.backup.offsite?.repository;
    // hostPath is absolute, so a scheme URL is never inside it nor contains it.
    if (repository !== undefined && (isWithinPath(repository, config.backup.hostPath) || isWithinPath(config.backup.hostPath, repository))) {
        ctx.addIssue({
            code: "custom",
            path: ["backup", "offsite", "repository"],
            input: repository,
            message: `must lie outside backup.hostPath (${config.backup.hostPath}): a copy next to the backups is not off-site`,
        });
    }
}

/** The first release line the Kubernetes target runs: the chart dropped its Redis in 2025.10.3, the app in 2025.10. */
export const KUBERNETES_FROM_LINE = "2025.10";

function checkKubernetesRules(config: StackConfig, ctx: z.RefinementCtx): void {
    const version = parseAuthentikVersion(config.authentik.version);
    if (version && featuresOf(version).usesRedis) {
        ctx.addIssue({
            code: "custom",
            path: ["authentik", "version"],
            input: config.authentik.version,
            message: `is a line that still needs Redis, which authentik's Helm chart no longer ships (removed in chart 2025.10.3): the Kubernetes target starts at ${KUBERNETES_FROM_LINE}; upgrade on the Docker target first, or start at ${KUBERNETES_FROM_LINE} or later`,
        });
    }
    const exclusive: [string[], unknown, string][] = [
        [["proxmox"], config.proxmox, "a Proxmox VM"],
        [["docker", "host"], config.docker.host, "a Docker host"],
        [["docker", "publish"], config.docker.publish, "a published Docker port"],
        [["backup", "offsite"], config.backup.offsite, "restic off-site copies of the Docker target (use kubernetes.postgres.backup)"],
    ];
    for (const [path, value, what] of exclusive) {
        if (value !== undefined) {
            ctx.addIssue({ code: "custom", path, input: value, message: `must not be set with kubernetes: the Kubernetes target is instead of ${what}` });
        }
    }
    if (!config.cloudflare) {
        ctx.addIssue({ code: "custom", path: ["cloudflare"], input: undefined, message: "is required with kubernetes: the connectors reach authentik inside the cluster, nothing is exposed otherwise" });
    }
}

function checkIdentityRules(config: StackConfig, identity: IdentityConfig, ctx: z.RefinementCtx): void {
    if (identity.recovery && config.smtp === undefined) {
        ctx.addIssue({ code: "custom", path: ["identity", "recovery"], input: true, message: "needs smtp: the recovery link goes out by e-mail; set authentik-sso:smtp, or recovery: false" });
    }
    identity.applications.forEach((application, index) => {
        const host = externalHostname(application);
        if (host === undefined) {
            return;
        }
        const path = ["identity", "applications", index, "proxy", "externalHost"];
        if (host === config.domain) {
            ctx.addIssue({ code: "custom", path, input: application.proxy?.externalHost, message: `is authentik's own hostname (${config.domain}); give the application a name of its own` });
        } else if (config.cloudflare && host !== config.cloudflare.zone && !host.endsWith(`.${config.cloudflare.zone}`)) {
            ctx.addIssue({
                code: "custom",
                path,
                input: application.proxy?.externalHost,
                message: `is outside the Cloudflare zone ${config.cloudflare.zone}: the tunnel can route only names in its zone; use a name ending in .${config.cloudflare.zone}`,
            });
        } else if (config.cloudflare && host !== config.cloudflare.zone && host.slice(0, -(config.cloudflare.zone.length + 1)).includes(".")) {
            ctx.addIssue({
                code: "custom",
                path,
                input: application.proxy?.externalHost,
                message: `is more than one level below the zone ${config.cloudflare.zone}: Cloudflare's free certificate covers ${config.cloudflare.zone} and *.${config.cloudflare.zone} only, so browsers would refuse the connection; use a name such as ${host.split(".")[0]}.${config.cloudflare.zone}`,
            });
        }
    });
}

/**
 * Values inside a JSON config key that must be secrets: `*` matches every name at its level. Pulumi marks a
 * structured key secret when any value under it is, so the stack file is what tells which values are `secure:`.
 */
export const NESTED_SECRETS: readonly (readonly [key: ConfigKey, path: readonly string[]])[] = [
    ["backup", ["offsite", "env", "*"]],
    ["backup", ["offsite", "password"]],
    ["authentik", ["secretKey"]],
    ["kubernetes", ["postgres", "backup", "credentials", "*"]],
];

/** Every [path, value] under `value` that `pattern` matches. */
function valuesAt(value: unknown, pattern: readonly string[], at: readonly string[] = []): [string[], unknown][] {
    if (pattern.length === 0) {
        return value === undefined ? [] : [[[...at], value]];
    }
    if (value === null || typeof value !== "object") {
        return [];
    }
    const [head, ...rest] = pattern as [string, ...string[]];
    const names = head === "*" ? Object.keys(value) : [head];
    return names.flatMap((name) => valuesAt((value as Record<string, unknown>)[name], rest, [...at, name]));
}

/**
 * The secret values (NESTED_SECRETS) that are plain text in the stack: in the stack file's text when it is at
 * hand, a value that is not `{secure: …}`; and every one under a key that Pulumi does not hold as a secret at all.
 */
export function plainTextSecrets(raw: Record<string, unknown>, stackFile: string | undefined, keyIsSecret: (key: ConfigKey) => boolean | undefined): string[] {
    const document = stackFile !== undefined ? ((parseYaml(stackFile) ?? {}) as { config?: Record<string, unknown> }) : undefined;
    const plain = new Set<string>();
    for (const [key, pattern] of NESTED_SECRETS) {
        for (const [at, value] of valuesAt(document?.config?.[`${PROJECT}:${key}`], pattern)) {
            const secure = value !== null && typeof value === "object" && typeof (value as { secure?: unknown }).secure === "string";
            if (!secure) {
                plain.add([key, ...at].join("."));
            }
        }
        if (keyIsSecret(key) === false) {
            valuesAt(raw[key], pattern).forEach(([at]) => plain.add([key, ...at].join(".")));
        }
    }
    return [...plain].sort().map((path) => `${PROJECT}:${path}`);
}

export function plainTextSecretProblems(paths: readonly string[]): string[] {
    return paths.map((key) => `${key}: is plain text in the stack; it must be a secret: pulumi config set --secret --path '${key}' <value> (the value is not shown here)`);
}

function checkProxmoxRules(config: StackConfig, proxmox: ProxmoxConfig, ctx: z.RefinementCtx): void {
    if (config.docker.host !== undefined) {
        ctx.addIssue({
            code: "custom",
            path: ["docker", "host"],
            input: config.docker.host,
            message: "must not be set with proxmox: the stack deploys to the VM's Docker daemon over SSH",
        });
    }
    if (proxmox.cores < MIN_VM_CORES) {
        ctx.addIssue({ code: "custom", path: ["proxmox", "cores"], input: proxmox.cores, message: `must be at least ${MIN_VM_CORES} (authentik's minimum)` });
    }
    if (proxmox.memoryMb < MIN_VM_MEMORY_MB) {
        ctx.addIssue({ code: "custom", path: ["proxmox", "memoryMb"], input: proxmox.memoryMb, message: `must be at least ${MIN_VM_MEMORY_MB} MB (authentik's minimum)` });
    }
    const available = proxmox.memoryMb - VM_OS_RESERVE_MB;
    if (config.docker.memoryMb > available) {
        ctx.addIssue({
            code: "custom",
            path: ["proxmox", "memoryMb"],
            input: proxmox.memoryMb,
            message: `leaves ${available} MB for containers after ${VM_OS_RESERVE_MB} MB for the OS, less than docker.memoryMb (${config.docker.memoryMb} MB); raise proxmox.memoryMb to at least ${config.docker.memoryMb + VM_OS_RESERVE_MB} or lower docker.memoryMb`,
        });
    }
    const address = parseCidr(proxmox.ipv4);
    const gateway = parseIpv4(proxmox.gateway);
    if (address && gateway !== undefined && !cidrContains(address, gateway)) {
        ctx.addIssue({
            code: "custom",
            path: ["proxmox", "ipv4"],
            input: proxmox.ipv4,
            message: `is not in the same network as gateway ${proxmox.gateway}; the address and its gateway must share the /${address.prefix} network`,
        });
    }
    if (address && isNetworkCidr(address)) {
        ctx.addIssue({ code: "custom", path: ["proxmox", "ipv4"], input: proxmox.ipv4, message: "is a network address; give the VM's own address, e.g. 192.168.1.50/24" });
    }
    const subnet = parseCidr(config.docker.subnet);
    if (address && subnet && cidrsOverlap(subnet, address)) {
        ctx.addIssue({
            code: "custom",
            path: ["docker", "subnet"],
            input: config.docker.subnet,
            message: `overlaps the VM's network ${proxmox.ipv4}; choose a private subnet the LAN does not use`,
        });
    }
}

/** Settings that work but deserve a word in `pulumi preview`; the program logs each as a warning. */
export function configWarnings(config: StackConfig): string[] {
    const warnings: string[] = [];
    const subnet = parseCidr(config.docker.subnet);
    const pool = DOCKER_DEFAULT_ADDRESS_POOLS.find((text) => subnet !== undefined && cidrsOverlap(parseCidr(text) as Ipv4Cidr, subnet));
    if (pool !== undefined) {
        warnings.push(
            `${PROJECT}:docker.subnet: ${config.docker.subnet} lies in Docker's default address pool ${pool}, from which Docker gives networks created without a subnet their addresses: on a busy host one may already use it (then creating the authentik network fails with "Pool overlaps"). The default ${DEFAULT_DOCKER_SUBNET} lies outside the pools.`,
        );
    }
    const repository = config.backup.offsite?.repository;
    if (repository?.startsWith("/")) {
        warnings.push(
            `${PROJECT}:backup.offsite.repository: ${repository} is a path on the Docker host: the copies are off-site only when it is the mount of another machine's storage (NFS, SMB, a USB disk that leaves the house), not a folder on the VM's disk.`,
        );
    }
    return warnings;
}

export class ConfigError extends Error {
    /** Marks this as a Pulumi RunError (checked by duck typing), so `pulumi up` prints the message without a stack trace. */
    readonly __pulumiRunError = true;

    constructor(readonly problems: readonly string[]) {
        super(`Invalid configuration for stack (nothing was created):\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

function isSecretField(segment: PropertyKey): boolean {
    return typeof segment === "string" && SECRET_FIELD_NAMES.has(segment.toLowerCase());
}

/** The value a rule refers to, read from what the user gave (not the object a refinement ran on). */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
    let value: unknown = root;
    for (const segment of path) {
        if (value === null || typeof value !== "object") {
            return undefined;
        }
        value = (value as Record<PropertyKey, unknown>)[segment as string];
    }
    return value;
}

function redact(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(redact);
    }
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, isSecretField(key) ? "[secret]" : redact(item)]));
    }
    return value;
}

/** The off-site backend's credentials are secrets whatever their names (AWS_ACCESS_KEY_ID, B2_ACCOUNT_ID, …). */
function isCredentialPath(path: readonly PropertyKey[]): boolean {
    const offsite = path.indexOf("offsite");
    return offsite >= 0 && path[offsite + 1] === "env";
}

function describeValue(path: readonly PropertyKey[], value: unknown): string {
    if (path.some(isSecretField) || isCredentialPath(path)) {
        return "[secret]";
    }
    if (typeof value === "string" && path[path.length - 1] === "repository" && value.includes("@")) {
        // A repository URL may carry a user and password (rest:https://user:pass@host/).
        return JSON.stringify(value.replace(/\/\/[^/]*@/, "//[secret]@"));
    }
    if (value === undefined) {
        return "nothing";
    }
    return JSON.stringify(redact(value));
}

function formatKey(path: readonly PropertyKey[]): string {
    const [top, ...rest] = path.map(String);
    const key = `${PROJECT}:${top ?? "(root)"}`;
    return rest.length > 0 ? `${key}.${rest.join(".")}` : key;
}

/**
 * The offending value: the one at the issue's path in the user's config when it is there, otherwise the scalar a
 * rule reported (a default the rule checked). Never the enclosing object a refinement ran on.
 */
function offendingValue(issue: z.core.$ZodIssue, raw: unknown): unknown {
    const given = valueAt(raw, issue.path);
    if (given !== undefined) {
        return given;
    }
    return issue.input !== null && typeof issue.input === "object" ? undefined : issue.input;
}

function formatIssue(issue: z.core.$ZodIssue, raw: unknown): string[] {
    if (issue.code === "unrecognized_keys") {
        const allowed = issue.path.length === 0 ? CONFIG_KEYS.join(", ") : "see the README's config reference";
        return issue.keys.map((key) => `${formatKey([...issue.path, key])}: is not a known setting (allowed here: ${allowed})`);
    }
    if (issue.code === "invalid_key") {
        // A record's key (a name, never a secret) broke its rule: say which rule.
        const name = String(issue.path[issue.path.length - 1]);
        return [`${formatKey(issue.path)}: the name ${JSON.stringify(name)} ${issue.issues.map((inner) => inner.message).join("; ") || "is not allowed"}`];
    }
    const value = offendingValue(issue, raw);
    if (issue.code === "invalid_type" && value === undefined) {
        return [`${formatKey(issue.path)}: got nothing; is required (${issue.expected})`];
    }
    const message = issue.message.replace(/^Invalid input: /, "");
    return [`${formatKey(issue.path)}: got ${describeValue(issue.path, value)}; ${message}`];
}

/**
 * Validates raw config (as Pulumi hands it over, objects already parsed) and fills in every default.
 * Throws a ConfigError that lists every problem, each with its key, the value given and what is allowed.
 */
export function parseStackConfig(raw: Record<string, unknown>): StackConfig {
    const result = stackConfigSchema.safeParse(raw, { reportInput: true });
    if (!result.success) {
        throw new ConfigError(result.error.issues.flatMap((issue) => formatIssue(issue, raw)));
    }
    return result.data;
}
