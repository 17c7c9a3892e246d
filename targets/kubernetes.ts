/**
 * The Kubernetes target: the CloudNativePG operator and a replicated PostgreSQL, authentik from its official Helm
 * chart, cloudflared as a Deployment, and network policies, in one namespace of an existing cluster.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KubernetesAuthentik } from "../components/kubernetes/authentik";
import { Connectors } from "../components/kubernetes/connectors";
import { Database } from "../components/kubernetes/database";
import { NetworkPolicies } from "../components/kubernetes/networkPolicies";
import { KubernetesConfig } from "../lib/kubernetes/config";
import { KubernetesPlan, NAMES } from "../lib/kubernetes/plan";
import { TargetContext, secretValues } from "./context";

export function deployToKubernetes(context: TargetContext, plan: KubernetesPlan, kubernetes: KubernetesConfig): Record<string, unknown> {
    const { config, secrets, tunnel } = context;
    if (!tunnel) {
        throw new Error("the Kubernetes target needs the tunnel (cloudflare)");
    }
    const namespace = new k8s.core.v1.Namespace("namespace", { metadata: { name: plan.namespace } }, { protect: config.protect.database });
    const backup = kubernetes.postgres.backup;
    const database = new Database("database", {
        plan,
        namespace,
        ownerPassword: secrets.postgresPassword,
        ...(backup ? { backupCredentials: { accessKeyId: pulumi.secret(backup.credentials.accessKeyId), secretAccessKey: pulumi.secret(backup.credentials.secretAccessKey) } } : {}),
        protect: config.protect.database,
    });
    const authentik = new KubernetesAuthentik("authentik", { plan, namespace, secrets: secretValues(context), database: database.cluster });
    new NetworkPolicies("network", { plan, namespace });
    new Connectors("connectors", { plan, namespace, token: tunnel.token, after: [authentik.release, tunnel.config] });
    return {
        // The release resolves only once its pods are ready (the provider waits; skipAwait is off), or the update fails.
        authentikVersion: pulumi.all([authentik.release.status]).apply(() => plan.version),
        namespace: plan.namespace,
        helmRelease: NAMES.release,
        chartVersion: plan.chart.version,
        databaseCluster: NAMES.database,
    };
}

