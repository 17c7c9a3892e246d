import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { containerHardening, healthcheckArgs } from "../lib/containerDefaults";
import { ConnectorPlan } from "../lib/tunnelPlan";
import { pinnedImage } from "./serviceContainer";

export interface CloudflaredArgs {
    plan: ConnectorPlan;
    /** Pinned cloudflared image reference. */
    image: string;
    /** The tunnel's connector token (secret). */
    token: pulumi.Input<string>;
    /** The authentik network: the connectors reach the server there, no host port is published. */
    networkName: pulumi.Input<string>;
    memoryMb: number;
    /**
     * What must exist before a connector starts: the ingress config and a healthy server. The tunnel is among
     * them too, so that `pulumi destroy` removes the connectors before the tunnel (a tunnel with live connectors
     * cannot be deleted).
     */
    startAfter: pulumi.Input<pulumi.Resource>[];
}

/** cloudflared connectors for a remotely managed tunnel; two or more keep the tunnel up while one restarts. */
export class Cloudflared extends pulumi.ComponentResource {
    public readonly containers: docker.Container[];

    constructor(name: string, args: CloudflaredArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:docker:Cloudflared", name, {}, opts);
        const image = pinnedImage(`${name}-image`, args.image, { parent: this });
        const envs = pulumi.secret(pulumi.output(args.token).apply((token) => [`TUNNEL_TOKEN=${token}`]));

        this.containers = args.plan.containerNames.map(
            (containerName, index) =>
                new docker.Container(
                    `${name}-${index + 1}`,
                    {
                        name: containerName,
                        image: image.imageId,
                        command: [...args.plan.command],
                        envs,
                        memory: args.memoryMb,
                        networksAdvanced: [{ name: args.networkName }],
                        ports: [],
                        healthcheck: healthcheckArgs(args.plan.healthcheck),
                        wait: true,
                        waitTimeout: 120,
                        ...containerHardening(),
                    },
                    // Fixed name: delete before replace.
                    { parent: this, dependsOn: args.startAfter, deleteBeforeReplace: true },
                ),
        );

        this.registerOutputs({ containerNames: args.plan.containerNames });
    }
}
