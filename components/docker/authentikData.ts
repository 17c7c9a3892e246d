import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AuthentikPlan, ServiceRole, VolumeRole } from "../../lib/authentikPlan";
import { nameGuardScript } from "../../lib/hostScripts";
import { DockerTarget, HostCommand, dockerResourceOptions, hostLabels } from "./dockerHost";
import { GatedContainer, SecretValues, pinnedImage, serviceContainer } from "./serviceContainer";

/** The label every volume and the network of one stack carry, with that stack's instance id. */
export const INSTANCE_LABEL = "io.authentik-sso.instance";

export interface AuthentikDataArgs {
    /** The plan from `planAuthentik`; this component creates its network, volumes, PostgreSQL and Redis. */
    plan: AuthentikPlan;
    /** Needs postgresPassword. */
    secrets: SecretValues;
    /**
     * Protect the database and file volumes from deletion and replacement: the users' identities live there.
     */
    protectData: boolean;
    /** The Docker engine. */
    target: DockerTarget;
}

/**
 * The stateful half of authentik: its bridge network with a fixed subnet, every named volume, and the PostgreSQL
 * (and, before 2025.10, Redis) containers, each gated on healthy before anything that uses it starts.
 */
export class AuthentikData extends pulumi.ComponentResource {
    public readonly network: docker.Network;
    public readonly networkName: pulumi.Output<string>;
    public readonly volumes: Readonly<Partial<Record<VolumeRole, docker.Volume>>>;
    /** The PostgreSQL image; the backup container and one-off jobs run it too (pg_dump of the same major version). */
    public readonly postgresImage: docker.RemoteImage;
    public readonly services: Readonly<Partial<Record<ServiceRole, GatedContainer>>>;
    /** Refuses volume and network names that exist on the host without this stack's label. */
    public readonly nameGuard: HostCommand;

    constructor(name: string, args: AuthentikDataArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:docker:Data", name, {}, opts);
        const { plan, target } = args;
        const onEngine = dockerResourceOptions(target);

        // Generated once per stack: a volume or network of the same name that lacks it belongs to someone else.
        const instance = new random.RandomUuid(`${name}-instance`, {}, { parent: this });
        const labels = [{ label: INSTANCE_LABEL, value: instance.result }, ...hostLabels(target)];
        const volumeNames = Object.values(plan.volumes);
        this.nameGuard = target.command(
            `${name}-names`,
            {
                create: instance.result.apply((value) => nameGuardScript({ label: INSTANCE_LABEL, value, volumes: volumeNames, networks: [plan.networkName] })),
                // A new VM (a new host identity) is checked too.
                triggers: [instance.result, plan.networkName, ...volumeNames, ...(target.hostIdentity !== undefined ? [target.hostIdentity] : [])],
            },
            { parent: this },
        );

        this.network = new docker.Network(
            `${name}-network`,
            { name: plan.networkName, driver: "bridge", ipamConfigs: [{ subnet: plan.subnet, gateway: plan.gateway }], labels },
            // The name is fixed: a new subnet means removing the network (and replacing its containers) first.
            { parent: this, deleteBeforeReplace: true, dependsOn: [this.nameGuard], ...onEngine },
        );
        this.networkName = this.network.name;

        const volumes: Partial<Record<VolumeRole, docker.Volume>> = {};
        for (const [role, volumeName] of Object.entries(plan.volumes) as [VolumeRole, string][]) {
            const holdsUserData = role === "database" || role === "media" || role === "data";
            volumes[role] = new docker.Volume(
                `${name}-volume-${role}`,
                { name: volumeName, labels },
                {
                    parent: this,
                    // protect: the database and uploaded files are the installation; losing them loses every identity.
                    protect: holdsUserData && args.protectData,
                    // Docker hands back the existing volume for a create of the same name, and the old resource's
                    // delete would then remove it: a replacement must delete first.
                    deleteBeforeReplace: true,
                    dependsOn: [this.nameGuard],
                    ...onEngine,
                },
            );
        }
        this.volumes = volumes;

        const services: Partial<Record<ServiceRole, GatedContainer>> = {};
        let postgresImage: docker.RemoteImage | undefined;
        for (const service of plan.services.filter((item) => item.role === "postgresql" || item.role === "redis")) {
            const image = pinnedImage(`${name}-image-${service.role}`, service.image, target, { parent: this });
            if (service.role === "postgresql") {
                postgresImage = image;
            }
            services[service.role] = serviceContainer(
                `${name}-${service.role}`,
                { service, image, networkName: this.networkName, volumes, secrets: args.secrets, target },
                { parent: this },
            );
        }
        if (!postgresImage) {
            throw new Error("the plan has no PostgreSQL service");
        }
        this.postgresImage = postgresImage;
        this.services = services;

        this.registerOutputs({ networkName: this.networkName });
    }
}
