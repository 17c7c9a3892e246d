/**
 * The core stack under mocks: the real program with the local stack's config, asserting on every container,
 * volume, image, the network, the gates that order start-up, the release-line differences and the secrets.
 */
import { planAuthentik, publicUrl, stackImages } from "../lib/authentikPlan";
import { DEFAULT_AUTHENTIK_VERSION, DEFAULT_IMAGES, parseStackConfig } from "../lib/config";
import { GO_DURATION_PATTERN } from "./goDuration";
import { ProgramRun, RecordedResource, byName, envOf, loadStackFile, mockImageId, ofType, runProgram, visibleInputs, withOverrides } from "./harness";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";
const local = loadStackFile("local");
const localAuthentik = local.config["authentik-sso:authentik"] as Record<string, unknown>;
/** The version the local stack ships with (Renovate moves it; the line's behaviour is tested per line below). */
const shipped = String(localAuthentik.version);
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

/** Names of the resources a resource depends on directly, of one type. */
function directDependencies(run: ProgramRun, resource: RecordedResource, type: string): string[] {
    return run.resources
        .filter((candidate) => candidate.type === type && resource.dependencies.includes(candidate.urn))
        .map((candidate) => candidate.name)
        .sort();
}

const coreResources = [
    "authentik-sso:authentik:Secrets::authentik",
    "authentik-sso:docker:Authentik::authentik",
    "authentik-sso:docker:Backup::backup",
    "authentik-sso:docker:Data::authentik",
    "authentik-sso:docker:LocalHost::docker",
    `${COMMAND}::authentik-names`,
    `${COMMAND}::authentik-postgresql-ready`,
    `${COMMAND}::authentik-prune-images`,
    `${COMMAND}::authentik-server-ready`,
    `${COMMAND}::authentik-worker-ready`,
    `${COMMAND}::backup-ready`,
    "docker:index/container:Container::authentik-postgresql",
    "docker:index/container:Container::authentik-server",
    "docker:index/container:Container::authentik-worker",
    "docker:index/container:Container::backup-container",
    "docker:index/network:Network::authentik-network",
    "docker:index/remoteImage:RemoteImage::authentik-image-postgresql",
    "docker:index/remoteImage:RemoteImage::authentik-image-server",
    "docker:index/volume:Volume::authentik-volume-certs",
    "docker:index/volume:Volume::authentik-volume-database",
    "docker:index/volume:Volume::authentik-volume-media",
    "docker:index/volume:Volume::authentik-volume-templates",
    "pulumi:providers:docker::docker-docker",
    "pulumi:pulumi:StackReference::deployed",
    "random:index/randomPassword:RandomPassword::authentik-bootstrap-password",
    "random:index/randomPassword:RandomPassword::authentik-bootstrap-token",
    "random:index/randomPassword:RandomPassword::authentik-postgres-password",
    "random:index/randomPassword:RandomPassword::authentik-secret-key",
    "random:index/randomUuid:RandomUuid::authentik-instance",
];

describe(`local stack as shipped (authentik ${shipped})`, () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "local", config: local });
    });

    test("registers exactly the expected resources", () => {
        expect(run.resources.map((resource) => `${resource.type}::${resource.name}`).sort()).toEqual(
            [...coreResources, `${COMMAND}::authentik-prepare-data`, "docker:index/volume:Volume::authentik-volume-data"].sort(),
        );
    });

    test("the Docker provider follows DOCKER_HOST (no host set), and every Docker resource uses it", () => {
        const provider = byName(run, "docker-docker");
        // An explicit host would override DOCKER_HOST: rootless Docker, Colima or Podman would not be found.
        expect(provider.inputs.host).toBeUndefined();
        const dockerResources = run.resources.filter((resource) => resource.type.startsWith("docker:"));
        expect(dockerResources.length).toBeGreaterThan(10);
        for (const resource of dockerResources) {
            expect({ name: resource.name, provider: resource.provider }).toEqual({ name: resource.name, provider: `${provider.urn}::docker-docker-id` });
            // Nothing to be replaced with: the local engine is not a resource of the stack.
            expect(resource.replaceWith).toEqual([]);
        }
        for (const command of ofType(run, COMMAND)) {
            expect({ name: command.name, environment: command.inputs.environment }).toEqual({ name: command.name, environment: {} });
        }
    });

    test("docker.host sets the provider's host and the commands' DOCKER_HOST alike", async () => {
        const remote = await runProgram({ stack: "local", config: withOverrides(local, { docker: { ...localDocker, host: "ssh://deploy@docker.lan" } }) });
        expect(byName(remote, "docker-docker").inputs.host).toBe("ssh://deploy@docker.lan");
        for (const command of ofType(remote, COMMAND)) {
            expect(command.inputs.environment).toEqual({ DOCKER_HOST: "ssh://deploy@docker.lan" });
        }
        expect(remote.outputs.dockerHost?.value).toBe("ssh://deploy@docker.lan");
    });

    test("a bridge network with the configured subnet, an explicit gateway and the stack's label", () => {
        const network = byName(run, "authentik-network");
        expect(network.inputs).toEqual({
            name: "authentik-network",
            driver: "bridge",
            ipamConfigs: [{ subnet: "10.213.53.0/24", gateway: "10.213.53.1" }],
            labels: [{ label: "io.authentik-sso.instance", value: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/) }],
        });
        // Its name is fixed: a new subnet removes it (and replaces its containers) before creating the new one.
        expect(network.deleteBeforeReplace).toBe(true);
    });

    test("named volumes for the database, the pre-2025.12 media, the data root, certs and custom templates, each labelled", () => {
        const volumes = ofType(run, "docker:index/volume:Volume");
        expect(volumes.map((volume) => volume.inputs.name).sort()).toEqual(["authentik-certs", "authentik-custom-templates", "authentik-data", "authentik-database", "authentik-media"]);
        const label = (byName(run, "authentik-network").inputs.labels as { value: string }[])[0]?.value;
        for (const volume of volumes) {
            expect(volume.inputs.labels).toEqual([{ label: "io.authentik-sso.instance", value: label }]);
            // Docker adopts an existing volume of the same name: a create-first replacement would end with the old
            // resource deleting the one volume both point at.
            expect(volume.deleteBeforeReplace).toBe(true);
            expect(volume.dependencies).toContain(byName(run, "authentik-names").urn);
        }
    });

    test("the name guard refuses foreign volumes and networks of the stack's names, labelled with its instance id", () => {
        const guard = byName(run, "authentik-names");
        const instance = (byName(run, "authentik-network").inputs.labels as { value: string }[])[0]?.value as string;
        const script = String(guard.inputs.create);
        for (const name of ["authentik-database", "authentik-media", "authentik-data", "authentik-certs", "authentik-custom-templates"]) {
            expect(script).toContain(`check volume '${name}'`);
        }
        expect(script).toContain("check network 'authentik-network'");
        expect(script).toContain(`expected='${instance}'`);
        expect(guard.inputs.triggers).toEqual([instance, "authentik-network", "authentik-database", "authentik-media", "authentik-certs", "authentik-custom-templates", "authentik-data"]);
    });

    test("PostgreSQL as in authentik's compose file", () => {
        const postgres = byName(run, "authentik-postgresql");
        expect(imageOf(run, postgres)).toBe(DEFAULT_IMAGES.postgresql);
        expect(postgres.inputs).toMatchObject({
            name: "authentik-postgresql",
            restart: "unless-stopped",
            memory: 256,
            memorySwap: -1,
            healthcheck: { tests: ["CMD-SHELL", "pg_isready -d authentik -U authentik"], interval: "30s", timeout: "5s", retries: 5, startPeriod: "20s", startInterval: "5s" },
            volumes: [{ volumeName: "authentik-database", containerPath: "/var/lib/postgresql/data", readOnly: false }],
            networksAdvanced: [{ name: "authentik-network", aliases: ["postgresql"] }],
            ports: [],
            securityOpts: ["no-new-privileges:true"],
            // Fast shutdown needs more than Docker's 10 s; the provider's default would SIGKILL it at once.
            destroyGraceSeconds: 90,
            stopTimeout: 90,
        });
        const env = envOf(postgres);
        expect(Object.keys(env).sort()).toEqual(["POSTGRES_DB", "POSTGRES_PASSWORD", "POSTGRES_USER"]);
        expect(env.POSTGRES_DB).toBe("authentik");
        expect(env.POSTGRES_USER).toBe("authentik");
        expect(postgres.secretPaths).toContain("envs");
    });

    test("server: image, command, environment, /data, health, 512 MB shm, published on 127.0.0.1:9000", () => {
        const server = byName(run, "authentik-server");
        expect(imageOf(run, server)).toBe(`ghcr.io/goauthentik/server:${shipped}`);
        expect(server.inputs).toMatchObject({
            name: "authentik-server",
            command: ["server"],
            restart: "unless-stopped",
            memory: 704,
            memorySwap: -1,
            shmSize: 512,
            healthcheck: { tests: ["CMD", "ak", "healthcheck"], interval: "30s", timeout: "30s", retries: 3, startPeriod: "2m0s", startInterval: "5s" },
            volumes: [
                { volumeName: "authentik-data", containerPath: "/data", readOnly: false },
                { volumeName: "authentik-custom-templates", containerPath: "/templates", readOnly: false },
            ],
            networksAdvanced: [{ name: "authentik-network", aliases: ["server"] }],
            ports: [{ internal: 9000, external: 9000, ip: "127.0.0.1" }],
            securityOpts: ["no-new-privileges:true"],
            destroyGraceSeconds: 30,
        });
        expect(server.inputs.user).toBeUndefined();
        const env = envOf(server);
        expect(env).toMatchObject({
            AUTHENTIK_POSTGRESQL__HOST: "postgresql",
            AUTHENTIK_POSTGRESQL__USER: "authentik",
            AUTHENTIK_POSTGRESQL__NAME: "authentik",
            AUTHENTIK_ERROR_REPORTING__ENABLED: "false",
            AUTHENTIK_DISABLE_STARTUP_ANALYTICS: "true",
            AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS: "127.0.0.0/8,::1/128,10.213.53.0/24",
            // From 2026.5 authentik listens on [::]; the authentik network is IPv4-only and some hosts have no IPv6.
            AUTHENTIK_LISTEN__HTTP: "0.0.0.0:9000",
            AUTHENTIK_LISTEN__HTTPS: "0.0.0.0:9443",
            AUTHENTIK_LISTEN__METRICS: "0.0.0.0:9300",
            MALLOC_ARENA_MAX: "2",
            MALLOC_TRIM_THRESHOLD_: "131072",
            // One web process below 1 GB: each holds its own copy of Django.
            AUTHENTIK_WEB__WORKERS: "1",
            AUTHENTIK_WEB__BASE_URL: "http://localhost:9000",
        });
        expect(env.AUTHENTIK_SECRET_KEY?.length).toBeGreaterThanOrEqual(50);
        expect(Object.keys(env).filter((key) => key.startsWith("AUTHENTIK_REDIS__"))).toEqual([]);
        expect(Object.keys(env).filter((key) => key.startsWith("AUTHENTIK_EMAIL__"))).toEqual([]);
        expect(Object.keys(env).filter((key) => key.startsWith("AUTHENTIK_BOOTSTRAP_"))).toEqual([]);
        expect(server.secretPaths).toContain("envs");
    });

    test("worker: same image and settings, bootstrap credentials, certs, no Docker socket and no root by default", () => {
        const worker = byName(run, "authentik-worker");
        const server = byName(run, "authentik-server");
        expect(imageOf(run, worker)).toBe(`ghcr.io/goauthentik/server:${shipped}`);
        expect(worker.inputs.image).toBe(server.inputs.image);
        expect(worker.inputs).toMatchObject({
            name: "authentik-worker",
            command: ["worker"],
            networksAdvanced: [{ name: "authentik-network", aliases: ["worker"] }],
            memory: 448,
            shmSize: 512,
            restart: "unless-stopped",
            healthcheck: { tests: ["CMD", "ak", "healthcheck"], startPeriod: "2m0s" },
            volumes: [
                { volumeName: "authentik-data", containerPath: "/data", readOnly: false },
                { volumeName: "authentik-custom-templates", containerPath: "/templates", readOnly: false },
                { volumeName: "authentik-certs", containerPath: "/certs", readOnly: false },
            ],
            ports: [],
            destroyGraceSeconds: 60,
        });
        expect(worker.inputs.user).toBeUndefined();
        const env = envOf(worker);
        const serverEnv = envOf(server);
        for (const [key, value] of Object.entries(serverEnv).filter(([key]) => key !== "AUTHENTIK_WEB__WORKERS")) {
            expect({ key, value: env[key] }).toEqual({ key, value });
        }
        expect(env.AUTHENTIK_WEB__WORKERS).toBeUndefined();
        expect(env.AUTHENTIK_BOOTSTRAP_EMAIL).toBe("admin@example.com");
        expect(env.AUTHENTIK_BOOTSTRAP_PASSWORD).toBe(run.outputs.bootstrapPassword?.value);
        expect(env.AUTHENTIK_BOOTSTRAP_TOKEN).toBe(run.outputs.bootstrapToken?.value);
        expect(JSON.stringify(worker.inputs.volumes)).not.toContain("docker.sock");
    });

    test("the data root is prepared before server and worker: after the pre-upgrade dump, with both volumes", () => {
        const prepare = byName(run, "authentik-prepare-data");
        const script = String(prepare.inputs.create);
        expect(script).toContain("docker run --rm -i --network none --user 0:0");
        expect(script).toContain("--volume 'authentik-data:/data'");
        expect(script).toContain("--volume 'authentik-media:/legacy-media:ro'");
        // The PostgreSQL image is on the host already and has a shell.
        expect(script).toContain(`'${mockImageId(DEFAULT_IMAGES.postgresql)}' -s`);
        expect(script).toContain("prepare-data: ");
        expect(prepare.inputs.triggers).toEqual([shipped, "authentik-data", "authentik-media"]);
        expect(prepare.dependencies).toEqual(expect.arrayContaining([byName(run, "backup-ready").urn, byName(run, "authentik-volume-data").urn, byName(run, "authentik-volume-media").urn]));
        for (const name of ["authentik-server", "authentik-worker"]) {
            expect(byName(run, name).dependencies).toContain(prepare.urn);
        }
    });

    test("every container has a gate: a command that waits for healthy, re-run whenever the container is replaced", () => {
        const timeouts: Record<string, number> = { "authentik-postgresql": 180, "authentik-server": 600, "authentik-worker": 600, "backup-container": 900 };
        for (const container of ofType(run, CONTAINER)) {
            const gate = byName(run, `${container.name.replace(/-container$/, "")}-ready`);
            expect(gate.inputs.triggers).toEqual([container.id]);
            expect(gate.dependencies).toContain(container.urn);
            const script = String(gate.inputs.create);
            expect(script).toContain(`name='${String(container.inputs.name)}'`);
            expect(script).toContain(`+ ${timeouts[container.name]} ))`);
            // The provider's own wait would leave a stored container unchecked after a time-out.
            expect(container.inputs.wait).toBeUndefined();
        }
        expect(String(byName(run, "backup-ready").inputs.create)).toContain(`docker exec 'authentik-backup' /bin/sh /usr/local/bin/authentik-backup ready '${shipped}'`);
    });

    test("the server's gate first checks that the data volume holds a real media folder, not the image's symlink", () => {
        const check = "docker exec 'authentik-backup' sh -c 'test -d /sources/data/media && ! test -L /sources/data/media'";
        expect(String(byName(run, "authentik-server-ready").inputs.create)).toContain(check);
        expect(String(byName(run, "authentik-worker-ready").inputs.create)).not.toContain(check);
    });

    test("server and worker start after the gates of PostgreSQL and of the backup (the pre-upgrade dump)", () => {
        for (const name of ["authentik-server", "authentik-worker"]) {
            const container = byName(run, name);
            expect(directDependencies(run, container, COMMAND)).toEqual(["authentik-postgresql-ready", "authentik-prepare-data", "backup-ready"]);
            expect(directDependencies(run, container, CONTAINER)).toEqual([]);
            expect(container.deleteBeforeReplace).toBe(true);
        }
        expect(directDependencies(run, byName(run, "backup-container"), COMMAND)).toEqual(["authentik-postgresql-ready"]);
        expect(directDependencies(run, byName(run, "authentik-postgresql"), CONTAINER)).toEqual([]);
    });

    test("old authentik images are pruned only after server and worker are ready, keeping the one in use", () => {
        const prune = byName(run, "authentik-prune-images");
        expect(directDependencies(run, prune, COMMAND)).toEqual(["authentik-server-ready", "authentik-worker-ready"]);
        const keep = mockImageId(`ghcr.io/goauthentik/server:${shipped}`);
        expect(String(prune.inputs.create)).toContain(`keep='${keep}'`);
        expect(String(prune.inputs.create)).toContain("docker image ls --no-trunc --quiet 'ghcr.io/goauthentik/server'");
        expect(prune.inputs.triggers).toEqual([keep]);
    });

    test("every container has a memory limit and their sum fits docker.memoryMb", () => {
        const containers = ofType(run, CONTAINER);
        const total = containers.reduce((sum, container) => sum + Number(container.inputs.memory), 0);
        expect(containers.map((container) => [container.name, container.inputs.memory]).sort()).toEqual([
            ["authentik-postgresql", 256],
            ["authentik-server", 704],
            ["authentik-worker", 448],
            ["backup-container", 64],
        ]);
        expect(total).toBeLessThanOrEqual(1600);
    });

    test("stack outputs: URL, admin user, secret bootstrap credentials, the version once both gates passed", () => {
        expect(run.outputs.url).toEqual({ value: "http://localhost:9000", secret: false });
        expect(run.outputs.adminUser).toEqual({ value: "akadmin", secret: false });
        expect(run.outputs.bootstrapPassword?.secret).toBe(true);
        expect(run.outputs.bootstrapToken?.secret).toBe(true);
        expect(run.outputs.authentikVersion).toEqual({ value: shipped, secret: false });
        expect(run.outputs.networkName?.value).toBe("authentik-network");
        expect(run.outputs.containerNames?.value).toEqual({ postgresql: "authentik-postgresql", server: "authentik-server", worker: "authentik-worker" });
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

describe("local stack at 2025.6.3 (the reference deployment, with Redis)", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "local", config: withVersion("2025.6.3") });
    });

    test("registers exactly the expected resources: Redis and its gate, no data volume, no preparation", () => {
        expect(run.resources.map((resource) => `${resource.type}::${resource.name}`).sort()).toEqual(
            [
                ...coreResources,
                `${COMMAND}::authentik-redis-ready`,
                "docker:index/container:Container::authentik-redis",
                "docker:index/remoteImage:RemoteImage::authentik-image-redis",
                "docker:index/volume:Volume::authentik-volume-redis",
            ].sort(),
        );
    });

    test("Redis as in the reference deployment", () => {
        const redis = byName(run, "authentik-redis");
        expect(imageOf(run, redis)).toBe(DEFAULT_IMAGES.redis);
        expect(redis.inputs).toMatchObject({
            name: "authentik-redis",
            command: ["--save", "60", "1", "--loglevel", "warning"],
            restart: "unless-stopped",
            memory: 64,
            healthcheck: { tests: ["CMD-SHELL", "redis-cli ping | grep PONG"], interval: "30s", timeout: "3s", retries: 5, startPeriod: "20s" },
            volumes: [{ volumeName: "authentik-redis", containerPath: "/data", readOnly: false }],
            networksAdvanced: [{ name: "authentik-network", aliases: ["redis"] }],
            ports: [],
        });
    });

    test("server and worker keep their files at /media, have Redis, and wait for the Redis gate too", () => {
        for (const name of ["authentik-server", "authentik-worker"]) {
            const container = byName(run, name);
            expect(container.inputs.volumes).toEqual(expect.arrayContaining([{ volumeName: "authentik-media", containerPath: "/media", readOnly: false }]));
            expect(envOf(container).AUTHENTIK_REDIS__HOST).toBe("redis");
            // The listen settings had other names on 2025.6 and defaulted to 0.0.0.0.
            expect(envOf(container).AUTHENTIK_LISTEN__HTTP).toBeUndefined();
            expect(container.inputs.shmSize).toBeUndefined();
            expect(directDependencies(run, container, COMMAND)).toEqual(["authentik-postgresql-ready", "authentik-redis-ready", "backup-ready"]);
            expect(String(byName(run, `${name}-ready`).inputs.create)).not.toContain("/sources/data/media");
        }
        expect(byName(run, "authentik-server").inputs.memory).toBe(576);
        expect(byName(run, "authentik-worker").inputs.memory).toBe(512);
    });
});

describe("authentik release lines", () => {
    test.each([
        ["2025.6.3", true, "/media", undefined, undefined, 576, 512],
        ["2025.8.6", true, "/media", undefined, undefined, 576, 512],
        ["2025.10.4", false, "/media", undefined, undefined, 640, 512],
        ["2025.12.4", false, "/data", undefined, undefined, 640, 512],
        ["2026.2.6", false, "/data", 512, undefined, 640, 512],
        ["2026.5.6", false, "/data", 512, "0.0.0.0:9000", 704, 448],
        ["2026.8.3", false, "/data", 512, "0.0.0.0:9000", 704, 448],
    ])("%s: redis=%s, files at %s, shm %s MB, listen %s, server %s MB, worker %s MB", async (version, redis, storage, shm, listen, serverMb, workerMb) => {
        const run = await runProgram({ stack: "local", config: withVersion(version) });
        const names = ofType(run, CONTAINER).map((container) => container.name);
        expect(names.includes("authentik-redis")).toBe(redis);
        expect(ofType(run, "docker:index/volume:Volume").some((volume) => volume.name === "authentik-volume-redis")).toBe(redis);
        expect(ofType(run, "docker:index/volume:Volume").some((volume) => volume.name === "authentik-volume-data")).toBe(storage === "/data");
        expect(run.resources.some((resource) => resource.name === "authentik-prepare-data")).toBe(storage === "/data");
        for (const role of ["server", "worker"]) {
            const container = byName(run, `authentik-${role}`);
            const env = envOf(container);
            expect(Object.keys(env).some((key) => key.startsWith("AUTHENTIK_REDIS__"))).toBe(redis);
            expect(env.AUTHENTIK_LISTEN__HTTP).toBe(listen);
            expect(env.MALLOC_ARENA_MAX).toBe("2");
            const volume = storage === "/data" ? "authentik-data" : "authentik-media";
            expect((container.inputs.volumes as unknown[])[0]).toEqual({ volumeName: volume, containerPath: storage, readOnly: false });
            // Never a mount at /data/media: it would follow the image's symlink to /media.
            expect(JSON.stringify(container.inputs.volumes)).not.toContain("/data/media");
            expect(container.inputs.shmSize).toBe(shm);
        }
        // The backup container reads the same files, read-only, under its files root.
        expect((byName(run, "backup-container").inputs.volumes as unknown[])[0]).toEqual(
            storage === "/data"
                ? { volumeName: "authentik-data", containerPath: "/sources/data", readOnly: true }
                : { volumeName: "authentik-media", containerPath: "/sources/media", readOnly: true },
        );
        expect(byName(run, "authentik-server").inputs.memory).toBe(serverMb);
        expect(byName(run, "authentik-worker").inputs.memory).toBe(workerMb);
        expect(imageOf(run, byName(run, "authentik-server"))).toBe(`ghcr.io/goauthentik/server:${version}`);
        for (const container of ofType(run, CONTAINER)) {
            for (const field of ["interval", "timeout", "startPeriod", "startInterval"]) {
                expect((container.inputs.healthcheck as Record<string, string>)[field]).toMatch(GO_DURATION_PATTERN);
            }
        }
    });

    test("before 2026.8 a 60 s start period and no base URL", async () => {
        const run = await runProgram({ stack: "local", config: withVersion("2026.5.6") });
        const server = byName(run, "authentik-server");
        expect(envOf(server).AUTHENTIK_WEB__BASE_URL).toBeUndefined();
        expect(server.inputs.healthcheck).toMatchObject({ startPeriod: "1m0s" });
    });

    test("a digest pins the server image, which is then pulled by digest", async () => {
        const digest = `sha256:${"ab".repeat(32)}`;
        const run = await runProgram({ stack: "local", config: withOverrides(local, { authentik: { ...localAuthentik, digest } }) });
        expect(imageOf(run, byName(run, "authentik-server"))).toBe(`ghcr.io/goauthentik/server:${shipped}@${digest}`);
        expect(String(byName(run, "authentik-prune-images").inputs.create)).toContain("'ghcr.io/goauthentik/server'");
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

    test("protect.database protects the database, media and data volumes and the database password; protect.secretKey the secret key", async () => {
        const run = await runProgram({ stack: "local", config: withOverrides(local, { protect: { database: true, secretKey: true } }) });
        const protectedNames = run.resources.filter((resource) => resource.protect).map((resource) => resource.name).sort();
        expect(protectedNames).toEqual(["authentik-postgres-password", "authentik-secret-key", "authentik-volume-data", "authentik-volume-database", "authentik-volume-media"]);
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

    test("a server limit of 1 GB or more gets two web processes", async () => {
        const run = await runProgram({ stack: "local", config: withOverrides(local, { docker: { ...localDocker, memoryMb: 2048, memoryLimitsMb: { server: 1024 } } }) });
        expect(envOf(byName(run, "authentik-server")).AUTHENTIK_WEB__WORKERS).toBe("2");
    });

    test("a name prefix renames containers, volumes and the network", async () => {
        const run = await runProgram({ stack: "local", config: withOverrides(local, { docker: { ...localDocker, namePrefix: "sso" } }) });
        expect(byName(run, "authentik-server").inputs.name).toBe("sso-server");
        expect(byName(run, "authentik-network").inputs.name).toBe("sso-network");
        expect(byName(run, "authentik-volume-database").inputs.name).toBe("sso-database");
        expect(String(byName(run, "authentik-server-ready").inputs.create)).toContain("name='sso-server'");
    });
});

describe("the plan's pure parts", () => {
    const minimal = { domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" } };
    const cloudflare = { accountId: "0123456789abcdef0123456789abcdef", zone: "example.com" };

    test("the public URL: the published port over http on the local stack, else https on the domain", () => {
        expect(publicUrl(parseStackConfig({ ...minimal, docker: { publish: "127.0.0.1:9443" } }))).toBe("http://auth.example.com:9443");
        expect(publicUrl(parseStackConfig({ ...minimal, cloudflare }))).toBe("https://auth.example.com");
        expect(publicUrl(parseStackConfig(minimal))).toBe("https://auth.example.com");
    });

    test("a new VM pre-pulls the stack's images: authentik first, Redis only on a line that uses it, cloudflared only with a tunnel", () => {
        const imagesOf = (settings: Record<string, unknown>) => {
            const config = parseStackConfig({ ...minimal, ...settings });
            return stackImages(config, planAuthentik(config));
        };
        expect(imagesOf({ authentik: { ...minimal.authentik, version: "2025.8.6" } })).toEqual(["ghcr.io/goauthentik/server:2025.8.6", DEFAULT_IMAGES.postgresql, DEFAULT_IMAGES.redis]);
        expect(imagesOf({ cloudflare })).toEqual([`ghcr.io/goauthentik/server:${DEFAULT_AUTHENTIK_VERSION}`, DEFAULT_IMAGES.postgresql, DEFAULT_IMAGES.cloudflared]);
    });

    test("a version that was never validated is refused, not planned with a guessed feature set", () => {
        const config = parseStackConfig(minimal);
        expect(() => planAuthentik({ ...config, authentik: { ...config.authentik, version: "2026.8" } })).toThrow("authentik.version 2026.8 was not validated");
    });
});
