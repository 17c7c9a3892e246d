/**
 * The Kubernetes target as plain data: authentik's Helm chart and its values, the CloudNativePG cluster and its
 * backups, the cloudflared Deployment, disruption budgets and network policies. Secrets appear only as references to
 * Kubernetes Secrets the stack creates (secretKeyRef), never as values. Facts with sources: /work/shared/notes and
 * README "Kubernetes"; chart templates of goauthentik/helm (charts/authentik) at each version named below.
 */
import { AuthentikEnvTarget, EnvEntry, POSTGRES, SecretRef, TWO_WEB_PROCESSES_FROM_MB, authentikEnv, publicUrl } from "../authentikPlan";
import type { StackConfig } from "../config";
import type { BlueprintFile, IdentityPlan } from "../identityPlan";
import { AuthentikVersion, ReleaseLine, featuresOf, parseAuthentikVersion } from "../versions";
import type { KubernetesConfig } from "./config";
// Types only: the specs below are checked against the Kubernetes provider's schema-generated types.
import type * as k8s from "@pulumi/kubernetes";
import { createHash } from "node:crypto";

/** authentik's chart versions (= app versions) published at https://charts.goauthentik.io, per line. */
export const AUTHENTIK_CHART_VERSIONS: Partial<Record<ReleaseLine, readonly string[]>> = {
    "2025.10": ["2025.10.0", "2025.10.1", "2025.10.2", "2025.10.3"],
    "2025.12": ["2025.12.0", "2025.12.1", "2025.12.2", "2025.12.3", "2025.12.4"],
    "2026.2": ["2026.2.0", "2026.2.1", "2026.2.2", "2026.2.3"],
    "2026.5": ["2026.5.0", "2026.5.2", "2026.5.3", "2026.5.4", "2026.5.5", "2026.5.6"],
    "2026.8": ["2026.8.0"],
};

export const AUTHENTIK_CHART = { name: "authentik", repository: "https://charts.goauthentik.io" } as const;
export const CNPG_OPERATOR_CHART = { name: "cloudnative-pg", repository: "https://cloudnative-pg.github.io/charts", version: "0.29.0", namespace: "cnpg-system" } as const;
/**
 * PostgreSQL for the CloudNativePG cluster: the operator 1.30.0 default (pkg/versions/versions.go), pinned here so that
 * an operator update never changes the PostgreSQL major unasked (Renovate proposes minor updates only).
 */
export const CNPG_POSTGRES_IMAGE = "ghcr.io/cloudnative-pg/postgresql:18.4-system-trixie";
const BARMAN_CLOUD_PLUGIN_VERSION = "0.14.0";
/** The Barman Cloud plugin's release manifest (it must run in the operator's namespace, which it hard-codes). */
export const BARMAN_CLOUD_PLUGIN = {
    version: BARMAN_CLOUD_PLUGIN_VERSION,
    manifest: `https://github.com/cloudnative-pg/plugin-barman-cloud/releases/download/v${BARMAN_CLOUD_PLUGIN_VERSION}/manifest.yaml`,
    name: "barman-cloud.cloudnative-pg.io",
} as const;

export interface ChartChoice {
    readonly version: string;
    /** Set when the chart of the exact version does not exist: the line's newest chart runs this image tag. */
    readonly imageTag?: string;
}

/**
 * The chart of the configured release: its own when published, else the nearest chart of the line (the newest one
 * not newer than the release, or the line's first) running the release's image tag, which the chart allows for a
 * patch version.
 */
export function chartFor(version: AuthentikVersion): ChartChoice {
    const versions = AUTHENTIK_CHART_VERSIONS[version.line as ReleaseLine];
    if (versions === undefined || versions.length === 0) {
        throw new Error(`no authentik chart is known for the line ${version.line}`);
    }
    if (versions.includes(version.tag)) {
        return { version: version.tag };
    }
    const patchOf = (tag: string) => Number(tag.split(".")[2]);
    const older = versions.filter((tag) => patchOf(tag) < version.patch);
    return { version: (older.length > 0 ? older[older.length - 1] : versions[0]) as string, imageTag: version.tag };
}

/** Names on the cluster. The release name contains "authentik", so the chart names its objects after it. */
export const NAMES = {
    release: "authentik",
    /** The chart's server Service: `<release>-server` for a release name containing "authentik". */
    serverService: "authentik-server",
    /** The Secret with the stack's secrets for server and worker (the worker's own: bootstrap, blueprints). */
    secrets: "authentik-sso",
    database: "authentik-db",
    /** kubernetes.io/basic-auth: the database owner and its password. */
    databaseOwner: "authentik-db-owner",
    objectStore: "authentik-db-backup",
    objectStoreCredentials: "authentik-db-backup-s3",
    scheduledBackup: "authentik-db-daily",
    blueprints: "authentik-sso-blueprints",
    connectors: "cloudflared",
    connectorToken: "cloudflared-token",
} as const;

const SERVICE_PORT = 80;

const CLOUDFLARED_METRICS_PORT = 2000;
/** authentik's temporary files from 2026.2 (the image's TMPDIR), sized as on the Docker target. */
const SHM_DIR = "/dev/shm";
/** Where the database's CA certificate is mounted in server and worker (verify-full against the rw service). */
const POSTGRES_CA_DIR = "/postgres-ca";

/** The keys of NAMES.secrets, by the stack's secret references. */
export function secretKeyOf(ref: SecretRef): string {
    return ref.startsWith("identity:") ? ref.slice("identity:".length) : ref.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** Pod labels the chart sets on server and worker (selector labels: name, instance, component). */
export function authentikPodLabels(component?: "server" | "worker"): Record<string, string> {
    return { "app.kubernetes.io/name": "authentik", "app.kubernetes.io/instance": NAMES.release, ...(component ? { "app.kubernetes.io/component": component } : {}) };
}

const CONNECTOR_LABELS = { "app.kubernetes.io/name": "cloudflared", "app.kubernetes.io/part-of": "authentik-sso" } as const;

/** Spread over nodes, softly: on a one-node test cluster everything still schedules. */
function spreadOverNodes(labels: Record<string, string>) {
    return [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: labels } }];
}

export interface EnvVar {
    readonly name: string;
    readonly value?: string;
    readonly valueFrom?: { readonly secretKeyRef: { readonly name: string; readonly key: string } };
}

/** A plain value stays a value; a secret becomes a reference to the Secret that holds it. */
export function toEnvVar(entry: EnvEntry): EnvVar {
    if ("value" in entry) {
        return { name: entry.name, value: entry.value };
    }
    if (entry.secret === "postgresPassword") {
        return { name: entry.name, valueFrom: { secretKeyRef: { name: NAMES.databaseOwner, key: "password" } } };
    }
    return { name: entry.name, valueFrom: { secretKeyRef: { name: NAMES.secrets, key: secretKeyOf(entry.secret) } } };
}

/** The blueprint files as one ConfigMap: keys must be flat names ending in .yaml (the chart mounts them as files). */
export function blueprintConfigMapData(files: readonly BlueprintFile[]): Record<string, string> {
    return Object.fromEntries(files.map((file) => [file.path.replace(/^authentik-sso\//, "").replace(/\//g, "--"), file.content]));
}

/** Where authentik finds a file of the ConfigMap (what `npm run verify` asks the blueprints API for). */
export function blueprintInstancePath(file: BlueprintFile): string {
    return `mounted/cm-${NAMES.blueprints}/${Object.keys(blueprintConfigMapData([file]))[0] as string}`;
}

export interface KubernetesPlan {
    readonly namespace: string;
    readonly chart: ChartChoice;
    /** The tunnel's target inside the cluster. */
    readonly serviceUrl: string;
    readonly url: string;
    readonly version: string;
    /** authentik's chart values: no secret in them, only references. */
    readonly values: Record<string, unknown>;
    /** The secrets NAMES.secrets holds, by key. */
    readonly secretKeys: Readonly<Record<string, SecretRef>>;
    readonly database: Record<string, unknown>;
    readonly backup?: { readonly objectStore: Record<string, unknown>; readonly scheduledBackup: Record<string, unknown> };
    readonly connectors: { readonly deployment: k8s.apps.v1.DeploymentArgs; readonly disruptionBudget: k8s.policy.v1.PodDisruptionBudgetArgs };
    readonly networkPolicies: readonly k8s.networking.v1.NetworkPolicyArgs[];
    readonly blueprints: Readonly<Record<string, string>>;
}

/** `backup.time` (HH:MM, UTC) as the six-field cron CloudNativePG takes (seconds first). */
export function dailyCron(time: string): string {
    const [hours, minutes] = time.split(":").map(Number);
    return `0 ${minutes} ${hours} * * *`;
}

export function planKubernetes(config: StackConfig, kubernetes: KubernetesConfig, identity: IdentityPlan | undefined, blueprints: readonly BlueprintFile[]): KubernetesPlan {
    const version = parseAuthentikVersion(config.authentik.version);
    if (!version) {
        throw new Error(`authentik.version ${config.authentik.version} was not validated`);
    }
    const features = featuresOf(version);
    const chart = chartFor(version);
    const namespace = kubernetes.namespace;
    const limits = config.docker.memoryLimitsMb;
    const target: AuthentikEnvTarget = { postgresHost: `${NAMES.database}-rw.${namespace}.svc` };
    const entries: EnvEntry[] = [
        ...authentikEnv(config, features, target),
        // authentik's own default is "disable": verify the server's certificate against the cluster's CA.
        { name: "AUTHENTIK_POSTGRESQL__SSLMODE", value: "verify-full" },
        { name: "AUTHENTIK_POSTGRESQL__SSLROOTCERT", value: `${POSTGRES_CA_DIR}/ca.crt` },
    ];
    // The worker's alone: the bootstrap (it applies system/bootstrap.yaml on its first start; no file:// for these)
    // and the blueprints' secrets. The internet-facing server never holds them.
    const workerEntries: EnvEntry[] = [
        { name: "AUTHENTIK_BOOTSTRAP_PASSWORD", secret: "bootstrapPassword" },
        { name: "AUTHENTIK_BOOTSTRAP_TOKEN", secret: "bootstrapToken" },
        { name: "AUTHENTIK_BOOTSTRAP_EMAIL", value: config.authentik.bootstrapEmail },
        ...(identity?.secrets ?? []).map((secret): EnvEntry => ({ name: secret.envName, secret: `identity:${secret.key}` })),
    ];
    const secretRefs = [...new Set([...entries, ...workerEntries].flatMap((entry) => ("secret" in entry && entry.secret !== "postgresPassword" ? [entry.secret] : [])))];
    const resources = (mb: number) => ({ requests: { cpu: "100m", memory: `${mb}Mi` }, limits: { memory: `${mb}Mi` } });
    const component = (name: "server" | "worker", replicas: number, memoryMb: number, env: EnvVar[], podAnnotations: Record<string, string> = {}) => ({
        replicas,
        // A rolling update starts a new pod before it stops an old one, whatever the replica count.
        deploymentStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        // A drain or an eviction takes one pod at a time; with one replica it is not blocked (maxUnavailable, not
        // minAvailable, which would stop a node drain forever).
        pdb: { enabled: true, maxUnavailable: 1 },
        topologySpreadConstraints: spreadOverNodes(authentikPodLabels(name)),
        resources: resources(memoryMb),
        ...(env.length > 0 ? { env } : {}),
        ...(Object.keys(podAnnotations).length > 0 ? { podAnnotations } : {}),
    });
    const configMapData = blueprintConfigMapData(blueprints);
    // A changed blueprint restarts the workers, which apply every blueprint as they start (a ConfigMap update alone
    // reaches a running pod late, through a symlink swap). The blueprints hold no secret (those are !Env).
    const blueprintAnnotations: Record<string, string> =
        Object.keys(configMapData).length > 0 ? { "checksum/blueprints": createHash("sha256").update(JSON.stringify(Object.entries(configMapData).sort(([a], [b]) => a.localeCompare(b)))).digest("hex") } : {};

    const values: Record<string, unknown> = {
        global: {
            image: {
                repository: config.authentik.image,
                ...(chart.imageTag !== undefined ? { tag: chart.imageTag } : {}),
                ...(config.authentik.digest !== undefined ? { digest: config.authentik.digest } : {}),
            },
            env: entries.map(toEnvVar),
            volumes: [
                { name: "postgres-ca", secret: { secretName: `${NAMES.database}-ca`, items: [{ key: "ca.crt", path: "ca.crt" }] } },
                // A container's /dev/shm is 64 MiB on Kubernetes; authentik's compose gives 512 MB from 2026.2.
                ...(features.shmSizeMb !== undefined ? [{ name: "shm", emptyDir: { medium: "Memory", sizeLimit: `${features.shmSizeMb}Mi` } }] : []),
            ],
            volumeMounts: [
                { name: "postgres-ca", mountPath: POSTGRES_CA_DIR, readOnly: true },
                ...(features.shmSizeMb !== undefined ? [{ name: "shm", mountPath: SHM_DIR }] : []),
            ],
        },
        authentik: {
            // The chart's own Secret holds only these non-secret settings; the chart's default host names a database it
            // does not create.
            postgresql: { host: target.postgresHost, name: POSTGRES.database, user: POSTGRES.user, port: 5432 },
        },
        // One web process below 1 GB, as on the Docker target: each holds its own Django (~250 MB).
        server: component("server", kubernetes.serverReplicas, limits.server, [{ name: "AUTHENTIK_WEB__WORKERS", value: limits.server >= TWO_WEB_PROCESSES_FROM_MB ? "2" : "1" }]),
        worker: component("worker", kubernetes.workerReplicas, limits.worker, workerEntries.map(toEnvVar), blueprintAnnotations),
        ...(Object.keys(configMapData).length > 0 ? { blueprints: { configMaps: [NAMES.blueprints] } } : {}),
    };

    const backup = kubernetes.postgres.backup;
    const database = {
        apiVersion: "postgresql.cnpg.io/v1",
        kind: "Cluster",
        // Pulumi waits until the operator reports the cluster Ready, so authentik starts against a database that is up.
        metadata: { name: NAMES.database, namespace, annotations: { "pulumi.com/waitFor": "condition=Ready" } },
        spec: {
            instances: kubernetes.postgres.instances,
            imageName: CNPG_POSTGRES_IMAGE,
            // A memory request (no limit, so no OOM kill of the instance manager beside PostgreSQL): the instances are
            // no longer the first pods a node under pressure evicts.
            resources: { requests: { cpu: "100m", memory: `${config.docker.memoryLimitsMb.postgresql}Mi` } },
            storage: { size: `${kubernetes.postgres.storageGb}Gi`, ...(kubernetes.storageClass !== undefined ? { storageClass: kubernetes.storageClass } : {}) },
            bootstrap: { initdb: { database: POSTGRES.database, owner: POSTGRES.user, secret: { name: NAMES.databaseOwner } } },
            // authentik without Redis (from 2025.10) holds about half again as many connections; its chart's own
            // PostgreSQL uses 500.
            postgresql: { parameters: { max_connections: "500" } },
            affinity: { enablePodAntiAffinity: true, podAntiAffinityType: "preferred", topologyKey: "kubernetes.io/hostname" },
            enablePDB: true,
            primaryUpdateStrategy: "unsupervised",
            ...(backup ? { plugins: [{ name: BARMAN_CLOUD_PLUGIN.name, isWALArchiver: true, parameters: { barmanObjectName: NAMES.objectStore } }] } : {}),
        },
    };

    return {
        namespace,
        chart,
        // <service>.<namespace>.svc resolves in any cluster domain (cluster.local is only the default).
        serviceUrl: `http://${NAMES.serverService}.${namespace}.svc:${SERVICE_PORT}`,
        url: publicUrl(config),
        version: version.tag,
        values,
        secretKeys: Object.fromEntries(secretRefs.map((ref) => [secretKeyOf(ref), ref])),
        database,
        ...(backup
            ? {
                  backup: {
                      objectStore: {
                          apiVersion: "barmancloud.cnpg.io/v1",
                          kind: "ObjectStore",
                          metadata: { name: NAMES.objectStore, namespace },
                          spec: {
                              retentionPolicy: backup.retention,
                              // S3-compatible stores refuse the checksums newer boto3 sends by default (the plugin's
                              // documented workaround, plugin-barman-cloud#393); AWS itself does not need it.
                              ...(backup.endpointUrl !== undefined
                                  ? {
                                        instanceSidecarConfiguration: {
                                            env: [
                                                { name: "AWS_REQUEST_CHECKSUM_CALCULATION", value: "when_required" },
                                                { name: "AWS_RESPONSE_CHECKSUM_VALIDATION", value: "when_required" },
                                            ],
                                        },
                                    }
                                  : {}),
                              configuration: {
                                  destinationPath: backup.destinationPath,
                                  ...(backup.endpointUrl !== undefined ? { endpointURL: backup.endpointUrl } : {}),
                                  s3Credentials: {
                                      accessKeyId: { name: NAMES.objectStoreCredentials, key: "ACCESS_KEY_ID" },
                                      secretAccessKey: { name: NAMES.objectStoreCredentials, key: "ACCESS_SECRET_KEY" },
                                  },
                                  wal: { compression: "gzip" },
                                  data: { compression: "gzip" },
                              },
                          },
                      },
                      scheduledBackup: {
                          apiVersion: "postgresql.cnpg.io/v1",
                          kind: "ScheduledBackup",
                          metadata: { name: NAMES.scheduledBackup, namespace },
                          spec: {
                              schedule: dailyCron(config.backup.time),
                              // A first base backup right away, not at the first scheduled time.
                              immediate: true,
                              backupOwnerReference: "self",
                              cluster: { name: NAMES.database },
                              method: "plugin",
                              pluginConfiguration: { name: BARMAN_CLOUD_PLUGIN.name },
                          },
                      },
                  },
              }
            : {}),
        connectors: {
            deployment: {
                metadata: { name: NAMES.connectors, namespace, labels: { ...CONNECTOR_LABELS } },
                spec: {
                    replicas: kubernetes.connectors,
                    // A rolling update starts the new connector before it stops an old one: the tunnel never loses them all.
                    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                    selector: { matchLabels: { ...CONNECTOR_LABELS } },
                    template: {
                        metadata: { labels: { ...CONNECTOR_LABELS } },
                        spec: {
                            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
                            topologySpreadConstraints: spreadOverNodes({ ...CONNECTOR_LABELS }),
                            containers: [
                                {
                                    name: "cloudflared",
                                    image: config.docker.images.cloudflared,
                                    args: ["tunnel", "--no-autoupdate", "--metrics", `0.0.0.0:${CLOUDFLARED_METRICS_PORT}`, "run"],
                                    env: [{ name: "TUNNEL_TOKEN", valueFrom: { secretKeyRef: { name: NAMES.connectorToken, key: "token" } } }],
                                    ports: [{ name: "metrics", containerPort: CLOUDFLARED_METRICS_PORT }],
                                    // /ready answers 200 only with a live connection to Cloudflare's edge.
                                    readinessProbe: { httpGet: { path: "/ready", port: CLOUDFLARED_METRICS_PORT }, periodSeconds: 10, failureThreshold: 3 },
                                    livenessProbe: { httpGet: { path: "/ready", port: CLOUDFLARED_METRICS_PORT }, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
                                    resources: { requests: { cpu: "10m", memory: `${limits.cloudflared}Mi` }, limits: { memory: `${limits.cloudflared}Mi` } },
                                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsUser: 65532, capabilities: { drop: ["ALL"] } },
                                },
                            ],
                        },
                    },
                },
            },
            disruptionBudget: { metadata: { name: NAMES.connectors, namespace }, spec: { maxUnavailable: 1, selector: { matchLabels: { ...CONNECTOR_LABELS } } } },
        },
        networkPolicies: [
            {
                metadata: { name: "authentik-server-from-cloudflared", namespace },
                spec: {
                    podSelector: { matchLabels: authentikPodLabels("server") },
                    policyTypes: ["Ingress"],
                    ingress: [{ from: [{ podSelector: { matchLabels: { ...CONNECTOR_LABELS } } }], ports: [{ protocol: "TCP", port: 9000 }] }],
                },
            },
            {
                metadata: { name: "authentik-db-from-authentik", namespace },
                spec: {
                    podSelector: { matchLabels: { "cnpg.io/cluster": NAMES.database } },
                    policyTypes: ["Ingress"],
                    ingress: [
                        { from: [{ podSelector: { matchLabels: authentikPodLabels() } }], ports: [{ protocol: "TCP", port: 5432 }] },
                        // Replication between the instances, and the operator's status checks (8000) and connections.
                        { from: [{ podSelector: { matchLabels: { "cnpg.io/cluster": NAMES.database } } }], ports: [{ protocol: "TCP", port: 5432 }, { protocol: "TCP", port: 8000 }] },
                        {
                            from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": CNPG_OPERATOR_CHART.namespace } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "cloudnative-pg" } } }],
                            ports: [{ protocol: "TCP", port: 8000 }, { protocol: "TCP", port: 5432 }],
                        },
                    ],
                },
            },
        ],
        blueprints: configMapData,
    };
}
