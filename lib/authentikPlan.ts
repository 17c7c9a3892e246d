/**
 * Plans authentik's containers from validated config, as plain data: names, images, commands, environment
 * (with secret values left as references), volumes, health checks and limits. The Authentik component turns this
 * plan into Docker resources; tests and the offline plan read it directly.
 */
import type { StackConfig } from "./config";
import { AuthentikFeatures, featuresOf, parseAuthentikVersion } from "./versions";

/** Secret values the environment refers to; the component resolves them from Pulumi secrets. */
export type SecretRef = "postgresPassword" | "secretKey" | "bootstrapPassword" | "bootstrapToken" | "smtpPassword";

export type EnvEntry = { readonly name: string; readonly value: string } | { readonly name: string; readonly secret: SecretRef };

export type ServiceRole = "postgresql" | "redis" | "server" | "worker";

export interface HealthcheckPlan {
    readonly tests: readonly string[];
    readonly intervalSeconds: number;
    readonly timeoutSeconds: number;
    readonly retries: number;
    readonly startPeriodSeconds: number;
}

export interface VolumeMountPlan {
    /** Key of a named volume in AuthentikPlan.volumes, or an absolute host path for a bind mount. */
    readonly volume?: VolumeRole;
    readonly hostPath?: string;
    readonly containerPath: string;
    readonly readOnly?: boolean;
}

export type VolumeRole = "database" | "redis" | "storage" | "certs" | "templates";

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
    readonly shmSizeMb?: number;
    readonly user?: string;
    /** Roles that must be healthy before this container is created. */
    readonly after: readonly ServiceRole[];
    /** Seconds Pulumi waits for this container to report healthy. */
    readonly waitTimeoutSeconds: number;
    readonly publish?: { readonly ip: string; readonly port: number; readonly internal: number };
}

export interface AuthentikPlan {
    readonly version: string;
    readonly features: AuthentikFeatures;
    readonly networkName: string;
    readonly subnet: string;
    readonly volumes: Readonly<Partial<Record<VolumeRole, string>>>;
    readonly services: readonly ServicePlan[];
    /** Where authentik is reached by users. */
    readonly url: string;
    /** Internal URL of the server on the authentik network (for the tunnel and health probes). */
    readonly internalUrl: string;
    readonly adminUser: string;
}

export const SERVER_HTTP_PORT = 9000;
export const ADMIN_USER = "akadmin";
/** How everything on the authentik network reaches the database: authentik itself and the backup container. */
export const POSTGRES = { alias: "postgresql", user: "authentik", database: "authentik" } as const;

/** Loopback is trusted besides the authentik network, for health probes inside the containers. */
const LOOPBACK_CIDRS = ["127.0.0.0/8", "::1/128"];

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

export function publicUrl(config: Pick<StackConfig, "domain" | "docker" | "cloudflare">): string {
    if (config.cloudflare) {
        return `https://${config.domain}`;
    }
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

/** The environment server and worker share. */
export function authentikEnv(config: StackConfig, features: AuthentikFeatures, aliases: { postgresql: string; redis: string }): EnvEntry[] {
    const env: EnvEntry[] = [
        { name: "AUTHENTIK_SECRET_KEY", secret: "secretKey" },
        { name: "AUTHENTIK_POSTGRESQL__HOST", value: aliases.postgresql },
        { name: "AUTHENTIK_POSTGRESQL__USER", value: POSTGRES.user },
        { name: "AUTHENTIK_POSTGRESQL__NAME", value: POSTGRES.database },
        { name: "AUTHENTIK_POSTGRESQL__PASSWORD", secret: "postgresPassword" },
        { name: "AUTHENTIK_ERROR_REPORTING__ENABLED", value: String(config.authentik.errorReporting) },
        { name: "AUTHENTIK_DISABLE_STARTUP_ANALYTICS", value: "true" },
        { name: "AUTHENTIK_LOG_LEVEL", value: config.authentik.logLevel },
        // Forwarded headers are trusted only from cloudflared on this network and loopback, so no LAN host can
        // spoof X-Forwarded-For (setting this replaces authentik's broad private-range defaults).
        { name: "AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS", value: [...LOOPBACK_CIDRS, config.docker.subnet].join(",") },
    ];
    if (features.usesRedis) {
        env.push({ name: "AUTHENTIK_REDIS__HOST", value: aliases.redis });
    }
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

export function planAuthentik(config: StackConfig): AuthentikPlan {
    const version = parseAuthentikVersion(config.authentik.version);
    if (!version) {
        throw new Error(`authentik.version ${config.authentik.version} was not validated`);
    }
    const features = featuresOf(version);
    const prefix = config.docker.namePrefix;
    const limits = config.docker.memoryLimitsMb;
    const aliases = { postgresql: POSTGRES.alias, redis: "redis" };
    const image = `${config.authentik.image}:${version.tag}`;
    const shared = authentikEnv(config, features, aliases);
    const dependencies: ServiceRole[] = features.usesRedis ? ["postgresql", "redis"] : ["postgresql"];
    // First start runs every migration before the health check passes; give it far more than the start period.
    const authentikWait = 600;

    const volumes: Partial<Record<VolumeRole, string>> = {
        database: `${prefix}-database`,
        // One volume for the files across every version: it is mounted where the version keeps its media, so the
        // 2025.12 move from /media to /data/media needs no copy and never replaces the (protected) volume.
        storage: `${prefix}-media`,
        certs: `${prefix}-certs`,
        templates: `${prefix}-custom-templates`,
    };
    if (features.usesRedis) {
        volumes.redis = `${prefix}-redis`;
    }

    const storageMounts: VolumeMountPlan[] = [
        { volume: "storage", containerPath: features.mediaPath },
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
            waitTimeoutSeconds: 180,
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
            waitTimeoutSeconds: 120,
        });
    }
    const publish = config.docker.publish?.split(":");
    services.push({
        role: "server",
        containerName: `${prefix}-server`,
        alias: "server",
        image,
        command: ["server"],
        env: shared,
        mounts: storageMounts,
        healthcheck: authentikHealthcheck(features),
        memoryMb: limits.server,
        ...(features.shmSizeMb !== undefined ? { shmSizeMb: features.shmSizeMb } : {}),
        after: dependencies,
        waitTimeoutSeconds: authentikWait,
        ...(publish ? { publish: { ip: publish[0] as string, port: Number(publish[1]), internal: SERVER_HTTP_PORT } } : {}),
    });
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
        ],
        mounts: workerMounts,
        healthcheck: authentikHealthcheck(features),
        memoryMb: limits.worker,
        ...(features.shmSizeMb !== undefined ? { shmSizeMb: features.shmSizeMb } : {}),
        // The Docker socket is root-owned; only then does the worker need root, as in the reference deployment.
        ...(config.authentik.managedOutposts ? { user: "root" } : {}),
        after: dependencies,
        waitTimeoutSeconds: authentikWait,
    });

    return {
        version: version.tag,
        features,
        networkName: `${prefix}-network`,
        subnet: config.docker.subnet,
        volumes,
        services,
        url: publicUrl(config),
        internalUrl: `http://${prefix}-server:${SERVER_HTTP_PORT}`,
        adminUser: ADMIN_USER,
    };
}

/** PostgreSQL 18 images keep data one level up (authentik issue #22016). */
export function postgresMajorVersion(image: string): number | undefined {
    // registry:port/repo:tag@sha256:digest -> tag
    const withoutDigest = image.split("@")[0] ?? "";
    const lastSegment = withoutDigest.split("/").pop() ?? "";
    const tag = lastSegment.includes(":") ? lastSegment.slice(lastSegment.indexOf(":") + 1) : "";
    const match = /^(\d+)/.exec(tag);
    return match ? Number(match[1]) : undefined;
}

export function postgresDataPath(image: string): string {
    const major = postgresMajorVersion(image);
    return major !== undefined && major >= 18 ? "/var/lib/postgresql" : "/var/lib/postgresql/data";
}
