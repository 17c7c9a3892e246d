/** The backup container, planned as data: what it mounts, runs and reports. */
import * as path from "path";
import { POSTGRES } from "./authentikPlan";
import type { AuthentikPlan, EnvEntry, HealthcheckPlan, VolumeMountPlan } from "./authentikPlan";
import type { StackConfig } from "./config";

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
    readonly waitTimeoutSeconds: number;
    readonly hostPath: string;
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
            // Read-only: backups never write into authentik's files; scripts/restore.sh mounts them writable.
            // Always /sources/media, whatever the version mounts it at, so every archive has the same layout.
            { volume: "storage", containerPath: `${FILES_ROOT}/media`, readOnly: true },
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
        waitTimeoutSeconds: 900,
        hostPath: config.backup.hostPath,
    };
}
