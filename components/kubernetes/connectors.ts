import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KubernetesPlan, NAMES } from "../../lib/kubernetes/plan";

export interface ConnectorsArgs {
    plan: KubernetesPlan;
    namespace: k8s.core.v1.Namespace;
    /** The tunnel's connector token (secret). */
    token: pulumi.Input<string>;
    /** The connectors start once authentik is up: the tunnel has nothing to serve before. */
    after: pulumi.Resource[];
}

/** cloudflared as a Deployment of N replicas spread over nodes, with the token from a Secret and a disruption budget. */
export class Connectors extends pulumi.ComponentResource {
    constructor(name: string, args: ConnectorsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:kubernetes:Connectors", name, {}, opts);
        const namespace = args.namespace.metadata.name;
        const token = new k8s.core.v1.Secret(`${name}-token`, { metadata: { name: NAMES.connectorToken, namespace }, stringData: { token: pulumi.secret(args.token) } }, { parent: this });
        const { deployment, disruptionBudget } = args.plan.connectors;
        new k8s.apps.v1.Deployment(`${name}-deployment`, deployment, { parent: this, dependsOn: [token, ...args.after] });
        new k8s.policy.v1.PodDisruptionBudget(`${name}-disruption-budget`, disruptionBudget, { parent: this, dependsOn: [args.namespace] });
        this.registerOutputs({});
    }
}
