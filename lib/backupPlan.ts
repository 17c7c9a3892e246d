/** The backup container, planned as data: what it mounts, runs and reports. */
import * as path from "path";
import { POSTGRES } from "./authentikPlan";
import type { AuthentikPlan, EnvEntry, VolumeMountPlan } from "./authentikPlan";
import type { StackConfig } from "./config";
import { shellQuote } from "./hostScripts";
import type { HealthcheckPlan } from "./containerDefaults";

export const BACKUP_SCRIPT_SOURCE = path.join(__dirname, "..", "scripts", "authentik-backup.sh");
export const BACKUP_SCRIPT_TARGET = "/usr/local/bin/authentik-backup";
export const BACKUP_DIR_IN_CONTAINER = "/backups";
const FILES_ROOT = "/sources";
/** Where the restic binary (copied from the pinned restic image) is mounted in the backup container. */
export const RESTIC_DIR = "/opt/restic";
/** The off-site settings with secrets (repository, its password, the backend's credentials): a file, not env. */
export const OFFSITE_ENV_FILE = "/etc/authentik-backup/offsite.env";

/** What restic needs besides the plain settings: each becomes `export NAME='value'` in OFFSITE_ENV_FILE. */
export interface OffsitePlan {
    readonly repository: string;
    /** Off-site snapshots carry this as their host, so that every container of the stack is the same host to restic. */
    readonly host: string;
    /** Restic runs from this image's binary. */
    readonly resticImage: string;
    /** A path repository lives on the Docker host: mounted at the same path. */
    readonly hostRepositoryPath?: string;
}

export interface BackupPlan {
    readonly containerName: string;
    readonly entrypoint: readonly string[];
    readonly command: readonly string[];
    readonly env: readonly EnvEntry[];
    readonly mounts: readonly VolumeMountPlan[];
    readonly healthcheck: HealthcheckPlan;
    readonly memoryMb: number;
    /** Seconds `pulumi up` waits for the backup container (and the pre-upgrade dump) before it fails. */
    readonly readyTimeoutSeconds: number;
    readonly stopGraceSeconds: number;
    readonly hostPath: string;
    /** The version whose pre-upgrade dump the container must have taken before it counts as ready. */
    readonly authentikVersion: string;
    readonly offsite?: OffsitePlan;
}

export function planBackup(config: StackConfig, authentik: AuthentikPlan, stack: string): BackupPlan {
    const offsite = config.backup.offsite;
    const offsitePlan: OffsitePlan | undefined = offsite
        ? {
              repository: offsite.repository,
              host: `authentik-sso-${stack}`,
              resticImage: config.docker.images.restic,
              ...(offsite.repository.startsWith("/") ? { hostRepositoryPath: offsite.repository } : {}),
          }
        : undefined;
    return {
        containerName: `${config.docker.namePrefix}-backup`,
        entrypoint: ["/bin/sh", BACKUP_SCRIPT_TARGET],
        command: ["loop"],
        env: [
            { name: "PGHOST", value: POSTGRES.alias },
            { name: "PGUSER", value: POSTGRES.user },
            { name: "PGDATABASE", value: POSTGRES.database },
            { name: "PGPASSWORD", secret: "postgresPassword" },
            { name: "BACKUP_DIR", value: BACKUP_DIR_IN_CONTAINER },
            { name: "FILES_ROOT", value: FILES_ROOT },
            { name: "RETENTION_DAYS", value: String(config.backup.retentionDays) },
            { name: "BACKUP_TIME", value: config.backup.enabled ? config.backup.time : "off" },
            // A new version replaces this container, whose start takes the pre-upgrade dump (see the script).
            { name: "AUTHENTIK_VERSION", value: authentik.version },
            ...(offsite && offsitePlan
                ? [
                      { name: "OFFSITE_ENV_FILE", value: OFFSITE_ENV_FILE },
                      { name: "RESTIC", value: `${RESTIC_DIR}/restic` },
                      { name: "RESTIC_HOST", value: offsitePlan.host },
                      { name: "RESTIC_CACHE_DIR", value: `${BACKUP_DIR_IN_CONTAINER}/.state/restic-cache` },
                      // Go's soft memory limit, below the container's: restic collects garbage before the kernel kills it.
                      { name: "GOMEMLIMIT", value: `${Math.max(32, config.docker.memoryLimitsMb.backup - 32)}MiB` },
                      { name: "KEEP_DAILY", value: String(offsite.keep.daily) },
                      { name: "KEEP_WEEKLY", value: String(offsite.keep.weekly) },
                      { name: "KEEP_MONTHLY", value: String(offsite.keep.monthly) },
                      { name: "CHECK_DAY", value: offsite.checkDay },
                      { name: "STACK_NAME", value: stack },
                      { name: "POSTGRES_IMAGE", value: config.docker.images.postgresql },
                  ]
                : []),
        ],
        mounts: [
            // Read-only: backups never write into authentik's files; scripts/restore.sh mounts them writable. From
            // 2025.12 the whole storage root (media/ and reports/), before that the media folder.
            authentik.features.storageRoot === "/data"
                ? { volume: "data", containerPath: `${FILES_ROOT}/data`, readOnly: true }
                : { volume: "media", containerPath: `${FILES_ROOT}/media`, readOnly: true },
            { volume: "certs", containerPath: `${FILES_ROOT}/certs`, readOnly: true },
            { volume: "templates", containerPath: `${FILES_ROOT}/templates`, readOnly: true },
            { hostPath: config.backup.hostPath, containerPath: BACKUP_DIR_IN_CONTAINER },
            ...(offsitePlan ? [{ volume: "restic" as const, containerPath: RESTIC_DIR, readOnly: true }] : []),
            ...(offsitePlan?.hostRepositoryPath !== undefined ? [{ hostPath: offsitePlan.hostRepositoryPath, containerPath: offsitePlan.hostRepositoryPath }] : []),
        ],
        healthcheck: {
            tests: ["CMD", "/bin/sh", BACKUP_SCRIPT_TARGET, "health"],
            intervalSeconds: 30,
            timeoutSeconds: 10,
            retries: 3,
            // The pre-upgrade dump runs inside the start period.
            startPeriodSeconds: 900,
        },
        memoryMb: config.docker.memoryLimitsMb.backup,
        readyTimeoutSeconds: 900,
        // Stopped mid-dump, the script removes its partial files on SIGTERM; a SIGKILL leaves them to the next start.
        stopGraceSeconds: 30,
        hostPath: config.backup.hostPath,
        authentikVersion: authentik.version,
        ...(offsitePlan ? { offsite: offsitePlan } : {}),
    };
}

/** The secret settings file restic reads: every value quoted for sh, which sources it. */
export function offsiteEnvFile(values: Readonly<Record<string, string>>): string {
    return Object.entries(values)
        .map(([name, value]) => `export ${name}=${shellQuote(value)}`)
        .join("\n")
        .concat("\n");
}
