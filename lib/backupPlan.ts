/** The backup container, planned as data: what it mounts, runs and reports. */
import * as path from "path";
import { POSTGRES } from "./authentikPlan";
import type { AuthentikPlan, EnvEntry, VolumeMountPlan } from "./authentikPlan";
import type { StackConfig } from "./config";
import type { HealthcheckPlan } from "./containerDefaults";

export const BACKUP_SCRIPT_SOURCE = path.join(__dirname, "..", "scripts", "authentik-backup.sh");
export const BACKUP_SCRIPT_TARGET = "/usr/local/bin/authentik-backup";
export const BACKUP_DIR_IN_CONTAINER = "/backups";
const FILES_ROOT = "/sources";

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
}

export function planBackup(config: StackConfig, authentik: AuthentikPlan): BackupPlan {
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
    };
}
