import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { AuthentikPlan, ServiceRole } from "../lib/authentikPlan";
import { AuthentikData } from "./authentikData";
import { SecretValues, pinnedImage, serviceContainer } from "./serviceContainer";

export interface AuthentikArgs {
    /** The plan from `planAuthentik`; this component creates the server and worker. */
    plan: AuthentikPlan;
    /** The network, volumes and databases the server and worker use. */
    data: AuthentikData;
    /** Values for the secret references in the plan's environment; smtpPassword only when SMTP auth is used. */
    secrets: SecretValues;
    /** Resources that must be done before server and worker are (re)created, e.g. the pre-upgrade dump. */
    startAfter?: pulumi.Input<pulumi.Resource>[];
}

/** authentik's server and worker: stateless, started only once their databases are healthy. */
export class Authentik extends pulumi.ComponentResource {
    public readonly server: docker.Container;
    public readonly worker: docker.Container;
    public readonly containerNames: pulumi.Output<Record<string, string>>;
    /** The server's URL on the authentik network, e.g. http://server:9000. */
    public readonly internalUrl: string;

    constructor(name: string, args: AuthentikArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:docker:Authentik", name, {}, opts);
        const { plan, data } = args;

        const containers: Partial<Record<ServiceRole, docker.Container>> = {};
        const image = pinnedImage(`${name}-image-server`, imageOf(plan, "server"), { parent: this });
        for (const service of plan.services.filter((item) => item.role === "server" || item.role === "worker")) {
            const after = service.after.map((role) => {
                const container = data.containers[role];
                if (!container) {
                    throw new Error(`${service.role} must start after ${role}, which the data component does not create`);
                }
                return container;
            });
            containers[service.role] = serviceContainer(
                `${name}-${service.role}`,
                { service, image, networkName: data.networkName, volumes: data.volumes, secrets: args.secrets },
                { parent: this, dependsOn: [...after, ...(args.startAfter ?? [])] },
            );
        }
        this.server = containers.server as docker.Container;
        this.worker = containers.worker as docker.Container;
        this.containerNames = pulumi.output(Object.fromEntries(plan.services.map((service) => [service.role, service.containerName])));
        this.internalUrl = plan.internalUrl;

        this.registerOutputs({ containerNames: this.containerNames });
    }
}

function imageOf(plan: AuthentikPlan, role: ServiceRole): string {
    const service = plan.services.find((item) => item.role === role);
    if (!service) {
        throw new Error(`the plan has no ${role} service`);
    }
    return service.image;
}
