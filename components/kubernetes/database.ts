import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { POSTGRES } from "../../lib/authentikPlan";
import { BARMAN_CLOUD_PLUGIN, CNPG_OPERATOR_CHART, KubernetesPlan, NAMES } from "../../lib/kubernetes/plan";

export interface DatabaseArgs {
    plan: KubernetesPlan;
    namespace: k8s.core.v1.Namespace;
    /** The database owner's password (generated, secret). */
    ownerPassword: pulumi.Input<string>;
    /** With kubernetes.postgres.backup: the S3 credentials (secrets). */
    backupCredentials?: { accessKeyId: pulumi.Input<string>; secretAccessKey: pulumi.Input<string> };
    /** Protect the cluster from deletion (protect.database). */
    protect: boolean;
}

/**
 * PostgreSQL for authentik from the CloudNativePG operator: a primary and streaming replicas with automatic
 * failover, the owner's password from the stack, and with a backup destination the Barman Cloud plugin's continuous
 * WAL archive and a daily base backup. The operator (and the plugin) come first: their CRDs and webhooks must exist
 * before the cluster's custom resources.
 */
export class Database extends pulumi.ComponentResource {
    public readonly cluster: k8s.apiextensions.CustomResource;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:kubernetes:Database", name, {}, opts);
        const operator = new k8s.helm.v3.Release(
            `${name}-operator`,
            {
                name: "cnpg",
                chart: CNPG_OPERATOR_CHART.name,
                version: CNPG_OPERATOR_CHART.version,
                repositoryOpts: { repo: CNPG_OPERATOR_CHART.repository },
                namespace: CNPG_OPERATOR_CHART.namespace,
                createNamespace: true,
                // Fails the update (and rolls the release back) when the operator does not become ready.
                atomic: true,
                timeout: 600,
            },
            { parent: this },
        );
        const owner = new k8s.core.v1.Secret(
            `${name}-owner`,
            {
                metadata: { name: NAMES.databaseOwner, namespace: args.namespace.metadata.name },
                type: "kubernetes.io/basic-auth",
                stringData: { username: POSTGRES.user, password: pulumi.secret(args.ownerPassword) },
            },
            { parent: this },
        );
        const after: pulumi.Resource[] = [operator, owner];
        const backup = args.plan.backup;
        if (backup && args.backupCredentials) {
            const plugin = new k8s.yaml.v2.ConfigFile(`${name}-barman-cloud-plugin`, { file: BARMAN_CLOUD_PLUGIN.manifest }, { parent: this, dependsOn: [operator] });
            const credentials = new k8s.core.v1.Secret(
                `${name}-backup-credentials`,
                {
                    metadata: { name: NAMES.objectStoreCredentials, namespace: args.namespace.metadata.name },
                    stringData: { ACCESS_KEY_ID: pulumi.secret(args.backupCredentials.accessKeyId), ACCESS_SECRET_KEY: pulumi.secret(args.backupCredentials.secretAccessKey) },
                },
                { parent: this },
            );
            const objectStore = new k8s.apiextensions.CustomResource(`${name}-object-store`, backup.objectStore as k8s.apiextensions.CustomResourceArgs, {
                parent: this,
                dependsOn: [plugin, credentials, args.namespace],
            });
            after.push(objectStore);
        }
        this.cluster = new k8s.apiextensions.CustomResource(`${name}-cluster`, args.plan.database as k8s.apiextensions.CustomResourceArgs, {
            parent: this,
            dependsOn: [...after, args.namespace],
            protect: args.protect,
            // The wait for Ready (pulumi.com/waitFor) would give up after the provider's 10 minutes; volumes provisioned
            // one instance after the other can take longer.
            customTimeouts: { create: "20m", update: "20m" },
        });
        if (backup) {
            new k8s.apiextensions.CustomResource(`${name}-daily-backup`, backup.scheduledBackup as k8s.apiextensions.CustomResourceArgs, { parent: this, dependsOn: [this.cluster] });
        }
        this.registerOutputs({ cluster: NAMES.database });
    }
}
