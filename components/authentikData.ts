import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { AuthentikPlan, ServiceRole, VolumeRole } from "../lib/authentikPlan";
import { SecretValues, pinnedImage, serviceContainer } from "./serviceContainer";

export interface AuthentikDataArgs {
    /** The plan from `planAuthentik`; this component creates its network, volumes, PostgreSQL and Redis. */
    plan: AuthentikPlan;
    /** Needs postgresPassword. */
    secrets: SecretValues;
    /**
     * Protect the database and file storage volumes from deletion and replacement: the users' identities live
     * there.
     */
    protectData: boolean;
}

/**
 * The stateful half of authentik: its bridge network with a fixed subnet, every named volume, and the PostgreSQL
 * (and, before 2025.10, Redis) containers, each reporting healthy before `pulumi up` moves on.
 */
export class AuthentikData extends pulumi.ComponentResource {
    public readonly network: docker.Network;
    public readonly networkName: pulumi.Output<string>;
    public readonly volumes: Readonly<Partial<Record<VolumeRole, docker.Volume>>>;
    /** The PostgreSQL image; the backup container runs it too, for pg_dump of the same major version. */
    public readonly postgresImage: docker.RemoteImage;
    public readonly containers: Readonly<Partial<Record<ServiceRole, docker.Container>>>;

    constructor(name: string, args: AuthentikDataArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:docker:Data", name, {}, opts);
        const { plan } = args;

        this.network = new docker.Network(
            `${name}-network`,
            { name: plan.networkName, driver: "bridge", ipamConfigs: [{ subnet: plan.subnet }] },
            // The name is fixed: a new subnet means removing the network (and replacing its containers) first.
            { parent: this, deleteBeforeReplace: true },
        );
        this.networkName = this.network.name;

        const volumes: Partial<Record<VolumeRole, docker.Volume>> = {};
        for (const [role, volumeName] of Object.entries(plan.volumes) as [VolumeRole, string][]) {
            const holdsUserData = role === "database" || role === "storage";
            // protect: the database and uploaded files are the installation; losing them loses every identity.
            volumes[role] = new docker.Volume(`${name}-volume-${role}`, { name: volumeName }, { parent: this, protect: holdsUserData && args.protectData });
        }
        this.volumes = volumes;

        const containers: Partial<Record<ServiceRole, docker.Container>> = {};
        let postgresImage: docker.RemoteImage | undefined;
        for (const service of plan.services.filter((item) => item.role === "postgresql" || item.role === "redis")) {
            const image = pinnedImage(`${name}-image-${service.role}`, service.image, { parent: this });
            if (service.role === "postgresql") {
                postgresImage = image;
            }
            containers[service.role] = serviceContainer(
                `${name}-${service.role}`,
                { service, image, networkName: this.networkName, volumes, secrets: args.secrets },
                { parent: this },
            );
        }
        if (!postgresImage) {
            throw new Error("the plan has no PostgreSQL service");
        }
        this.postgresImage = postgresImage;
        this.containers = containers;

        this.registerOutputs({ networkName: this.networkName });
    }
}
