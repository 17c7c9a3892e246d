/**
 * The core stack under mocks: the real program with the local stack's config, asserting on every container,
 * volume, image, the network, the start-up order, the release-line differences and the secrets.
 */
import { ProgramRun, RecordedResource, byName, envOf, loadStackFile, mockImageId, ofType, runProgram, visibleInputs, withOverrides } from "./harness";

const CONTAINER = "docker:index/container:Container";
const local = loadStackFile("local");
const localAuthentik = local.config["authentik-sso:authentik"] as Record<string, unknown>;
const localDocker = local.config["authentik-sso:docker"] as Record<string, unknown>;

function withVersion(version: string) {
    return withOverrides(local, { authentik: { ...localAuthentik, version } });
}

function imageOf(run: ProgramRun, container: RecordedResource): string {
    const image = ofType(run, "docker:index/remoteImage:RemoteImage").find((candidate) => container.dependencies.includes(candidate.urn));
    if (!image) {
        throw new Error(`${container.name} uses no RemoteImage`);
    }
    // The container must run exactly the pulled image (its id), so a tag change is a visible replacement.
    expect(container.inputs.image).toBe(mockImageId(String(image.inputs.name)));
    return String(image.inputs.name);
}

describe("local stack (authentik 2025.6.3, the reference deployment)", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "local", config: local });
    });

    test("registers exactly the expected resources", () => {
        expect(run.resources.map((resource) => `${resource.type}::${resource.name}`).sort()).toEqual(
            [
                "authentik-sso:authentik:Secrets::authentik",
                "authentik-sso:docker:Authentik::authentik",
                "authentik-sso:docker:Data::authentik",
                "authentik-sso:docker:Backup::backup",
                "docker:index/container:Container::authentik-postgresql",
                "docker:index/container:Container::authentik-redis",
                "docker:index/container:Container::authentik-server",
                "docker:index/container:Container::authentik-worker",
                "docker:index/container:Container::backup-container",
                "docker:index/network:Network::authentik-network",
                "docker:index/remoteImage:RemoteImage::authentik-image-postgresql",
                "docker:index/remoteImage:RemoteImage::authentik-image-redis",
                "docker:index/remoteImage:RemoteImage::authentik-image-server",
                "docker:index/volume:Volume::authentik-volume-certs",
                "docker:index/volume:Volume::authentik-volume-database",
                "docker:index/volume:Volume::authentik-volume-redis",
                "docker:index/volume:Volume::authentik-volume-storage",
                "docker:index/volume:Volume::authentik-volume-templates",
                "pulumi:providers:docker::docker",
                "pulumi:pulumi:StackReference::deployed",
                "random:index/randomPassword:RandomPassword::authentik-bootstrap-password",
                "random:index/randomPassword:RandomPassword::authentik-bootstrap-token",
                "random:index/randomPassword:RandomPassword::authentik-postgres-password",
                "random:index/randomPassword:RandomPassword::authentik-secret-key",
            ].sort(),
        );
    });

    test("the Docker provider targets the local engine, and every Docker resource uses it", () => {
        const provider = byName(run, "docker");
        expect(provider.inputs.host).toBe("unix:///var/run/docker.sock");
        const dockerResources = run.resources.filter((resource) => resource.type.startsWith("docker:"));
        expect(dockerResources.length).toBeGreaterThan(10);
        for (const resource of dockerResources) {
            expect(resource.provider).toBe(`${provider.urn}::docker-id`);
        }
    });

    test("every resource but the components and the provider is parented to a component", () => {
        const components = run.resources.filter((resource) => resource.type.startsWith("authentik-sso:"));
        expect(components.map((component) => component.parent)).toEqual(components.map(() => ""));
        const componentUrns = components.map((component) => component.urn);
        for (const resource of run.resources.filter((item) => !item.type.startsWith("authentik-sso:") && !["pulumi:providers:docker", "pulumi:pulumi:StackReference"].includes(item.type))) {
            expect({ name: resource.name, parented: componentUrns.includes(resource.parent) }).toEqual({ name: resource.name, parented: true });
        }
    });

    test("a bridge network with the configured subnet", () => {
        const network = byName(run, "authentik-network");
        expect(network.inputs).toMatchObject({ name: "authentik-network", driver: "bridge", ipamConfigs: [{ subnet: "172.28.53.0/24" }] });
        // Its name is fixed: a new subnet removes it (and replaces its containers) before creating the new one.
        expect(network.deleteBeforeReplace).toBe(true);
    });

    test("named volumes for the database, Redis, media, certs and custom templates", () => {
        const names = ofType(run, "docker:index/volume:Volume").map((volume) => volume.inputs.name);
        expect(names.sort()).toEqual(["authentik-certs", "authentik-custom-templates", "authentik-database", "authentik-media", "authentik-redis"]);
    });

    test("PostgreSQL as in the reference deployment", () => {
        const postgres = byName(run, "authentik-postgresql");
        expect(imageOf(run, postgres)).toBe("docker.io/library/postgres:16.14-alpine");
        expect(postgres.inputs).toMatchObject({
            name: "authentik-postgresql",
            restart: "unless-stopped",
            memory: 256,
            healthcheck: { tests: ["CMD-SHELL", "pg_isready -d authentik -U authentik"], interval: "30s", timeout: "5s", retries: 5, startPeriod: "20s" },
            volumes: [{ volumeName: "authentik-database", containerPath: "/var/lib/postgresql/data", readOnly: false }],
            networksAdvanced: [{ name: "authentik-network", aliases: ["postgresql"] }],
            ports: [],
            securityOpts: ["no-new-privileges:true"],
            wait: true,
        });
        const env = envOf(postgres);
        expect(Object.keys(env).sort()).toEqual(["POSTGRES_DB", "POSTGRES_PASSWORD", "POSTGRES_USER"]);
        expect(env.POSTGRES_DB).toBe("authentik");
        expect(env.POSTGRES_USER).toBe("authentik");
        expect(postgres.secretPaths).toContain("envs");
    });

    test("Redis as in the reference deployment", () => {
        const redis = byName(run, "authentik-redis");
        expect(imageOf(run, redis)).toBe("docker.io/library/redis:7.4.11-alpine");
        expect(redis.inputs).toMatchObject({
            command: ["--save", "60", "1", "--loglevel", "warning"],
            restart: "unless-stopped",
            memory: 64,
            healthcheck: { tests: ["CMD-SHELL", "redis-cli ping | grep PONG"], interval: "30s", timeout: "3s", retries: 5, startPeriod: "20s" },
            volumes: [{ volumeName: "authentik-redis", containerPath: "/data", readOnly: false }],
            networksAdvanced: [{ name: "authentik-network", aliases: ["redis"] }],
            ports: [],
            wait: true,
        });
    });

    test("server: image, command, environment, volumes, health, published on 127.0.0.1:9000", () => {
        const server = byName(run, "authentik-server");
        expect(imageOf(run, server)).toBe("ghcr.io/goauthentik/server:2025.6.3");
        expect(server.inputs).toMatchObject({
            name: "authentik-server",
            command: ["server"],
            restart: "unless-stopped",
            memory: 576,
            healthcheck: { tests: ["CMD", "ak", "healthcheck"], interval: "30s", timeout: "30s", retries: 3, startPeriod: "60s" },
            volumes: [
                { volumeName: "authentik-media", containerPath: "/media", readOnly: false },
                { volumeName: "authentik-custom-templates", containerPath: "/templates", readOnly: false },
            ],
            networksAdvanced: [{ name: "authentik-network", aliases: ["server"] }],
            ports: [{ internal: 9000, external: 9000, ip: "127.0.0.1" }],
            securityOpts: ["no-new-privileges:true"],
            wait: true,
        });
        expect(server.inputs.shmSize).toBeUndefined();
        expect(server.inputs.user).toBeUndefined();
        const env = envOf(server);
        expect(env).toMatchObject({
            AUTHENTIK_POSTGRESQL__HOST: "postgresql",
            AUTHENTIK_POSTGRESQL__USER: "authentik",
            AUTHENTIK_POSTGRESQL__NAME: "authentik",
            AUTHENTIK_REDIS__HOST: "redis",
            AUTHENTIK_ERROR_REPORTING__ENABLED: "false",
            AUTHENTIK_DISABLE_STARTUP_ANALYTICS: "true",
            AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS: "127.0.0.0/8,::1/128,172.28.53.0/24",
        });
        expect(env.AUTHENTIK_SECRET_KEY?.length).toBeGreaterThanOrEqual(50);
        expect(env.AUTHENTIK_WEB__BASE_URL).toBeUndefined();
        expect(Object.keys(env).filter((key) => key.startsWith("AUTHENTIK_EMAIL__"))).toEqual([]);
        expect(Object.keys(env).filter((key) => key.startsWith("AUTHENTIK_BOOTSTRAP_"))).toEqual([]);
        expect(server.secretPaths).toContain("envs");
    });

    test("worker: same image and settings, bootstrap credentials, certs, no Docker socket and no root by default", () => {
        const worker = byName(run, "authentik-worker");
        const server = byName(run, "authentik-server");
        expect(imageOf(run, worker)).toBe("ghcr.io/goauthentik/server:2025.6.3");
        expect(worker.inputs.image).toBe(server.inputs.image);
        expect(worker.inputs).toMatchObject({
            command: ["worker"],
            memory: 512,
            restart: "unless-stopped",
            healthcheck: { tests: ["CMD", "ak", "healthcheck"], startPeriod: "60s" },
            volumes: [
                { volumeName: "authentik-media", containerPath: "/media" },
                { volumeName: "authentik-custom-templates", containerPath: "/templates" },
                { volumeName: "authentik-certs", containerPath: "/certs" },
            ],
            ports: [],
        });
        expect(worker.inputs.user).toBeUndefined();
        const env = envOf(worker);
        const serverEnv = envOf(server);
        for (const [key, value] of Object.entries(serverEnv)) {
            expect(env[key]).toBe(value);
        }
        expect(env.AUTHENTIK_BOOTSTRAP_EMAIL).toBe("admin@example.com");
        expect(env.AUTHENTIK_BOOTSTRAP_PASSWORD).toBe(run.outputs.bootstrapPassword?.value);
        expect(env.AUTHENTIK_BOOTSTRAP_TOKEN).toBe(run.outputs.bootstrapToken?.value);
        expect(JSON.stringify(worker.inputs.volumes)).not.toContain("docker.sock");
    });

    test("server and worker start only after PostgreSQL and Redis are healthy, and up waits for them", () => {
        const postgres = byName(run, "authentik-postgresql");
        const redis = byName(run, "authentik-redis");
        for (const name of ["authentik-server", "authentik-worker"]) {
            const container = byName(run, name);
            expect(container.dependencies).toEqual(expect.arrayContaining([postgres.urn, redis.urn]));
            expect(container.inputs.wait).toBe(true);
            // First start runs all migrations: far longer than the 60 s provider default.
            expect(container.inputs.waitTimeout).toBeGreaterThanOrEqual(300);
            expect(container.deleteBeforeReplace).toBe(true);
        }
        for (const dependency of [postgres, redis]) {
            expect(dependency.inputs.wait).toBe(true);
            expect(dependency.inputs.healthcheck).toBeDefined();
            expect(dependency.dependencies.filter((urn) => urn.includes("Container"))).toEqual([]);
        }
    });

    test("every container has a memory limit and their sum fits docker.memoryMb", () => {
        const containers = ofType(run, CONTAINER);
        const total = containers.reduce((sum, container) => sum + Number(container.inputs.memory), 0);
        for (const container of containers) {
            expect(container.inputs.memory).toBeGreaterThan(0);
        }
        expect(total).toBeLessThanOrEqual(1536);
    });

    test("stack outputs: URL, admin user, secret bootstrap credentials, container and network names", () => {
        expect(run.outputs.url).toEqual({ value: "http://localhost:9000", secret: false });
        expect(run.outputs.adminUser).toEqual({ value: "akadmin", secret: false });
        expect(run.outputs.bootstrapPassword?.secret).toBe(true);
        expect(run.outputs.bootstrapToken?.secret).toBe(true);
        expect(run.outputs.networkName?.value).toBe("authentik-network");
        expect(run.outputs.containerNames?.value).toEqual({
            postgresql: "authentik-postgresql",
            redis: "authentik-redis",
            server: "authentik-server",
            worker: "authentik-worker",
        });
    });

    test("no secret value appears in plain text in any non-secret input or output", () => {
        expect(run.secretValues.length).toBeGreaterThanOrEqual(4);
        for (const resource of run.resources) {
            const visible = visibleInputs(resource);
            for (const secret of run.secretValues) {
                expect({ resource: resource.name, leaks: visible.includes(secret) }).toEqual({ resource: resource.name, leaks: false });
            }
        }
        for (const [name, output] of Object.entries(run.outputs)) {
            if (!output.secret) {
                for (const secret of run.secretValues) {
                    expect({ output: name, leaks: JSON.stringify(output.value).includes(secret) }).toEqual({ output: name, leaks: false });
                }
            }
        }
    });
});


describe("authentik release lines", () => {
    test.each([
        ["2025.6.3", true, "/media", undefined],
        ["2025.8.4", true, "/media", undefined],
        ["2025.10.2", false, "/media", undefined],
        ["2025.12.1", false, "/data/media", undefined],
        ["2026.2.0", false, "/data/media", 512],
        ["2026.5.1", false, "/data/media", 512],
        ["2026.8.3", false, "/data/media", 512],
    ])("%s: redis=%s, media at %s, shm %s MB", async (version, redis, mediaPath, shm) => {
        const run = await runProgram({ stack: "local", config: withVersion(version) });
        const names = ofType(run, CONTAINER).map((container) => container.name);
        expect(names.includes("authentik-redis")).toBe(redis);
        expect(ofType(run, "docker:index/volume:Volume").some((volume) => volume.name === "authentik-volume-redis")).toBe(redis);
        for (const role of ["server", "worker"]) {
            const container = byName(run, `authentik-${role}`);
            const env = envOf(container);
            expect(Object.keys(env).some((key) => key.startsWith("AUTHENTIK_REDIS__"))).toBe(redis);
            // The same volume whatever the version: only its mount point moves.
            expect(container.inputs.volumes).toEqual(expect.arrayContaining([{ volumeName: "authentik-media", containerPath: mediaPath, readOnly: false }]));
            expect(container.inputs.shmSize).toBe(shm);
            const after = container.dependencies.filter((urn) => urn.includes("Container")).map((urn) => urn.split("::").pop());
            expect(after.sort()).toEqual(redis ? ["authentik-postgresql", "authentik-redis", "backup-container"] : ["authentik-postgresql", "backup-container"]);
        }
        expect(imageOf(run, byName(run, "authentik-server"))).toBe(`ghcr.io/goauthentik/server:${version}`);
    });

    test("2026.8 sets the base URL and a 120 s start period", async () => {
        const run = await runProgram({ stack: "local", config: withVersion("2026.8.3") });
        const server = byName(run, "authentik-server");
        expect(envOf(server).AUTHENTIK_WEB__BASE_URL).toBe("http://localhost:9000");
        expect(server.inputs.healthcheck).toMatchObject({ startPeriod: "120s" });
    });

    test("2025.10 and later run three containers besides the backup", async () => {
        const run = await runProgram({ stack: "local", config: withVersion("2025.10.2") });
        expect(ofType(run, CONTAINER).map((container) => container.name).sort()).toEqual(["authentik-postgresql", "authentik-server", "authentik-worker", "backup-container"]);
        expect(run.outputs.containerNames?.value).toEqual({ postgresql: "authentik-postgresql", server: "authentik-server", worker: "authentik-worker" });
    });
});

describe("options", () => {
    test("SMTP settings become AUTHENTIK_EMAIL__*, with the password only in secret inputs", async () => {
        const password = "smtp-password-from-secure-config";
        const config = withOverrides(
            local,
            { smtp: { host: "smtp.example.com", port: 465, username: "mailer", password, from: "authentik@example.com", useTls: false, useSsl: true } },
            { keys: ["authentik-sso:smtp"], values: [password] },
        );
        const run = await runProgram({ stack: "local", config });
        for (const role of ["server", "worker"]) {
            const container = byName(run, `authentik-${role}`);
            expect(envOf(container)).toMatchObject({
                AUTHENTIK_EMAIL__HOST: "smtp.example.com",
                AUTHENTIK_EMAIL__PORT: "465",
                AUTHENTIK_EMAIL__USERNAME: "mailer",
                AUTHENTIK_EMAIL__PASSWORD: password,
                AUTHENTIK_EMAIL__FROM: "authentik@example.com",
                AUTHENTIK_EMAIL__TIMEOUT: "10",
                AUTHENTIK_EMAIL__USE_TLS: "false",
                AUTHENTIK_EMAIL__USE_SSL: "true",
            });
            expect(container.secretPaths).toContain("envs");
        }
        for (const resource of run.resources) {
            expect(visibleInputs(resource)).not.toContain(password);
        }
    });

    test("authentik-managed outposts mount the Docker socket into the worker, which then runs as root", async () => {
        const run = await runProgram({ stack: "local", config: withOverrides(local, { authentik: { ...localAuthentik, managedOutposts: true } }) });
        const worker = byName(run, "authentik-worker");
        expect(worker.inputs.volumes).toEqual(expect.arrayContaining([{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: false }]));
        expect(worker.inputs.user).toBe("root");
        expect(JSON.stringify(byName(run, "authentik-server").inputs.volumes)).not.toContain("docker.sock");
    });

    test("protect.database protects the database and media volumes and the database password; protect.secretKey the secret key", async () => {
        const run = await runProgram({ stack: "local", config: withOverrides(local, { protect: { database: true, secretKey: true } }) });
        const protectedNames = run.resources.filter((resource) => resource.protect).map((resource) => resource.name).sort();
        expect(protectedNames).toEqual(["authentik-postgres-password", "authentik-secret-key", "authentik-volume-database", "authentik-volume-storage"]);
    });

    test("nothing is protected unless asked", async () => {
        const run = await runProgram({ stack: "local", config: local });
        expect(run.resources.filter((resource) => resource.protect)).toEqual([]);
    });

    test("without publish, the server publishes no port", async () => {
        const run = await runProgram({ stack: "local", config: withOverrides(local, { docker: { ...localDocker, publish: undefined } }) });
        expect(byName(run, "authentik-server").inputs.ports).toEqual([]);
        expect(run.outputs.url?.value).toBe("https://localhost");
    });

    test("a name prefix renames containers, volumes and the network", async () => {
        const run = await runProgram({ stack: "local", config: withOverrides(local, { docker: { ...localDocker, namePrefix: "sso" } }) });
        expect(byName(run, "authentik-server").inputs.name).toBe("sso-server");
        expect(byName(run, "authentik-network").inputs.name).toBe("sso-network");
        expect(byName(run, "authentik-volume-database").inputs.name).toBe("sso-database");
    });
});
