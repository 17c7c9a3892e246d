import * as fs from "fs";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { renderEnv } from "../../lib/authentikPlan";
import { BACKUP_SCRIPT_SOURCE, BACKUP_SCRIPT_TARGET, BackupPlan, OFFSITE_ENV_FILE, OffsitePlan, offsiteEnvFile } from "../../lib/backupPlan";
import { CONTAINER_REPLACE_ON_CHANGES, containerBase, healthcheckArgs } from "../../lib/containerDefaults";
import { oneShotScript, shellQuote } from "../../lib/hostScripts";
import { AuthentikData } from "./authentikData";
import { DockerTarget, HostCommand, dockerResourceOptions, hostLabels } from "./dockerHost";
import { containerGate, pinnedImage, volumeArgs } from "./serviceContainer";

export interface OffsiteSecrets {
    /** The backend's credentials (backup.offsite.env), secrets. */
    credentials: Readonly<Record<string, pulumi.Input<string>>>;
    /** backup.offsite.password; without it the component generates one. */
    password?: pulumi.Input<string>;
    /** AUTHENTIK_SECRET_KEY, stored in every off-site snapshot so that a recovery needs nothing else. */
    secretKey: pulumi.Input<string>;
}

export interface BackupArgs {
    plan: BackupPlan;
    data: AuthentikData;
    postgresPassword: pulumi.Input<string>;
    target: DockerTarget;
    /** With plan.offsite. */
    offsite?: OffsiteSecrets;
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
    /** The off-site repository's password (secret): without it the off-site backups cannot be read. */
    public readonly offsitePassword?: pulumi.Output<string>;

    constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:docker:Backup", name, {}, opts);
        const { plan, data, target } = args;
        const postgres = data.services.postgresql;
        if (!postgres) {
            throw new Error("backups need the PostgreSQL container");
        }

        const offsite = plan.offsite && args.offsite ? this.offsite(name, plan.offsite, args.offsite, data, target) : undefined;
        this.offsitePassword = offsite?.password;

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
                uploads: offsite
                    ? pulumi.secret(offsite.envFile.apply((envFile) => [backupScriptUpload(), { file: OFFSITE_ENV_FILE, content: envFile, permissions: "0400" }]))
                    : [backupScriptUpload()],
                networksAdvanced: [{ name: data.networkName, aliases: ["backup"] }],
                ports: [],
                volumes: plan.mounts.map((mount) => volumeArgs(mount, data.volumes)),
                healthcheck: healthcheckArgs(plan.healthcheck),
                labels: hostLabels(target),
                ...containerBase(plan.memoryMb, plan.stopGraceSeconds),
            },
            // dependsOn: the dump needs a healthy database (and off-site backups the restic binary). Fixed name, so
            // delete before replace. The provider stores uploads in state as they are: the off-site secrets are there.
            {
                parent: this,
                dependsOn: [postgres.ready, ...(offsite ? [offsite.installed] : [])],
                deleteBeforeReplace: true,
                replaceOnChanges: [...CONTAINER_REPLACE_ON_CHANGES],
                ...(offsite ? { additionalSecretOutputs: ["uploads"] } : {}),
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

        this.registerOutputs({ containerName: this.container.name, ...(this.offsitePassword ? { offsitePassword: this.offsitePassword } : {}) });
    }

    /**
     * Off-site copies with restic, which runs in this container (one schedule, one health check, one memory limit;
     * the container stays on PostgreSQL's image for a pg_dump of the server's major version). restic is one static
     * binary: copied from the pinned official image into a volume this container mounts read-only.
     */
    private offsite(name: string, plan: OffsitePlan, secrets: OffsiteSecrets, data: AuthentikData, target: DockerTarget) {
        const volume = data.volumes.restic;
        if (!volume) {
            throw new Error("off-site backups need the restic volume");
        }
        const password =
            secrets.password !== undefined
                ? pulumi.secret(pulumi.output(secrets.password))
                : pulumi.secret(
                      new random.RandomPassword(`${name}-offsite-password`, { length: 48, special: false, minLower: 4, minUpper: 4, minNumeric: 4 }, { parent: this }).result,
                  );
        const image = pinnedImage(`${name}-image-restic`, plan.resticImage, target, { parent: this });
        const installed = target.command(
            `${name}-restic-install`,
            {
                create: pulumi.all([image.imageId, volume.name]).apply(([imageId, volumeName]) =>
                    oneShotScript({
                        image: imageId,
                        volumes: { [volumeName]: "/out" },
                        env: {},
                        memoryMb: 64,
                        // Replaced whole: a container running the old binary keeps its copy until it is done.
                        script: "set -eu\ncp /usr/bin/restic /out/restic.new\nchmod 0755 /out/restic.new\nmv /out/restic.new /out/restic\n/out/restic version\n",
                    }),
                ),
                triggers: [image.imageId, volume.name, ...(target.hostIdentity !== undefined ? [target.hostIdentity] : [])],
            },
            { parent: this, dependsOn: [volume] },
        );
        const envFile = pulumi
            .all([password, pulumi.output(secrets.secretKey), pulumi.all(secrets.credentials)])
            .apply(([repositoryPassword, secretKey, credentials]) =>
                offsiteEnvFile({ RESTIC_REPOSITORY: plan.repository, RESTIC_PASSWORD: repositoryPassword, AUTHENTIK_SECRET_KEY: secretKey, ...credentials }),
            );
        return { password, installed, envFile: pulumi.secret(envFile) };
    }
}

function backupScriptUpload(): docker.types.input.ContainerUpload {
    return { file: BACKUP_SCRIPT_TARGET, content: fs.readFileSync(BACKUP_SCRIPT_SOURCE, "utf8"), executable: true };
}
