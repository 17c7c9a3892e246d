/**
 * Plans authentik's containers from validated config, as plain data: names, images, commands, environment
 * (with secret values left as references), volumes, health checks and limits. The Authentik component turns this
 * plan into Docker resources; tests and the offline plan read it directly.
 */
import type { StackConfig } from "./config";
import { BLUEPRINTS_ROOT, BlueprintFile, IdentityPlan, identityFor } from "./identityPlan";
import type { HealthcheckPlan } from "./containerDefaults";
import { Ipv4Cidr, firstHost, parseCidr } from "./ipv4";
import { postgresDataPath } from "./postgresImage";
import { AuthentikFeatures, featuresOf, parseAuthentikVersion } from "./versions";

/** Secret values the environment refers to; the component resolves them from Pulumi secrets. */
/** The stack's secrets by name; `identity:<key>` are the generated secrets the blueprints read (IdentityPlan.secrets). */
export type SecretRef = "postgresPassword" | "secretKey" | "bootstrapPassword" | "bootstrapToken" | "smtpPassword" | `identity:${string}`;

export type EnvEntry = { readonly name: string; readonly value: string } | { readonly name: string; readonly secret: SecretRef };

export type ServiceRole = "postgresql" | "redis" | "server" | "worker";

export interface VolumeMountPlan {
    /** Key of a named volume in AuthentikPlan.volumes, or an absolute host path for a bind mount. */
    readonly volume?: VolumeRole;
    readonly hostPath?: string;
    readonly containerPath: string;
    readonly readOnly?: boolean;
}

/**
 * media: authentik's files before 2025.12, and from then on only the source of their one-time copy into data;
 * data: the storage root from 2025.12 (media/ and reports/ inside).
 */
export type VolumeRole = "database" | "redis" | "media" | "data" | "certs" | "templates" | "restic";

export interface ServicePlan {
    readonly role: ServiceRole;
    readonly containerName: string;
    /** Name other containers use on the authentik network. */
    readonly alias: string;
    readonly image: string;
    readonly command?: readonly string[];
    readonly env: readonly EnvEntry[];
    readonly mounts: readonly VolumeMountPlan[];
    readonly healthcheck: HealthcheckPlan;
    readonly memoryMb: number;
    /** /dev/shm in MB; absent or undefined leaves Docker's default. */
    readonly shmSizeMb?: number | undefined;
    readonly user?: string;
    /** Roles that must be healthy before this container is created. */
    readonly after: readonly ServiceRole[];
    /** Seconds `pulumi up` waits for this container to report healthy before it fails. */
    readonly readyTimeoutSeconds: number;
    /** Seconds between the stop signal and SIGKILL, on replacement, destroy and `docker stop`. */
    readonly stopGraceSeconds: number;
    readonly publish?: { readonly ip: string; readonly port: number; readonly internal: number };
    /** Files put into the container before it starts (the worker's blueprints): no secrets. */
    readonly uploads?: readonly { readonly file: string; readonly content: string }[];
}

export interface AuthentikPlan {
    readonly version: string;
    /** Server and worker image: repository:tag, with @sha256:… when the config pins a digest. */
    readonly image: string;
    /** The repository alone, e.g. ghcr.io/goauthentik/server (old images of it are pruned after an upgrade). */
    readonly imageRepository: string;
    readonly features: AuthentikFeatures;
    readonly networkName: string;
    readonly subnet: string;
    /** The bridge's own address in the subnet, set explicitly rather than left to Docker. */
    readonly gateway: string;
    readonly volumes: Readonly<Partial<Record<VolumeRole, string>>>;
    readonly services: readonly ServicePlan[];
    /**
     * From 2025.12: before server and worker start, the data volume gets a real media folder owned by authentik
     * (uid 1000) and, once, the files of the media volume (scripts/prepare-data.sh).
     */
    readonly prepareData?: { readonly data: VolumeRole; readonly legacyMedia: VolumeRole };
    /** Where authentik is reached by users. */
    readonly url: string;
    /** Internal URL of the server on the authentik network (for the tunnel and health probes). */
    readonly internalUrl: string;
    readonly adminUser: string;
    /** authentik-sso:identity as blueprints, when set. */
    readonly identity?: IdentityPlan;
    /** Every blueprint file the worker gets (the stack's and the user's), relative to /blueprints, in apply order. */
    readonly blueprints: readonly BlueprintFile[];
}

export const SERVER_HTTP_PORT = 9000;
export const ADMIN_USER = "akadmin";
/** How everything on the authentik network reaches the database: authentik itself and the backup container. */
export const POSTGRES = { alias: "postgresql", user: "authentik", database: "authentik" } as const;

/** Loopback is trusted besides the authentik network, for health probes inside the containers. */
const LOOPBACK_CIDRS = ["127.0.0.0/8", "::1/128"];

/**
 * glibc's allocator keeps up to 8 arenas per core that it rarely gives back; two arenas and an earlier trim took an
 * idle 2026.8 server from ~850 to ~480 MiB (authentik#25683). The image sets neither.
 */
const ALLOCATOR_ENV: EnvEntry[] = [
    { name: "MALLOC_ARENA_MAX", value: "2" },
    { name: "MALLOC_TRIM_THRESHOLD_", value: "131072" },
];

/** Below this server memory limit one web process serves; each one holds its own copy of Django (~250 MB). */
export const TWO_WEB_PROCESSES_FROM_MB = 1024;

/** authentik's own image health check (`ak healthcheck`); the image has no curl or wget. */
function authentikHealthcheck(features: AuthentikFeatures): HealthcheckPlan {
    return {
        tests: ["CMD", "ak", "healthcheck"],
        intervalSeconds: 30,
        timeoutSeconds: 30,
        retries: 3,
        startPeriodSeconds: features.healthStartPeriodSeconds,
    };
}

/** Behind the tunnel (which config refuses to combine with a published port) or a proxy of the user's: https. */
export function publicUrl(config: Pick<StackConfig, "domain" | "docker">): string {
    if (config.docker.publish !== undefined) {
        const port = config.docker.publish.split(":")[1];
        return `http://${config.domain}:${port}`;
    }
    return `https://${config.domain}`;
}

function smtpEnv(config: StackConfig): EnvEntry[] {
    const smtp = config.smtp;
    if (!smtp) {
        return [];
    }
    const entries: EnvEntry[] = [
        { name: "AUTHENTIK_EMAIL__HOST", value: smtp.host },
        { name: "AUTHENTIK_EMAIL__PORT", value: String(smtp.port) },
        { name: "AUTHENTIK_EMAIL__FROM", value: smtp.from },
        { name: "AUTHENTIK_EMAIL__TIMEOUT", value: String(smtp.timeout) },
        { name: "AUTHENTIK_EMAIL__USE_TLS", value: String(smtp.useTls) },
        { name: "AUTHENTIK_EMAIL__USE_SSL", value: String(smtp.useSsl) },
    ];
    if (smtp.username !== undefined) {
        entries.push({ name: "AUTHENTIK_EMAIL__USERNAME", value: smtp.username });
        entries.push({ name: "AUTHENTIK_EMAIL__PASSWORD", secret: "smtpPassword" });
    }
    return entries;
}

export interface AuthentikEnvTarget {
    /** Where authentik reaches PostgreSQL. */
    readonly postgresHost: string;
    /** Where authentik reaches Redis, on the lines that use it. */
    readonly redisHost?: string;
    /** Networks whose forwarded headers authentik trusts; unset: authentik's own default (the private ranges). */
    readonly trustedProxyCidrs?: readonly string[];
}

/** The environment server and worker share, on either target. */
export function authentikEnv(config: StackConfig, features: AuthentikFeatures, target: AuthentikEnvTarget): EnvEntry[] {
    const env: EnvEntry[] = [
        { name: "AUTHENTIK_SECRET_KEY", secret: "secretKey" },
        { name: "AUTHENTIK_POSTGRESQL__HOST", value: target.postgresHost },
        { name: "AUTHENTIK_POSTGRESQL__USER", value: POSTGRES.user },
        { name: "AUTHENTIK_POSTGRESQL__NAME", value: POSTGRES.database },
        { name: "AUTHENTIK_POSTGRESQL__PASSWORD", secret: "postgresPassword" },
        { name: "AUTHENTIK_ERROR_REPORTING__ENABLED", value: String(config.authentik.errorReporting) },
        { name: "AUTHENTIK_DISABLE_STARTUP_ANALYTICS", value: "true" },
        { name: "AUTHENTIK_LOG_LEVEL", value: config.authentik.logLevel },
        ...(target.trustedProxyCidrs !== undefined ? [{ name: "AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS", value: target.trustedProxyCidrs.join(",") }] : []),
    ];
    if (features.usesRedis && target.redisHost !== undefined) {
        env.push({ name: "AUTHENTIK_REDIS__HOST", value: target.redisHost });
    }
    if (features.listensOnIpv6ByDefault) {
        env.push(
            { name: "AUTHENTIK_LISTEN__HTTP", value: `0.0.0.0:${SERVER_HTTP_PORT}` },
            { name: "AUTHENTIK_LISTEN__HTTPS", value: "0.0.0.0:9443" },
            { name: "AUTHENTIK_LISTEN__METRICS", value: "0.0.0.0:9300" },
        );
    }
    env.push(...ALLOCATOR_ENV);
    if (features.setsBaseUrl) {
        env.push({ name: "AUTHENTIK_WEB__BASE_URL", value: publicUrl(config) });
    }
    env.push(...smtpEnv(config));
    return env;
}

/** Turns env entries into Docker's KEY=value list once the secret values are known. */
export function renderEnv(entries: readonly EnvEntry[], secrets: Readonly<Partial<Record<SecretRef, string>>>): string[] {
    return entries.map((entry) => {
        if ("value" in entry) {
            return `${entry.name}=${entry.value}`;
        }
        const value = secrets[entry.secret];
        if (value === undefined) {
            throw new Error(`no value for secret ${entry.secret} (needed by ${entry.name})`);
        }
        return `${entry.name}=${value}`;
    });
}

export function secretRefsOf(entries: readonly EnvEntry[]): SecretRef[] {
    return [...new Set(entries.flatMap((entry) => ("secret" in entry ? [entry.secret] : [])))];
}

/** A user's own blueprint, read from identity.blueprints (lib/userBlueprints.ts). */
export type UserBlueprint = BlueprintFile;

export function planAuthentik(config: StackConfig, userBlueprints: readonly UserBlueprint[] = []): AuthentikPlan {
    const version = parseAuthentikVersion(config.authentik.version);
    if (!version) {
        throw new Error(`authentik.version ${config.authentik.version} was not validated`);
    }
    const features = featuresOf(version);
    const prefix = config.docker.namePrefix;
    const limits = config.docker.memoryLimitsMb;
    const aliases = { postgresql: POSTGRES.alias, redis: "redis" };
    // With a digest the provider pulls by digest, and the tag only documents it.
    const image = `${config.authentik.image}:${version.tag}${config.authentik.digest !== undefined ? `@${config.authentik.digest}` : ""}`;
    // Forwarded headers are trusted only from cloudflared on this network and loopback, so no LAN host can spoof
    // X-Forwarded-For (setting this replaces authentik's broad private-range defaults).
    const shared = authentikEnv(config, features, { postgresHost: aliases.postgresql, redisHost: aliases.redis, trustedProxyCidrs: [...LOOPBACK_CIDRS, config.docker.subnet] });
    const dependencies: ServiceRole[] = features.usesRedis ? ["postgresql", "redis"] : ["postgresql"];
    // First start runs every migration before the health check passes; give it far more than the start period.
    const authentikWait = 600;

    const volumes: Partial<Record<VolumeRole, string>> = {
        database: `${prefix}-database`,
        // Kept on every line so that the set of volumes does not depend on the upgrade history: before 2025.12 it
        // holds authentik's files, from 2025.12 it is the read-only source of their one-time copy into data.
        media: `${prefix}-media`,
        certs: `${prefix}-certs`,
        templates: `${prefix}-custom-templates`,
    };
    if (features.usesRedis) {
        volumes.redis = `${prefix}-redis`;
    }
    if (config.backup.offsite !== undefined) {
        // The restic binary for off-site backups, copied from the pinned restic image (components/backup.ts).
        volumes.restic = `${prefix}-restic`;
    }
    const storesInData = features.storageRoot === "/data";
    if (storesInData) {
        volumes.data = `${prefix}-data`;
    }

    // From 2025.12 the volume is mounted at /data itself, as authentik's compose does: a mount at /data/media would
    // follow the image's symlink to /media, and authentik would not manage the files.
    const storageMounts: VolumeMountPlan[] = [
        storesInData ? { volume: "data", containerPath: "/data" } : { volume: "media", containerPath: "/media" },
        { volume: "templates", containerPath: "/templates" },
    ];

    const services: ServicePlan[] = [
        {
            role: "postgresql",
            containerName: `${prefix}-postgresql`,
            alias: aliases.postgresql,
            image: config.docker.images.postgresql,
            env: [
                { name: "POSTGRES_PASSWORD", secret: "postgresPassword" },
                { name: "POSTGRES_USER", value: POSTGRES.user },
                { name: "POSTGRES_DB", value: POSTGRES.database },
            ],
            mounts: [{ volume: "database", containerPath: postgresDataPath(config.docker.images.postgresql) }],
            healthcheck: {
                tests: ["CMD-SHELL", `pg_isready -d ${POSTGRES.database} -U ${POSTGRES.user}`],
                intervalSeconds: 30,
                timeoutSeconds: 5,
                retries: 5,
                startPeriodSeconds: 20,
            },
            memoryMb: limits.postgresql,
            after: [],
            readyTimeoutSeconds: 180,
            // The image stops with SIGINT (fast shutdown) and asks for more than Docker's 10 s to finish writing.
            stopGraceSeconds: 90,
        },
    ];
    if (features.usesRedis) {
        services.push({
            role: "redis",
            containerName: `${prefix}-redis`,
            alias: aliases.redis,
            image: config.docker.images.redis,
            command: ["--save", "60", "1", "--loglevel", "warning"],
            env: [],
            mounts: [{ volume: "redis", containerPath: "/data" }],
            healthcheck: {
                tests: ["CMD-SHELL", "redis-cli ping | grep PONG"],
                intervalSeconds: 30,
                timeoutSeconds: 3,
                retries: 5,
                startPeriodSeconds: 20,
            },
            memoryMb: limits.redis,
            after: [],
            readyTimeoutSeconds: 120,
            stopGraceSeconds: 30,
        });
    }
    const publish = config.docker.publish?.split(":");
    services.push({
        role: "server",
        containerName: `${prefix}-server`,
        alias: "server",
        image,
        command: ["server"],
        env: [...shared, { name: "AUTHENTIK_WEB__WORKERS", value: limits.server >= TWO_WEB_PROCESSES_FROM_MB ? "2" : "1" }],
        mounts: storageMounts,
        healthcheck: authentikHealthcheck(features),
        memoryMb: limits.server,
        shmSizeMb: features.shmSizeMb,
        after: dependencies,
        readyTimeoutSeconds: authentikWait,
        // gunicorn's own graceful timeout; authentik's Helm chart gives the pods the same.
        stopGraceSeconds: 30,
        ...(publish ? { publish: { ip: publish[0] as string, port: Number(publish[1]), internal: SERVER_HTTP_PORT } } : {}),
    });
    const identity = identityFor(config);
    const blueprints = [...(identity?.files ?? []), ...userBlueprints];
    const workerMounts: VolumeMountPlan[] = [...storageMounts, { volume: "certs", containerPath: "/certs" }];
    if (config.authentik.managedOutposts) {
        workerMounts.push({ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" });
    }
    services.push({
        role: "worker",
        containerName: `${prefix}-worker`,
        alias: "worker",
        image,
        command: ["worker"],
        env: [
            ...shared,
            // Read by the worker on its first start only: they create akadmin and an API token, so no manual
            // initial-setup step is left.
            { name: "AUTHENTIK_BOOTSTRAP_PASSWORD", secret: "bootstrapPassword" },
            { name: "AUTHENTIK_BOOTSTRAP_TOKEN", secret: "bootstrapToken" },
            { name: "AUTHENTIK_BOOTSTRAP_EMAIL", value: config.authentik.bootstrapEmail },
            // What the blueprints read with !Env: client secrets and the break-glass password, never in a file.
            ...(identity?.secrets ?? []).map((secret): EnvEntry => ({ name: secret.envName, secret: `identity:${secret.key}` })),
        ],
        // The blueprints, as files in the container: a change replaces the worker only (uploads are ForceNew), and the
        // worker reads them at start (README, "authentik as code").
        ...(blueprints.length > 0 ? { uploads: blueprints.map((file) => ({ file: `${BLUEPRINTS_ROOT}/${file.path}`, content: file.content })) } : {}),
        mounts: workerMounts,
        healthcheck: authentikHealthcheck(features),
        memoryMb: limits.worker,
        shmSizeMb: features.shmSizeMb,
        // The Docker socket is root-owned; only then does the worker need root, as in the reference deployment.
        ...(config.authentik.managedOutposts ? { user: "root" } : {}),
        after: dependencies,
        readyTimeoutSeconds: authentikWait,
        // Running tasks get a minute to finish; what is left stays queued in PostgreSQL (from 2025.8) for the next worker.
        stopGraceSeconds: 60,
    });

    return {
        version: version.tag,
        image,
        imageRepository: config.authentik.image,
        features,
        networkName: `${prefix}-network`,
        subnet: config.docker.subnet,
        gateway: firstHost(parseCidr(config.docker.subnet) as Ipv4Cidr),
        volumes,
        services,
        ...(storesInData ? { prepareData: { data: "data", legacyMedia: "media" } as const } : {}),
        url: publicUrl(config),
        internalUrl: `http://${prefix}-server:${SERVER_HTTP_PORT}`,
        adminUser: ADMIN_USER,
        ...(identity ? { identity } : {}),
        blueprints,
    };
}

/**
 * The images a stack runs, the largest and most needed first: what a new VM pulls while it is still booting
 * (server and worker share one image).
 */
export function stackImages(config: Pick<StackConfig, "docker" | "cloudflare">, plan: Pick<AuthentikPlan, "image" | "features">): string[] {
    return [
        plan.image,
        config.docker.images.postgresql,
        ...(plan.features.usesRedis ? [config.docker.images.redis] : []),
        ...(config.cloudflare ? [config.docker.images.cloudflared] : []),
    ];
}
