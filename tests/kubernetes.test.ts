/**
 * The Kubernetes target under mocks, for Pulumi.k8s.yaml and every release line it supports: the charts (names,
 * repositories, versions), the values handed to authentik's chart (replicas, budgets, spreading, blueprints, secrets
 * only by reference), the CloudNativePG Cluster, the Barman Cloud ObjectStore and ScheduledBackup against their CRDs'
 * published schemas, the built-in kinds against Kubernetes' own schema (vendor/kubernetes-schemas/), the order, and
 * what survives a lost node, a killed pod and a rolling upgrade.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import Ajv, { ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { stringify as stringifyYaml } from "yaml";
import { kubernetesSchema } from "../lib/kubernetes/config";
import { AUTHENTIK_CHART_VERSIONS, blueprintConfigMapData, blueprintInstancePath, chartFor, dailyCron } from "../lib/kubernetes/plan";
import { AuthentikVersion, parseAuthentikVersion } from "../lib/versions";
import { expectGolden } from "./golden";
import { ProgramRun, REPO_ROOT, RecordedResource, byName, expectConfigRefused, loadStackFile, ofType, runProgram, transitiveDependencies, visibleInputs, withOverrides } from "./harness";

const k8s = loadStackFile("k8s");
const k8sAuthentik = k8s.config["authentik-sso:authentik"] as Record<string, unknown>;
const k8sKubernetes = k8s.config["authentik-sso:kubernetes"] as Record<string, unknown>;
const RELEASE = "kubernetes:helm.sh/v3:Release";
const SCHEMAS = path.join(REPO_ROOT, "vendor", "kubernetes-schemas");

/** A CRD's schema says nothing of unknown fields; here an unknown field is an error (the API server would prune it). */
function strict(schema: unknown): unknown {
    if (Array.isArray(schema)) {
        return schema.map(strict);
    }
    if (schema === null || typeof schema !== "object") {
        return schema;
    }
    const node = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, key === "properties" ? Object.fromEntries(Object.entries(value as object).map(([name, item]) => [name, strict(item)])) : strict(value)]));
    if (node.properties !== undefined && node.additionalProperties === undefined && node["x-kubernetes-preserve-unknown-fields"] !== true) {
        node.additionalProperties = false;
    }
    return node;
}

const validators = new Map<string, ValidateFunction>();
function validator(file: string, crd: boolean): ValidateFunction {
    let found = validators.get(file);
    if (!found) {
        const schema = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(SCHEMAS, file))).toString("utf8")) as Record<string, unknown>;
        const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
        addFormats(ajv);
        found = ajv.compile(crd ? (strict(schema) as object) : schema);
        validators.set(file, found);
    }
    return found;
}

function problems(resource: RecordedResource, file: string, crd: boolean): string[] {
    const validate = validator(file, crd);
    return validate(resource.inputs) ? [] : (validate.errors ?? []).map((error) => `${resource.name}${error.instancePath}: ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`);
}

type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } };
const valuesOf = (run: ProgramRun) => byName(run, "authentik-release").inputs.values as {
    global: { image: { repository: string; tag?: string; digest?: string }; env: EnvVar[]; volumes: unknown[]; volumeMounts: unknown[] };
    authentik: { postgresql: Record<string, unknown> };
    server: { replicas: number; pdb: unknown; topologySpreadConstraints: unknown[]; resources: unknown; env?: EnvVar[]; deploymentStrategy: unknown; podAnnotations?: Record<string, string> };
    worker: { replicas: number; pdb: unknown; resources: unknown; env?: EnvVar[]; deploymentStrategy: unknown; podAnnotations?: Record<string, string> };
    blueprints?: { configMaps: string[] };
};

describe("the k8s stack as shipped", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "k8s", config: k8s });
    });

    test("the operator's chart and authentik's, pinned, from their repositories; the release named for the Service the tunnel targets", () => {
        expect(ofType(run, RELEASE).map((release) => ({ name: release.inputs.name, chart: release.inputs.chart, version: release.inputs.version, repo: (release.inputs.repositoryOpts as { repo: string }).repo, namespace: release.inputs.namespace, atomic: release.inputs.atomic, waits: release.inputs.skipAwait !== true }))).toEqual([
            { name: "cnpg", chart: "cloudnative-pg", version: "0.29.0", repo: "https://cloudnative-pg.github.io/charts", namespace: "cnpg-system", atomic: true, waits: true },
            // Not atomic: a rollback would run the older version on a database the newer one has migrated.
            { name: "authentik", chart: "authentik", version: "2026.8.0", repo: "https://charts.goauthentik.io", namespace: "authentik", atomic: false, waits: true },
        ]);
        const ingress = (byName(run, "cloudflare-config").inputs.config as { ingresses: { hostname?: string; service: string }[] }).ingresses;
        expect(ingress[0]).toMatchObject({ hostname: "auth-k8s.example.com", service: "http://authentik-server.authentik.svc:80" });
    });

    test("authentik 2026.8.3 has no chart of its own: the line's newest chart runs the 2026.8.3 image", () => {
        expect(valuesOf(run).global.image).toEqual({ repository: "ghcr.io/goauthentik/server", tag: String(k8sAuthentik.version) });
    });

    test("every secret reaches server and worker by reference to a Secret the stack creates; none is in the values", () => {
        const values = valuesOf(run);
        const env = [...values.global.env, ...(values.worker.env ?? [])];
        const byNameOf = Object.fromEntries(env.map((item) => [item.name, item]));
        expect(byNameOf.AUTHENTIK_SECRET_KEY).toEqual({ name: "AUTHENTIK_SECRET_KEY", valueFrom: { secretKeyRef: { name: "authentik-sso", key: "secret-key" } } });
        expect(byNameOf.AUTHENTIK_POSTGRESQL__PASSWORD).toEqual({ name: "AUTHENTIK_POSTGRESQL__PASSWORD", valueFrom: { secretKeyRef: { name: "authentik-db-owner", key: "password" } } });
        expect(byNameOf.AUTHENTIK_BOOTSTRAP_TOKEN?.valueFrom?.secretKeyRef).toEqual({ name: "authentik-sso", key: "bootstrap-token" });
        expect(byNameOf.AUTHENTIK_POSTGRESQL__SSLMODE?.value).toBe("verify-full");
        expect(byNameOf.AUTHENTIK_POSTGRESQL__SSLROOTCERT?.value).toBe("/postgres-ca/ca.crt");
        // The CA certificate the path names, and only it (the CA's key stays in its Secret).
        // With 512 MiB of /dev/shm (the image's TMPDIR from 2026.2), as authentik's compose gives it.
        expect(values.global.volumes).toEqual([
            { name: "postgres-ca", secret: { secretName: "authentik-db-ca", items: [{ key: "ca.crt", path: "ca.crt" }] } },
            { name: "shm", emptyDir: { medium: "Memory", sizeLimit: "512Mi" } },
        ]);
        expect(values.global.volumeMounts).toEqual([
            { name: "postgres-ca", mountPath: "/postgres-ca", readOnly: true },
            { name: "shm", mountPath: "/dev/shm" },
        ]);
        // The bootstrap and the blueprints' secrets only on the worker: the internet-facing server never holds them.
        expect(values.global.env.map((item) => item.name)).not.toContain("AUTHENTIK_BOOTSTRAP_TOKEN");
        expect(values.worker.env?.map((item) => item.name)).toEqual(["AUTHENTIK_BOOTSTRAP_PASSWORD", "AUTHENTIK_BOOTSTRAP_TOKEN", "AUTHENTIK_BOOTSTRAP_EMAIL"]);
        // Each name once: the chart would keep the last.
        expect(new Set(values.global.env.map((item) => item.name)).size).toBe(values.global.env.length);
        expect(valuesOf(run).authentik.postgresql).toEqual({ host: "authentik-db-rw.authentik.svc", name: "authentik", user: "authentik", port: 5432 });
        // Every key a value refers to exists in its Secret.
        const secrets = Object.fromEntries(ofType(run, "kubernetes:core/v1:Secret").map((secret) => [(secret.inputs.metadata as { name: string }).name, Object.keys(secret.inputs.stringData as object)]));
        for (const item of env.filter((entry) => entry.valueFrom)) {
            const reference = item.valueFrom?.secretKeyRef;
            expect({ env: item.name, found: secrets[String(reference?.name)]?.includes(String(reference?.key)) }).toEqual({ env: item.name, found: true });
        }
        const release = byName(run, "authentik-release");
        expect(release.secretPaths).toEqual([]);
        for (const secret of run.secretValues) {
            expect(visibleInputs(release)).not.toContain(secret);
        }
        for (const secret of ofType(run, "kubernetes:core/v1:Secret")) {
            expect(secret.secretPaths).toEqual(["stringData"]);
        }
    });

    test("requests and limits from docker.memoryLimitsMb; one web process below 1 GB, as on the Docker target", () => {
        const values = valuesOf(run);
        expect(values.server.resources).toEqual({ requests: { cpu: "100m", memory: "704Mi" }, limits: { memory: "704Mi" } });
        expect(values.worker.resources).toEqual({ requests: { cpu: "100m", memory: "448Mi" }, limits: { memory: "448Mi" } });
        expect(values.server.env).toEqual([{ name: "AUTHENTIK_WEB__WORKERS", value: "1" }]);
        const container = (byName(run, "connectors-deployment").inputs.spec as { template: { spec: { containers: { resources: unknown; securityContext: unknown }[] } } }).template.spec.containers[0];
        expect(container?.resources).toEqual({ requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "64Mi" } });
        // cloudflared's image runs as its nonroot user; the file system stays read-only.
        expect(container?.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsUser: 65532, capabilities: { drop: ["ALL"] } });
    });

    test("the CloudNativePG cluster, against the CRD's schema of operator 1.30", () => {
        const cluster = byName(run, "database-cluster");
        expect(problems(cluster, "cnpg-cluster.json.gz", true)).toEqual([]);
        expect(cluster.inputs.spec).toMatchObject({
            instances: 3,
            storage: { size: "10Gi" },
            bootstrap: { initdb: { database: "authentik", owner: "authentik", secret: { name: "authentik-db-owner" } } },
            postgresql: { parameters: { max_connections: "500" } },
            // The operator 1.30.0 default, pinned: an operator update does not change the PostgreSQL major.
            imageName: "ghcr.io/cloudnative-pg/postgresql:18.4-system-trixie",
            resources: { requests: { cpu: "100m", memory: "256Mi" } },
        });
        expect((cluster.inputs.spec as { resources: { limits?: unknown } }).resources.limits).toBeUndefined();
        expect(cluster.protect).toBe(true);
        // Pulumi waits for the operator's Ready condition, so authentik starts against a database that is up.
        expect((cluster.inputs.metadata as { annotations: Record<string, string> }).annotations).toEqual({ "pulumi.com/waitFor": "condition=Ready" });
        expect(cluster.customTimeouts).toMatchObject({ create: "20m", update: "20m" });
        const owner = byName(run, "database-owner");
        expect(owner.inputs).toMatchObject({ type: "kubernetes.io/basic-auth", stringData: { username: "authentik" } });
    });

    test("the schema checks can fail: a misspelt field, a wrong type", () => {
        const cluster = byName(run, "database-cluster");
        const spec = cluster.inputs.spec as Record<string, unknown>;
        const misspelt = { ...cluster, inputs: { ...cluster.inputs, spec: { ...spec, enablePdb: true } } };
        expect(problems(misspelt, "cnpg-cluster.json.gz", true)).toEqual([expect.stringContaining("database-cluster/spec: must NOT have additional properties")]);
        const deployment = byName(run, "connectors-deployment");
        const wrong = { ...deployment, inputs: { ...deployment.inputs, spec: { ...(deployment.inputs.spec as object), replicas: "two" } } };
        expect(problems(wrong, "k8s-deployment.json.gz", false).join("\n")).toContain("connectors-deployment/spec/replicas");
    });

    test("the built-in kinds against Kubernetes' own schema", () => {
        const checks: [string, string][] = [
            ["namespace", "k8s-namespace.json.gz"],
            ["connectors-deployment", "k8s-deployment.json.gz"],
            ["connectors-disruption-budget", "k8s-poddisruptionbudget.json.gz"],
            ["network-authentik-server-from-cloudflared", "k8s-networkpolicy.json.gz"],
            ["network-authentik-db-from-authentik", "k8s-networkpolicy.json.gz"],
            ["database-owner", "k8s-secret.json.gz"],
            ["authentik-secrets", "k8s-secret.json.gz"],
            ["connectors-token", "k8s-secret.json.gz"],
        ];
        for (const [name, file] of checks) {
            expect({ name, problems: problems(byName(run, name), file, false) }).toEqual({ name, problems: [] });
        }
    });

    test("in order: the operator before the cluster, the cluster before authentik, authentik before the connectors", () => {
        const after = (name: string, before: string) => transitiveDependencies(run, byName(run, name)).has(byName(run, before).urn);
        expect(after("database-cluster", "database-operator")).toBe(true);
        expect(after("authentik-release", "database-cluster")).toBe(true);
        expect(after("authentik-release", "authentik-secrets")).toBe(true);
        expect(after("connectors-deployment", "authentik-release")).toBe(true);
        expect(after("connectors-deployment", "connectors-token")).toBe(true);
    });

    test("only cloudflared reaches the server, only authentik (and the operator and the instances) the database", () => {
        const server = byName(run, "network-authentik-server-from-cloudflared").inputs.spec as { podSelector: unknown; ingress: { from: unknown[]; ports: unknown[] }[] };
        expect(server.podSelector).toEqual({ matchLabels: { "app.kubernetes.io/name": "authentik", "app.kubernetes.io/instance": "authentik", "app.kubernetes.io/component": "server" } });
        expect(server.ingress).toEqual([{ from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "cloudflared", "app.kubernetes.io/part-of": "authentik-sso" } } }], ports: [{ protocol: "TCP", port: 9000 }] }]);
        const database = byName(run, "network-authentik-db-from-authentik").inputs.spec as { podSelector: unknown; ingress: { from: Record<string, unknown>[]; ports: unknown[] }[] };
        expect(database.podSelector).toEqual({ matchLabels: { "cnpg.io/cluster": "authentik-db" } });
        expect(database.ingress.map((rule) => rule.ports)).toEqual([
            [{ protocol: "TCP", port: 5432 }],
            [{ protocol: "TCP", port: 5432 }, { protocol: "TCP", port: 8000 }],
            [{ protocol: "TCP", port: 8000 }, { protocol: "TCP", port: 5432 }],
        ]);
        expect(database.ingress.map((rule) => rule.from[0])).toEqual([
            { podSelector: { matchLabels: { "app.kubernetes.io/name": "authentik", "app.kubernetes.io/instance": "authentik" } } },
            { podSelector: { matchLabels: { "cnpg.io/cluster": "authentik-db" } } },
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "cnpg-system" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "cloudnative-pg" } } },
        ]);
    });

    describe("what survives (the README's table)", () => {
        test("a lost node: server, connectors and database instances are several, spread over nodes", () => {
            const values = valuesOf(run);
            expect(values.server.replicas).toBeGreaterThanOrEqual(2);
            expect(values.server.topologySpreadConstraints).toEqual([
                { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { "app.kubernetes.io/name": "authentik", "app.kubernetes.io/instance": "authentik", "app.kubernetes.io/component": "server" } } },
            ]);
            const connectors = byName(run, "connectors-deployment").inputs.spec as { replicas: number; template: { spec: { topologySpreadConstraints: { topologyKey: string }[] } } };
            expect(connectors.replicas).toBeGreaterThanOrEqual(2);
            expect(connectors.template.spec.topologySpreadConstraints[0]?.topologyKey).toBe("kubernetes.io/hostname");
            const cluster = byName(run, "database-cluster").inputs.spec as { instances: number; affinity: Record<string, unknown> };
            expect(cluster.instances).toBeGreaterThanOrEqual(2);
            expect(cluster.affinity).toEqual({ enablePodAntiAffinity: true, podAntiAffinityType: "preferred", topologyKey: "kubernetes.io/hostname" });
        });

        test("a drain: disruption budgets let one pod go at a time (and never block a drain with one replica); a rolling update of the connectors starts the new one first", () => {
            const values = valuesOf(run);
            expect(values.server.pdb).toEqual({ enabled: true, maxUnavailable: 1 });
            expect(values.worker.pdb).toEqual({ enabled: true, maxUnavailable: 1 });
            expect((byName(run, "connectors-disruption-budget").inputs.spec as { maxUnavailable: number }).maxUnavailable).toBe(1);
            const newBeforeOld = { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } };
            expect((byName(run, "connectors-deployment").inputs.spec as { strategy: unknown }).strategy).toEqual(newBeforeOld);
            // Budgets do not govern a rolling update; the Deployments' strategy does.
            expect([values.server.deploymentStrategy, values.worker.deploymentStrategy]).toEqual([newBeforeOld, newBeforeOld]);
            expect((byName(run, "database-cluster").inputs.spec as { enablePDB: boolean }).enablePDB).toBe(true);
        });

        test("a killed pod: the connectors' probe is cloudflared's /ready, so traffic goes only to connected replicas", () => {
            const container = (byName(run, "connectors-deployment").inputs.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0];
            expect(container?.args).toEqual(["tunnel", "--no-autoupdate", "--metrics", "0.0.0.0:2000", "run"]);
            expect(container?.readinessProbe).toMatchObject({ httpGet: { path: "/ready", port: 2000 } });
            expect(container?.livenessProbe).toMatchObject({ httpGet: { path: "/ready", port: 2000 } });
            expect(container?.env).toEqual([{ name: "TUNNEL_TOKEN", valueFrom: { secretKeyRef: { name: "cloudflared-token", key: "token" } } }]);
        });
    });
});

describe("every release line the target supports", () => {
    test.each([
        ["2025.10.3", "2025.10.3", undefined],
        ["2025.10.4", "2025.10.3", "2025.10.4"],
        ["2025.12.4", "2025.12.4", undefined],
        ["2026.2.3", "2026.2.3", undefined],
        // No chart 2026.5.1: the nearest one below it.
        ["2026.5.1", "2026.5.0", "2026.5.1"],
        ["2026.5.6", "2026.5.6", undefined],
        ["2026.8.0", "2026.8.0", undefined],
        ["2026.8.3", "2026.8.0", "2026.8.3"],
    ])("authentik %s: chart %s, image tag %s", async (version, chart, tag) => {
        const run = await runProgram({ stack: "k8s", config: withOverrides(k8s, { authentik: { ...k8sAuthentik, version } }) });
        expect(ofType(run, RELEASE).find((item) => item.inputs.chart === "authentik")?.inputs.version).toBe(chart);
        expect(valuesOf(run).global.image.tag).toBe(tag);
        expect(AUTHENTIK_CHART_VERSIONS[parseAuthentikVersion(version)?.line as "2026.8"]).toContain(chart);
    });

    test("the Docker host's memory budget does not apply: the cluster schedules each pod by its own request", async () => {
        const limits = { server: 3072, worker: 3072 };
        const config = withOverrides(k8s, { docker: { memoryMb: 1024, memoryLimitsMb: limits } });
        const values = valuesOf(await runProgram({ stack: "k8s", config }));
        expect([values.server.resources, values.worker.resources]).toEqual([
            { requests: { cpu: "100m", memory: "3072Mi" }, limits: { memory: "3072Mi" } },
            { requests: { cpu: "100m", memory: "3072Mi" }, limits: { memory: "3072Mi" } },
        ]);
        expect(values.server.env).toEqual([{ name: "AUTHENTIK_WEB__WORKERS", value: "2" }]);
        // The same numbers on the Docker target are refused.
        await expect(runProgram({ stack: "local", config: withOverrides(loadStackFile("local"), { docker: { memoryMb: 1024, memoryLimitsMb: limits } }) })).rejects.toThrow(/authentik-sso:docker\.memoryMb/);
    });

    test("before 2026.2 no /dev/shm of its own (authentik's compose gives none either)", async () => {
        const values = valuesOf(await runProgram({ stack: "k8s", config: withOverrides(k8s, { authentik: { ...k8sAuthentik, version: "2025.12.4" } }) }));
        expect(values.global.volumes.map((volume) => (volume as { name: string }).name)).toEqual(["postgres-ca"]);
        expect(values.global.volumeMounts.map((mount) => (mount as { name: string }).name)).toEqual(["postgres-ca"]);
    });

    test("a pinned digest goes to the chart too", async () => {
        const digest = `sha256:${"e".repeat(64)}`;
        const run = await runProgram({ stack: "k8s", config: withOverrides(k8s, { authentik: { ...k8sAuthentik, digest } }) });
        expect(valuesOf(run).global.image.digest).toBe(digest);
    });
});

describe("with database backups and identity", () => {
    let run: ProgramRun;
    const credentials = { accessKeyId: "AKIA-K8S-EXAMPLE", secretAccessKey: "k8s-backup-secret-access-key" };
    beforeAll(async () => {
        const config = withOverrides(
            k8s,
            {
                kubernetes: { ...k8sKubernetes, postgres: { instances: 3, storageGb: 10, backup: { destinationPath: "s3://my-bucket/authentik-pg", endpointUrl: "https://s3.example.com", credentials } } },
                identity: { brand: { title: "Example SSO" }, applications: [{ slug: "grafana", name: "Grafana", oidc: { redirectUris: ["https://grafana.example.com/cb"] } }] },
            },
            { keys: ["authentik-sso:kubernetes"], values: Object.values(credentials) },
        );
        run = await runProgram({ stack: "k8s", config });
    });

    test("the plugin's ObjectStore and a daily ScheduledBackup, against their CRDs; the cluster archives WAL through the plugin", () => {
        const store = byName(run, "database-object-store");
        expect(problems(store, "barman-objectstore.json.gz", true)).toEqual([]);
        expect(store.inputs.spec).toEqual({
            retentionPolicy: "30d",
            // An S3-compatible store (endpointUrl): the plugin's workaround for the checksums newer boto3 sends.
            instanceSidecarConfiguration: {
                env: [
                    { name: "AWS_REQUEST_CHECKSUM_CALCULATION", value: "when_required" },
                    { name: "AWS_RESPONSE_CHECKSUM_VALIDATION", value: "when_required" },
                ],
            },
            configuration: {
                destinationPath: "s3://my-bucket/authentik-pg",
                endpointURL: "https://s3.example.com",
                s3Credentials: { accessKeyId: { name: "authentik-db-backup-s3", key: "ACCESS_KEY_ID" }, secretAccessKey: { name: "authentik-db-backup-s3", key: "ACCESS_SECRET_KEY" } },
                wal: { compression: "gzip" },
                data: { compression: "gzip" },
            },
        });
        const schedule = byName(run, "database-daily-backup");
        expect(problems(schedule, "cnpg-scheduledbackup.json.gz", true)).toEqual([]);
        expect((schedule.inputs.spec as { schedule: string }).schedule).toBe(dailyCron("03:00"));
        // The first base backup right away: WAL archived before it cannot be restored without one.
        expect((schedule.inputs.spec as { immediate: boolean }).immediate).toBe(true);
        expect((byName(run, "database-cluster").inputs.spec as { plugins: unknown }).plugins).toEqual([{ name: "barman-cloud.cloudnative-pg.io", isWALArchiver: true, parameters: { barmanObjectName: "authentik-db-backup" } }]);
        expect(problems(byName(run, "database-cluster"), "cnpg-cluster.json.gz", true)).toEqual([]);
        // The plugin (its CRD and webhook) before the store, the store before the cluster that names it.
        expect(transitiveDependencies(run, store).has(byName(run, "database-barman-cloud-plugin").urn)).toBe(true);
        expect(transitiveDependencies(run, byName(run, "database-cluster")).has(store.urn)).toBe(true);
    });

    test("on AWS itself (no endpointUrl) the store keeps boto3's own checksums", async () => {
        const config = withOverrides(
            k8s,
            { kubernetes: { ...k8sKubernetes, postgres: { instances: 3, storageGb: 10, backup: { destinationPath: "s3://my-bucket/authentik-pg", credentials } } } },
            { keys: ["authentik-sso:kubernetes"], values: Object.values(credentials) },
        );
        const spec = byName(await runProgram({ stack: "k8s", config }), "database-object-store").inputs.spec as Record<string, unknown>;
        expect(spec.instanceSidecarConfiguration).toBeUndefined();
        expect((spec.configuration as Record<string, unknown>).endpointURL).toBeUndefined();
    });

    test("the S3 credentials only in a Secret; nothing secret in plain text anywhere", () => {
        expect(byName(run, "database-backup-credentials").secretPaths).toEqual(["stringData"]);
        for (const resource of run.resources) {
            const visible = visibleInputs(resource);
            expect({ resource: resource.name, leaks: run.secretValues.filter((secret) => visible.includes(secret)) }).toEqual({ resource: resource.name, leaks: [] });
        }
    });

    test("the same blueprints as the Docker target, as a ConfigMap the chart mounts in the worker; their secrets by reference", () => {
        const configMap = byName(run, "authentik-blueprints");
        expect(problems(configMap, "k8s-configmap.json.gz", false)).toEqual([]);
        expect(Object.keys(configMap.inputs.data as object).sort()).toEqual(["application-grafana.yaml", "brand.yaml", "break-glass.yaml", "enrollment.yaml", "recovery.yaml"]);
        expect(valuesOf(run).blueprints).toEqual({ configMaps: ["authentik-sso-blueprints"] });
        const env = valuesOf(run).worker.env?.find((item) => item.name === "SSO_BLUEPRINT_OIDC_GRAFANA_CLIENT_SECRET");
        expect(env?.valueFrom?.secretKeyRef).toEqual({ name: "authentik-sso", key: "oidc-grafana" });
        expect(blueprintConfigMapData([{ path: "authentik-sso/user/nested/a.yaml", content: "x" }])).toEqual({ "user--nested--a.yaml": "x" });
    });

    test("a changed blueprint restarts the workers (a checksum of the ConfigMap in their pod annotations), not the servers", async () => {
        // Over the files in name order, so the key order of the data does not matter.
        const checksum = (data: object) => createHash("sha256").update(JSON.stringify(Object.entries(data).sort(([a], [b]) => a.localeCompare(b)))).digest("hex");
        const values = valuesOf(run);
        expect(values.worker.podAnnotations).toEqual({ "checksum/blueprints": checksum(byName(run, "authentik-blueprints").inputs.data as object) });
        expect(values.server.podAnnotations).toBeUndefined();
        const renamed = withOverrides(k8s, { identity: { brand: { title: "Another SSO" }, applications: [{ slug: "grafana", name: "Grafana", oidc: { redirectUris: ["https://grafana.example.com/cb"] } }] } });
        const other = valuesOf(await runProgram({ stack: "k8s", config: renamed })).worker.podAnnotations?.["checksum/blueprints"];
        expect(other).toMatch(/^[0-9a-f]{64}$/);
        expect(other).not.toBe(values.worker.podAnnotations?.["checksum/blueprints"]);
    });
});

describe("config rules for the Kubernetes target", () => {
    const cases: { rule: string; overrides: Record<string, unknown>; expected: string[] }[] = [
        { rule: "at least 2 server replicas", overrides: { kubernetes: { ...k8sKubernetes, serverReplicas: 1 } }, expected: ["authentik-sso:kubernetes.serverReplicas", "got 1", "at least 2"] },
        { rule: "at least 2 PostgreSQL instances", overrides: { kubernetes: { ...k8sKubernetes, postgres: { instances: 1 } } }, expected: ["authentik-sso:kubernetes.postgres.instances", "got 1", "no failover"] },
        { rule: "a namespace name", overrides: { kubernetes: { ...k8sKubernetes, namespace: "Authentik_SSO" } }, expected: ["authentik-sso:kubernetes.namespace", '"Authentik_SSO"', "Kubernetes namespace name"] },
        { rule: "a namespace of its own", overrides: { kubernetes: { ...k8sKubernetes, namespace: "kube-system" } }, expected: ["authentik-sso:kubernetes.namespace", '"kube-system"', "not default, kube-*"] },
        {
            rule: "no line that needs Redis",
            overrides: { authentik: { ...k8sAuthentik, version: "2025.8.6" } },
            expected: ["authentik-sso:authentik.version", '"2025.8.6"', "chart no longer ships", "starts at 2025.10"],
        },
        { rule: "not with a Proxmox VM", overrides: { proxmox: (loadStackFile("dev").config["authentik-sso:proxmox"]) }, expected: ["authentik-sso:proxmox", "must not be set with kubernetes"] },
        { rule: "the tunnel is required", overrides: { cloudflare: undefined }, expected: ["authentik-sso:cloudflare", "is required with kubernetes"] },
        { rule: "a retention the plugin accepts", overrides: { kubernetes: { ...k8sKubernetes, postgres: { backup: { destinationPath: "s3://b/p", retention: "30 days", credentials: { accessKeyId: "a", secretAccessKey: "b" } } } } }, expected: ["authentik-sso:kubernetes.postgres.backup.retention", "30d"] },
    ];

    test.each(cases)("$rule", async ({ overrides, expected }) => {
        await expectConfigRefused({ stack: "k8s", config: withOverrides(k8s, overrides, { keys: ["authentik-sso:kubernetes"] }) }, expected);
    });
});

/** Each resource as the engine gets it (secret inputs shown as [secret]), in registration order. */
function manifest(run: ProgramRun): string {
    const names = new Map(run.resources.map((resource) => [resource.urn, resource.name]));
    const redact = (value: unknown, paths: string[], at: string): unknown => {
        if (paths.includes(at)) {
            return "[secret]";
        }
        if (Array.isArray(value)) {
            return value.map((item, index) => redact(item, paths, at === "" ? String(index) : `${at}.${index}`));
        }
        if (value !== null && typeof value === "object") {
            return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redact(item, paths, at === "" ? key : `${at}.${key}`)]));
        }
        return value;
    };
    const resources = run.resources
        .filter((resource) => resource.type.startsWith("kubernetes:") || resource.type.startsWith("authentik-sso:kubernetes:"))
        .map((resource) => ({
            resource: `${resource.type} ${resource.name}`,
            ...(resource.parent !== "" ? { parent: names.get(resource.parent) } : {}),
            ...(resource.protect ? { protect: true } : {}),
            dependsOn: [...new Set(resource.dependencies.map((urn) => names.get(urn)))].sort(),
            inputs: redact(resource.inputs, resource.secretPaths, ""),
        }));
    return stringifyYaml(resources, { lineWidth: 0 });
}

/**
 * Every Kubernetes object the stack hands the cluster, word for word (tests/golden/kubernetes/): labels, selectors,
 * security contexts, policy types, names and metadata that no schema pins and that a review should see change.
 */
describe("the Kubernetes resources word for word", () => {
    test("as shipped", async () => {
        expectGolden("kubernetes/k8s.yaml", manifest(await runProgram({ stack: "k8s", config: k8s })));
    });

    test("with database backups, a storage class, blueprints and a server of 1 GB (two web processes)", async () => {
        const credentials = { accessKeyId: "AKIA-GOLDEN-EXAMPLE", secretAccessKey: "golden-secret-access-key" };
        const config = withOverrides(
            k8s,
            {
                kubernetes: { ...k8sKubernetes, storageClass: "fast-ssd", postgres: { instances: 3, storageGb: 10, backup: { destinationPath: "s3://my-bucket/authentik-pg", endpointUrl: "http://minio.storage.svc:9000", retention: "4w", credentials } } },
                docker: { ...(k8s.config["authentik-sso:docker"] as Record<string, unknown>), memoryLimitsMb: { server: 1024 } },
                identity: { brand: { title: "Example SSO" }, applications: [{ slug: "grafana", name: "Grafana", oidc: { redirectUris: ["https://grafana.example.com/cb"] } }] },
            },
            { keys: ["authentik-sso:kubernetes"], values: Object.values(credentials) },
        );
        const run = await runProgram({ stack: "k8s", config });
        expectGolden("kubernetes/k8s-backup-storage-class-blueprints.yaml", manifest(run));
        expect(valuesOf(run).server.env).toEqual([{ name: "AUTHENTIK_WEB__WORKERS", value: "2" }]);
    });
});

describe("the Kubernetes plan's small parts", () => {
    test.each(Object.values(AUTHENTIK_CHART_VERSIONS).flatMap((versions) => [...(versions ?? [])]))("authentik %s has its own chart", (version) => {
        expect(chartFor(parseAuthentikVersion(version) as AuthentikVersion)).toEqual({ version });
    });

    test("a line without charts is refused, not guessed", () => {
        const version = { ...(parseAuthentikVersion("2026.8.0") as AuthentikVersion), line: "2099.1" } as AuthentikVersion;
        expect(() => chartFor(version)).toThrow("no authentik chart is known for the line 2099.1");
    });

    test("backup.time as CloudNativePG's six-field cron (seconds first)", () => {
        expect(dailyCron("03:00")).toBe("0 0 3 * * *");
        expect(dailyCron("23:45")).toBe("0 45 23 * * *");
    });

    test("where authentik finds a mounted blueprint (what npm run verify asks the API for)", () => {
        expect(blueprintInstancePath({ path: "authentik-sso/user/a.yaml", content: "" })).toBe("mounted/cm-authentik-sso-blueprints/user--a.yaml");
    });
});

describe("the Kubernetes keys at their edges", () => {
    const messages = (value: Record<string, unknown>) => (kubernetesSchema.safeParse(value).error?.issues ?? []).map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    const backup = (extra: Record<string, unknown>) => ({ postgres: { backup: { destinationPath: "s3://my-bucket/p", credentials: { accessKeyId: "a", secretAccessKey: "b" }, ...extra } } });

    test("defaults", () => {
        expect(kubernetesSchema.parse({})).toEqual({ namespace: "authentik", serverReplicas: 2, workerReplicas: 2, postgres: { instances: 3, storageGb: 10 }, connectors: 2 });
    });

    test.each(["default", "kube-system", "kube-public", "kube-node-lease", "cnpg-system"])("the namespace %s is the cluster's or the operator's", (namespace) => {
        expect(messages({ namespace })).toEqual(["namespace: must be a namespace of its own, not default, kube-*, or the operator's cnpg-system"]);
    });

    test("namespace names: an RFC 1123 label", () => {
        for (const namespace of ["a", "authentik-sso", "a".repeat(63)]) {
            expect(messages({ namespace })).toEqual([]);
        }
        for (const namespace of ["-authentik", "authentik-", "a".repeat(64), "auth.entik"]) {
            expect(messages({ namespace })).toEqual(["namespace: must be a Kubernetes namespace name: lower-case letters, digits and '-', at most 63 characters"]);
        }
    });

    test("storage class names", () => {
        expect(messages({ storageClass: "fast-ssd" })).toEqual([]);
        expect(messages({ storageClass: "ceph.rbd" })).toEqual([]);
        for (const storageClass of ["Fast_SSD", "-x", "x-"]) {
            expect(messages({ storageClass })).toEqual(["storageClass: must be a StorageClass name"]);
        }
    });

    test("the backup's destination, endpoint and retention", () => {
        expect(messages(backup({}))).toEqual([]);
        expect(messages({ postgres: { backup: { destinationPath: "s3://my-bucket", credentials: { accessKeyId: "a", secretAccessKey: "b" } } } })).toEqual([]);
        for (const destinationPath of ["xs3://my-bucket/p", "s3://my-bucket/p p", "s3://My-Bucket/p"]) {
            expect(messages({ postgres: { backup: { destinationPath, credentials: { accessKeyId: "a", secretAccessKey: "b" } } } })).toEqual(["postgres.backup.destinationPath: must be an S3 URL such as s3://my-bucket/authentik-pg"]);
        }
        expect(messages(backup({ endpointUrl: "http://minio:9000" }))).toEqual([]);
        expect(messages(backup({ endpointUrl: "ftp://minio" }))).toEqual(["postgres.backup.endpointUrl: must be an http(s) URL such as https://s3.example.com"]);
        expect(messages(backup({ endpointUrl: "httpss://minio" }))).toEqual(["postgres.backup.endpointUrl: must be an http(s) URL such as https://s3.example.com"]);
        for (const retention of ["4w", "6m", "30d"]) {
            expect(messages(backup({ retention }))).toEqual([]);
        }
        for (const retention of ["0d", "30dd", "d30", "30"]) {
            expect(messages(backup({ retention }))).toEqual(["postgres.backup.retention: must be a number and d, w or m, such as 30d"]);
        }
    });
});
