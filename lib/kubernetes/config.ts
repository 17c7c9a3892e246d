/**
 * authentik-sso:kubernetes: the Kubernetes target (authentik's Helm chart, CloudNativePG, cloudflared as a
 * Deployment). The cluster comes from the Kubernetes provider's own config (kubernetes:kubeconfig,
 * kubernetes:context or KUBECONFIG). Rules that need other keys are in lib/config.ts.
 */
import { z } from "zod";

/** Names that belong to the cluster itself or to the operator: never authentik's namespace. */
export const RESERVED_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease", "cnpg-system"] as const;

/** A Kubernetes namespace: an RFC 1123 label. */
const NAMESPACE_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A Kubernetes quantity of bytes, as a StorageClass name is a DNS subdomain. */
const STORAGE_CLASS_PATTERN = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

const postgresBackupSchema = z.strictObject({
    /** Where the Barman Cloud plugin keeps WAL and base backups, e.g. s3://my-bucket/authentik-pg. */
    destinationPath: z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9._\-/]*)?$/, "must be an S3 URL such as s3://my-bucket/authentik-pg"),
    /** The S3 endpoint of a store other than AWS (MinIO, Backblaze, Ceph RGW, …). */
    endpointUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://s3.example.com" }).optional(),
    /** How long backups are kept, e.g. 30d (days, weeks or months). */
    retention: z.string().regex(/^[1-9][0-9]*[dwm]$/, "must be a number and d, w or m, such as 30d").default("30d"),
    /** The S3 credentials: secrets. */
    credentials: z.strictObject({
        accessKeyId: z.string().min(1),
        secretAccessKey: z.string().min(1),
    }),
});

export const kubernetesSchema = z.strictObject({
    /** Where authentik, its database and the connectors run. */
    namespace: z
        .string()
        .regex(NAMESPACE_PATTERN, "must be a Kubernetes namespace name: lower-case letters, digits and '-', at most 63 characters")
        .refine((name) => !(RESERVED_NAMESPACES as readonly string[]).includes(name), "must be a namespace of its own, not default, kube-*, or the operator's cnpg-system")
        .default("authentik"),
    /** authentik server pods: at least 2, so that one node or one rolling update does not take the login down. */
    serverReplicas: z.number().int().min(2, "must be at least 2: one server pod is a single point of failure (a node, an upgrade)").max(20).default(2),
    workerReplicas: z.number().int().min(1).max(20).default(2),
    /** Storage class of the database volumes; unset: the cluster's default. */
    storageClass: z.string().regex(STORAGE_CLASS_PATTERN, "must be a StorageClass name").optional(),
    postgres: z
        .strictObject({
            /** CloudNativePG instances: a primary and streaming replicas, failover by the operator. */
            instances: z.number().int().min(2, "must be at least 2 (3 recommended): with one instance there is no failover").max(9).default(3),
            storageGb: z.number().int().min(1).max(10000).default(10),
            /** Continuous WAL archiving and a daily base backup to object storage (Barman Cloud plugin; needs cert-manager). */
            backup: postgresBackupSchema.optional(),
        })
        .prefault({}),
    /** cloudflared replicas (the tunnel is required on this target). */
    connectors: z.number().int().min(1).max(10).default(2),
});

export type KubernetesConfig = z.output<typeof kubernetesSchema>;
