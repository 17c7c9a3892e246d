import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CONTAINER_REPLACE_ON_CHANGES, containerBase, healthcheckArgs } from "../../lib/containerDefaults";
import { ConnectorPlan } from "../../lib/tunnelPlan";
import { DockerTarget, dockerResourceOptions, hostLabels } from "./dockerHost";
import { GatedContainer, containerGate, pinnedImage } from "./serviceContainer";

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
     * What must exist before a connector starts: the ingress config and a ready server. The tunnel's connections
     * cleanup is among them too, so that `pulumi destroy` removes the connectors before it runs and the tunnel goes
     * last (a tunnel with live connections cannot be deleted).
     */
    startAfter: pulumi.Input<pulumi.Resource>[];
    target: DockerTarget;
}

/** cloudflared connectors for a remotely managed tunnel; two or more keep the tunnel up while one restarts. */
export class Cloudflared extends pulumi.ComponentResource {
    public readonly connectors: GatedContainer[];

    constructor(name: string, args: CloudflaredArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:docker:Cloudflared", name, {}, opts);
        const { plan, target } = args;
        const image = pinnedImage(`${name}-image`, args.image, target, { parent: this });
        // A file in the container, not an environment variable that `docker inspect` shows. The image runs as
        // uid 65532 and the upload is root's: readable by all, inside a container that runs nothing else.
        const uploads = pulumi.secret(pulumi.output(args.token).apply((token) => [{ file: plan.tokenFile, content: token, permissions: "0444" }]));

        this.connectors = plan.containerNames.map((containerName, index) => {
            const container = new docker.Container(
                `${name}-${index + 1}`,
                {
                    name: containerName,
                    image: image.imageId,
                    command: [...plan.command],
                    uploads,
                    networksAdvanced: [{ name: args.networkName }],
                    ports: [],
                    healthcheck: healthcheckArgs(plan.healthcheck),
                    labels: hostLabels(target),
                    ...containerBase(args.memoryMb, plan.stopGraceSeconds),
                },
                {
                    parent: this,
                    dependsOn: args.startAfter,
                    // Fixed name: delete before replace. The provider stores uploads in state as they are.
                    deleteBeforeReplace: true,
                    additionalSecretOutputs: ["uploads"],
                    replaceOnChanges: [...CONTAINER_REPLACE_ON_CHANGES],
                    ...dockerResourceOptions(target),
                },
            );
            const ready = containerGate(target, `${name}-${index + 1}-ready`, container, { name: containerName, timeoutSeconds: plan.readyTimeoutSeconds }, { parent: this });
            return { container, ready };
        });

        this.registerOutputs({ containerNames: plan.containerNames });
    }
}
