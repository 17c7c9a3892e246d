import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SecretRef } from "../../lib/authentikPlan";
import { AUTHENTIK_CHART, KubernetesPlan, NAMES } from "../../lib/kubernetes/plan";

export interface KubernetesAuthentikArgs {
    plan: KubernetesPlan;
    namespace: k8s.core.v1.Namespace;
    /** The stack's secrets by reference (secret key, bootstrap password and token, SMTP, identity). */
    secrets: Readonly<Partial<Record<SecretRef, pulumi.Input<string>>>>;
    /** authentik starts once its database exists. */
    database: pulumi.Resource;
}

/**
 * authentik from its official Helm chart, pinned to the chart of the configured release. Server and worker read every
 * secret from the Secret this component creates (global.env secretKeyRef): the chart's values hold none, so a preview
 * shows them in full. The blueprints reach the worker as a ConfigMap, as the chart mounts them.
 */
export class KubernetesAuthentik extends pulumi.ComponentResource {
    public readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: KubernetesAuthentikArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:kubernetes:Authentik", name, {}, opts);
        const { plan } = args;
        const stringData = Object.fromEntries(
            Object.entries(plan.secretKeys).map(([key, ref]) => {
                const value = args.secrets[ref];
                if (value === undefined) {
                    throw new Error(`the secret ${ref} is needed by authentik but was not provided`);
                }
                return [key, pulumi.secret(value)];
            }),
        );
        const secrets = new k8s.core.v1.Secret(`${name}-secrets`, { metadata: { name: NAMES.secrets, namespace: args.namespace.metadata.name }, stringData }, { parent: this });
        const dependsOn: pulumi.Resource[] = [secrets, args.database, args.namespace];
        if (Object.keys(plan.blueprints).length > 0) {
            dependsOn.push(new k8s.core.v1.ConfigMap(`${name}-blueprints`, { metadata: { name: NAMES.blueprints, namespace: args.namespace.metadata.name }, data: plan.blueprints }, { parent: this }));
        }
        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                // Explicit: the chart names its Service after the release, and the tunnel points at it.
                name: NAMES.release,
                chart: AUTHENTIK_CHART.name,
                version: plan.chart.version,
                repositoryOpts: { repo: AUTHENTIK_CHART.repository },
                namespace: plan.namespace,
                values: plan.values,
                // Waits for the pods to be ready (probes), but does not roll back: authentik migrates its database when
                // it starts, and the older version must not run on a database a newer one has migrated.
                atomic: false,
                timeout: 900,
            },
            { parent: this, dependsOn },
        );
        this.registerOutputs({ release: NAMES.release });
    }
}
