/**
 * Off-site backups under mocks: what backup.offsite adds to the stack (the restic binary's volume, image and
 * install, the repository password), what the backup container gets (memory, environment, mounts, the secret
 * settings file) and that none of the off-site secrets is visible anywhere. The script itself runs against a real
 * restic in offsite.test.ts.
 */
import { DEFAULT_IMAGES } from "../lib/config";
import { ProgramRun, RecordedResource, StackConfigInput, byName, envOf, findByName, loadStackFile, mockImageId, runProgram, visibleInputs, withOverrides } from "./harness";

const local = loadStackFile("local");
const localBackup = local.config["authentik-sso:backup"] as Record<string, unknown>;
/** Where the script finds the secret settings (a literal, not lib/backupPlan's constant: a test of that constant). */
const OFFSITE_ENV_FILE = "/etc/authentik-backup/offsite.env";
const REPOSITORY = "s3:s3.eu-central-1.amazonaws.com/example-bucket/authentik";
const CREDENTIALS = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLEACCESSKEY", AWS_SECRET_ACCESS_KEY: "example/secret+access-key" };

/** A stack's config (the local one unless given) with backup.offsite set, its credentials as secrets. */
function withOffsite(offsite: Record<string, unknown>, secretValues: string[] = Object.values(CREDENTIALS), base: StackConfigInput = local) {
    const backup = base.config["authentik-sso:backup"] as Record<string, unknown>;
    return withOverrides(base, { backup: { ...backup, offsite } }, { keys: ["authentik-sso:backup"], values: secretValues });
}

interface Upload {
    file: string;
    content?: string;
    permissions?: string;
    executable?: boolean;
}

function uploadsOf(container: RecordedResource): Upload[] {
    return container.inputs.uploads as Upload[];
}

describe("backup.offsite with an S3 repository", () => {
    let run: ProgramRun;
    let container: RecordedResource;
    beforeAll(async () => {
        run = await runProgram({ stack: "local", config: withOffsite({ repository: REPOSITORY, env: CREDENTIALS, keep: { daily: 10 } }) });
        container = byName(run, "backup-container");
    });

    test("adds the restic binary's volume, its pinned image, the install and a generated repository password", () => {
        const added = run.resources.filter((resource) => /restic|offsite/.test(resource.name)).map((resource) => `${resource.type}::${resource.name}`);
        expect(added.sort()).toEqual(
            [
                "command:local:Command::backup-restic-install",
                "docker:index/remoteImage:RemoteImage::backup-image-restic",
                "docker:index/volume:Volume::authentik-volume-restic",
                "random:index/randomPassword:RandomPassword::backup-offsite-password",
            ].sort(),
        );
        expect(byName(run, "backup-image-restic").inputs.name).toBe(DEFAULT_IMAGES.restic);
        expect(byName(run, "backup-offsite-password").inputs).toEqual({ length: 48, special: false, minLower: 4, minUpper: 4, minNumeric: 4 });
        const component = byName(run, "backup");
        for (const name of ["backup-image-restic", "backup-offsite-password", "backup-restic-install", "backup-container"]) {
            expect(byName(run, name).parent).toBe(component.urn);
        }
    });

    test("the install copies restic out of its image into the volume, without network, again when the image changes", () => {
        const install = byName(run, "backup-restic-install");
        const script = String(install.inputs.create);
        expect(script).toContain("docker run --rm -i --network none --user 0:0");
        expect(script).toContain("--volume 'authentik-restic:/out'");
        expect(script).toContain(`--entrypoint /bin/sh '${mockImageId(DEFAULT_IMAGES.restic)}'`);
        expect(script).toContain("cp /usr/bin/restic /out/restic.new");
        expect(script).toContain("mv /out/restic.new /out/restic");
        // On the local Docker there is no host identity to add: a new VM is what re-runs the install elsewhere.
        expect(install.inputs.triggers).toEqual([mockImageId(DEFAULT_IMAGES.restic), "authentik-restic"]);
        expect(install.dependencies).toContain(byName(run, "authentik-volume-restic").urn);
        expect(container.dependencies).toContain(install.urn);
    });

    test("the backup container gets the memory, the settings and the read-only binary restic needs", () => {
        expect(container.inputs.memory).toBe(128);
        expect(envOf(container)).toMatchObject({
            OFFSITE_ENV_FILE,
            RESTIC: "/opt/restic/restic",
            RESTIC_HOST: "authentik-sso-local",
            RESTIC_CACHE_DIR: "/backups/.state/restic-cache",
            GOMEMLIMIT: "96MiB",
            KEEP_DAILY: "10",
            KEEP_WEEKLY: "4",
            KEEP_MONTHLY: "6",
            CHECK_DAY: "sunday",
            STACK_NAME: "local",
            POSTGRES_IMAGE: DEFAULT_IMAGES.postgresql,
        });
        expect(JSON.stringify(envOf(container))).not.toContain("AWS_");
        // The restic binary read-only, and nothing for the repository: an S3 repository is not a path on the host.
        expect(container.inputs.volumes).toEqual([
            { volumeName: "authentik-data", containerPath: "/sources/data", readOnly: true },
            { volumeName: "authentik-certs", containerPath: "/sources/certs", readOnly: true },
            { volumeName: "authentik-custom-templates", containerPath: "/sources/templates", readOnly: true },
            { hostPath: String(localBackup.hostPath), containerPath: "/backups", readOnly: false },
            { volumeName: "authentik-restic", containerPath: "/opt/restic", readOnly: true },
        ]);
    });

    test("repository, password, credentials and the secret key reach restic in a 0400 file, as a secret", () => {
        const settings = uploadsOf(container).find((upload) => upload.file === OFFSITE_ENV_FILE);
        expect(settings?.permissions).toBe("0400");
        const password = run.secretValues.find((value) => String(settings?.content).includes(`RESTIC_PASSWORD='${value}'`));
        expect(password).toBeDefined();
        expect(settings?.content).toContain(`export RESTIC_REPOSITORY='${REPOSITORY}'\n`);
        expect(settings?.content).toContain(`export AWS_ACCESS_KEY_ID='${CREDENTIALS.AWS_ACCESS_KEY_ID}'\n`);
        expect(settings?.content).toContain(`export AWS_SECRET_ACCESS_KEY='${CREDENTIALS.AWS_SECRET_ACCESS_KEY}'\n`);
        expect(settings?.content).toMatch(/^export AUTHENTIK_SECRET_KEY='[A-Za-z0-9]{64}'$/m);
        expect(container.secretPaths).toContain("uploads");
        expect(container.additionalSecretOutputs).toContain("uploads");
        // The script upload stays as it was.
        expect(uploadsOf(container).map((upload) => upload.file)).toEqual(["/usr/local/bin/authentik-backup", OFFSITE_ENV_FILE]);
    });

    test("no off-site secret is visible in any input or output; the password and repository are secret outputs", () => {
        for (const secret of [...Object.values(CREDENTIALS), ...run.secretValues]) {
            for (const resource of run.resources) {
                expect({ resource: resource.name, leaks: visibleInputs(resource).includes(secret) }).toEqual({ resource: resource.name, leaks: false });
            }
        }
        expect(run.outputs.offsitePassword?.secret).toBe(true);
        // The backup component's own outputs (state) hold the password as a secret, beside its container's name.
        const registered = run.registeredOutputs[byName(run, "backup").urn];
        expect(registered?.outputs.containerName).toBe("authentik-backup");
        expect(registered?.secretPaths).toEqual(["offsitePassword"]);
        expect(run.secretValues).toContain(registered?.outputs.offsitePassword);
        expect(run.outputs.offsiteRepository).toEqual({ value: REPOSITORY, secret: true });
    });
});

describe("backup.offsite variants", () => {
    test("on a Proxmox VM the restic install runs again on a new VM (the host identity is one of its triggers)", async () => {
        const run = await runProgram({ stack: "dev", config: withOffsite({ repository: REPOSITORY, env: CREDENTIALS }, undefined, loadStackFile("dev")) });
        const hostLabel = (byName(run, "backup-container").inputs.labels as { label: string; value: string }[]).find((label) => label.label === "io.authentik-sso.host");
        expect(hostLabel?.value).toMatch(/\S/);
        expect(byName(run, "backup-restic-install").inputs.triggers).toEqual([mockImageId(DEFAULT_IMAGES.restic), "authentik-restic", hostLabel?.value]);
    });

    test("a configured password is used, and none generated", async () => {
        const password = "a-repository-password-from-the-vault";
        const run = await runProgram({ stack: "local", config: withOffsite({ repository: "b2:bucket:authentik", password, env: { B2_ACCOUNT_ID: "id", B2_ACCOUNT_KEY: "key" } }, ["id", "key", password]) });
        expect(findByName(run, "backup-offsite-password")).toBeUndefined();
        const settings = uploadsOf(byName(run, "backup-container")).find((upload) => upload.file === OFFSITE_ENV_FILE);
        expect(settings?.content).toContain(`export RESTIC_PASSWORD='${password}'\n`);
        expect(run.outputs.offsitePassword).toEqual({ value: password, secret: true });
    });

    test("a path repository (a NAS mount on the Docker host) is mounted at the same path", async () => {
        const run = await runProgram({ stack: "local", config: withOffsite({ repository: "/mnt/nas/authentik-restic" }, []) });
        expect(byName(run, "backup-container").inputs.volumes).toEqual(expect.arrayContaining([{ hostPath: "/mnt/nas/authentik-restic", containerPath: "/mnt/nas/authentik-restic", readOnly: false }]));
    });

    test("a memory limit set by hand wins, and GOMEMLIMIT follows it", async () => {
        const localDocker = local.config["authentik-sso:docker"] as Record<string, unknown>;
        const config = withOverrides(
            withOffsite({ repository: "/mnt/nas/authentik-restic" }, []),
            { docker: { ...localDocker, memoryMb: 2048, memoryLimitsMb: { backup: 256 } } },
        );
        const run = await runProgram({ stack: "local", config });
        const container = byName(run, "backup-container");
        expect(container.inputs.memory).toBe(256);
        expect(envOf(container).GOMEMLIMIT).toBe("224MiB");
    });

    test("authentik.secretKey (recovering a stack whose state is lost) replaces the generated key, as a secret", async () => {
        const secretKey = "recovered-".padEnd(64, "x");
        const localAuthentik = local.config["authentik-sso:authentik"] as Record<string, unknown>;
        const config = withOverrides(local, { authentik: { ...localAuthentik, secretKey } }, { keys: ["authentik-sso:authentik"], values: [secretKey] });
        const run = await runProgram({ stack: "local", config });
        expect(findByName(run, "authentik-secret-key")).toBeUndefined();
        for (const name of ["authentik-server", "authentik-worker"]) {
            const container = byName(run, name);
            expect(envOf(container).AUTHENTIK_SECRET_KEY).toBe(secretKey);
            expect(visibleInputs(container)).not.toContain(secretKey);
        }
    });
});
