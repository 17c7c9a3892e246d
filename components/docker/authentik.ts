import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { AuthentikPlan, ServiceRole } from "../../lib/authentikPlan";
import { oneShotScript, pruneImagesScript, shellQuote } from "../../lib/hostScripts";
import { AuthentikData } from "./authentikData";
import { DockerTarget, HostCommand } from "./dockerHost";
import { GatedContainer, SecretValues, pinnedImage, serviceContainer } from "./serviceContainer";

export const PREPARE_DATA_SCRIPT = path.join(__dirname, "..", "..", "scripts", "prepare-data.sh");

export interface AuthentikArgs {
    /** The plan from `planAuthentik`; this component creates the server and worker. */
    plan: AuthentikPlan;
    /** The network, volumes and databases the server and worker use. */
    data: AuthentikData;
    /** Values for the secret references in the plan's environment; smtpPassword only when SMTP auth is used. */
    secrets: SecretValues;
    /** Gates that must pass before server and worker are (re)created, e.g. the pre-upgrade dump. */
    startAfter: pulumi.Input<pulumi.Resource>[];
    /** The backup container, which sees the data volume at /sources/data and has a shell. */
    backupContainerName: string;
    target: DockerTarget;
}

/**
 * From 2025.12: the data volume must hold a real media folder. A volume re-created outside a version change or a
 * new VM (deleted by hand, say) is filled by Docker with the image's symlink to /media, and uploads would then vanish
 * with the container: the server's gate says so at once.
 */
function dataFolderCheck(backupContainer: string): string {
    return `docker exec ${shellQuote(backupContainer)} sh -c 'test -d /sources/data/media && ! test -L /sources/data/media' || { echo "/data/media is not a folder in the data volume (Docker filled a new volume with the image's symlink): run pulumi up --replace the urn of authentik-prepare-data"; false; }`;
}

/** authentik's server and worker: stateless, started only once their databases and the pre-upgrade dump are ready. */
export class Authentik extends pulumi.ComponentResource {
    public readonly server: GatedContainer;
    public readonly worker: GatedContainer;
    public readonly containerNames: pulumi.Output<Record<string, string>>;
    /** The worker's container name (it holds the blueprints). */
    public readonly workerName: string;
    /** The server's container name. */
    public readonly serverName: string;
    /** Resolves to the deployed version once server and worker have both reported healthy. */
    public readonly runningVersion: pulumi.Output<string>;

    constructor(name: string, args: AuthentikArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:docker:Authentik", name, {}, opts);
        const { plan, data, target } = args;

        const startAfter: pulumi.Input<pulumi.Resource>[] = [...args.startAfter];
        if (plan.prepareData) {
            startAfter.push(this.prepareData(name, plan, data, target, args.startAfter));
        }

        const services: Partial<Record<ServiceRole, GatedContainer>> = {};
        const image = pinnedImage(`${name}-image-server`, plan.image, target, { parent: this });
        for (const service of plan.services.filter((item) => item.role === "server" || item.role === "worker")) {
            const after = service.after.map((role) => {
                const dependency = data.services[role];
                if (!dependency) {
                    throw new Error(`${service.role} must start after ${role}, which the data component does not create`);
                }
                return dependency.ready;
            });
            services[service.role] = serviceContainer(
                `${name}-${service.role}`,
                {
                    service,
                    image,
                    networkName: data.networkName,
                    volumes: data.volumes,
                    secrets: args.secrets,
                    target,
                    ...(plan.prepareData && service.role === "server" ? { gatePrecondition: dataFolderCheck(args.backupContainerName) } : {}),
                },
                { parent: this, dependsOn: [...after, ...startAfter] },
            );
        }
        if (!services.server || !services.worker) {
            throw new Error("the plan has no server or no worker");
        }
        this.server = services.server;
        this.worker = services.worker;

        // Each upgrade leaves the old image (~1 GB) behind; it goes once the new version is up, never before.
        target.command(
            `${name}-prune-images`,
            { create: image.imageId.apply((keepImageId) => pruneImagesScript({ repository: plan.imageRepository, keepImageId })), triggers: [image.imageId] },
            { parent: this, dependsOn: [this.server.ready, this.worker.ready] },
        );

        this.containerNames = pulumi.output(Object.fromEntries(plan.services.map((service) => [service.role, service.containerName])));
        this.workerName = plan.services.find((service) => service.role === "worker")?.containerName ?? "";
        this.serverName = plan.services.find((service) => service.role === "server")?.containerName ?? "";
        // The gates' outputs are secret when they run over SSH (the command provider marks every output of a command
        // with a secret connection); the version is not.
        this.runningVersion = pulumi.unsecret(pulumi.all([this.server.ready.stdout, this.worker.ready.stdout]).apply(() => plan.version));

        this.registerOutputs({ containerNames: this.containerNames, runningVersion: this.runningVersion });
    }

    /**
     * From 2025.12: the storage root gets a real media folder owned by authentik and, once, the files of the old
     * media volume, before server and worker see it (scripts/prepare-data.sh). Runs again with every version change.
     */
    private prepareData(name: string, plan: AuthentikPlan, data: AuthentikData, target: DockerTarget, after: pulumi.Input<pulumi.Resource>[]): HostCommand {
        const prepare = plan.prepareData;
        const dataVolume = prepare ? data.volumes[prepare.data] : undefined;
        const mediaVolume = prepare ? data.volumes[prepare.legacyMedia] : undefined;
        if (!dataVolume || !mediaVolume) {
            throw new Error("preparing /data needs the data and media volumes");
        }
        const script = fs.readFileSync(PREPARE_DATA_SCRIPT, "utf8");
        return target.command(
            `${name}-prepare-data`,
            {
                create: pulumi
                    .all([data.postgresImage.imageId, dataVolume.name, mediaVolume.name])
                    .apply(([image, dataName, mediaName]) =>
                        oneShotScript({ image, volumes: { [dataName]: "/data", [mediaName]: "/legacy-media:ro" }, env: {}, memoryMb: 64, script }),
                    ),
                // Again with every version and on a new VM, whose new data volume Docker fills with the image's symlink.
                triggers: [plan.version, dataVolume.name, mediaVolume.name, ...(target.hostIdentity !== undefined ? [target.hostIdentity] : [])],
            },
            { parent: this, dependsOn: [...after, dataVolume, mediaVolume] },
        );
    }
}
