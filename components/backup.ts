import * as fs from "fs";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { renderEnv } from "../lib/authentikPlan";
import { BACKUP_SCRIPT_SOURCE, BACKUP_SCRIPT_TARGET, BackupPlan } from "../lib/backupPlan";
import { containerHardening, healthcheckArgs } from "../lib/containerDefaults";
import { AuthentikData } from "./authentikData";
import { volumeArgs } from "./serviceContainer";

export interface BackupArgs {
    plan: BackupPlan;
    data: AuthentikData;
    postgresPassword: pulumi.Input<string>;
}

/**
 * Daily PostgreSQL dumps and file archives with retention, in a small container on the authentik network, and
 * the dump taken before an authentik upgrade: a new version replaces this container, and the server and worker
 * wait for it to be healthy, which it reports only after that dump.
 */
export class Backup extends pulumi.ComponentResource {
    public readonly container: docker.Container;
    /** Folder on the Docker host that holds the backups. */
    public readonly hostPath: string;

    constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:docker:Backup", name, {}, opts);
        const { plan, data } = args;
        const postgres = data.containers.postgresql;
        if (!postgres) {
            throw new Error("backups need the PostgreSQL container");
        }

        this.container = new docker.Container(
            `${name}-container`,
            {
                name: plan.containerName,
                // The PostgreSQL image brings pg_dump of the server's own major version.
                image: data.postgresImage.imageId,
                entrypoints: [...plan.entrypoint],
                command: [...plan.command],
                user: "root",
                envs: pulumi.secret(pulumi.output(args.postgresPassword).apply((postgresPassword) => renderEnv(plan.env, { postgresPassword }))),
                uploads: [{ file: BACKUP_SCRIPT_TARGET, content: fs.readFileSync(BACKUP_SCRIPT_SOURCE, "utf8"), executable: true }],
                memory: plan.memoryMb,
                networksAdvanced: [{ name: data.networkName, aliases: ["backup"] }],
                ports: [],
                volumes: plan.mounts.map((mount) => volumeArgs(mount, data.volumes)),
                healthcheck: healthcheckArgs(plan.healthcheck),
                wait: true,
                waitTimeout: plan.waitTimeoutSeconds,
                ...containerHardening(),
            },
            // dependsOn: the dump needs a healthy database. Fixed name, so delete before replace.
            { parent: this, dependsOn: [postgres], deleteBeforeReplace: true },
        );
        this.hostPath = plan.hostPath;

        this.registerOutputs({ containerName: this.container.name });
    }
}
