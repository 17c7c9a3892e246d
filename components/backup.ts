import * as fs from "fs";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { renderEnv } from "../lib/authentikPlan";
import { BACKUP_SCRIPT_SOURCE, BACKUP_SCRIPT_TARGET, BackupPlan } from "../lib/backupPlan";
import { CONTAINER_REPLACE_ON_CHANGES, containerBase, healthcheckArgs } from "../lib/containerDefaults";
import { shellQuote } from "../lib/hostScripts";
import { AuthentikData } from "./authentikData";
import { DockerTarget, HostCommand, dockerResourceOptions, hostLabels } from "./dockerHost";
import { containerGate, volumeArgs } from "./serviceContainer";

export interface BackupArgs {
    plan: BackupPlan;
    data: AuthentikData;
    postgresPassword: pulumi.Input<string>;
    target: DockerTarget;
}

/**
 * Daily PostgreSQL dumps and file archives with retention, in a small container on the authentik network, and
 * the dump taken before an authentik upgrade: a new version replaces this container, and its gate passes only once
 * the container started for that version, i.e. after that dump. Server and worker wait for the gate.
 */
export class Backup extends pulumi.ComponentResource {
    public readonly container: docker.Container;
    /** Passes once the container is healthy and has started for the planned authentik version. */
    public readonly ready: HostCommand;
    /** Folder on the Docker host that holds the backups. */
    public readonly hostPath: string;

    constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:docker:Backup", name, {}, opts);
        const { plan, data, target } = args;
        const postgres = data.services.postgresql;
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
                networksAdvanced: [{ name: data.networkName, aliases: ["backup"] }],
                ports: [],
                volumes: plan.mounts.map((mount) => volumeArgs(mount, data.volumes)),
                healthcheck: healthcheckArgs(plan.healthcheck),
                labels: hostLabels(target),
                ...containerBase(plan.memoryMb, plan.stopGraceSeconds),
            },
            // dependsOn: the dump needs a healthy database. Fixed name, so delete before replace.
            {
                parent: this,
                dependsOn: [postgres.ready],
                deleteBeforeReplace: true,
                replaceOnChanges: [...CONTAINER_REPLACE_ON_CHANGES],
                ...dockerResourceOptions(target),
            },
        );
        this.ready = containerGate(
            target,
            `${name}-ready`,
            this.container,
            {
                name: plan.containerName,
                timeoutSeconds: plan.readyTimeoutSeconds,
                alsoRequire: `docker exec ${shellQuote(plan.containerName)} /bin/sh ${BACKUP_SCRIPT_TARGET} ready ${shellQuote(plan.authentikVersion)}`,
            },
            { parent: this },
        );
        this.hostPath = plan.hostPath;

        this.registerOutputs({ containerName: this.container.name });
    }
}
