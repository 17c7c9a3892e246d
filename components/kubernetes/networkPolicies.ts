import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KubernetesPlan } from "../../lib/kubernetes/plan";

/** Only cloudflared may reach the authentik server, and only authentik (and the operator) the database. */
export class NetworkPolicies extends pulumi.ComponentResource {
    constructor(name: string, args: { plan: KubernetesPlan; namespace: k8s.core.v1.Namespace }, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:kubernetes:NetworkPolicies", name, {}, opts);
        for (const policy of args.plan.networkPolicies) {
            const policyName = (policy.metadata as { name: string } | undefined)?.name ?? "policy";
            new k8s.networking.v1.NetworkPolicy(`${name}-${policyName}`, policy, { parent: this, dependsOn: [args.namespace] });
        }
        this.registerOutputs({});
    }
}
