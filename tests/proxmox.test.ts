/**
 * The Proxmox VM under mocks, with the dev and prod stacks' config: the VM, its image and cloud-init snippet,
 * the firewall, the readiness check and the Docker provider bound to the VM.
 */
import { parse as parseYaml } from "yaml";
import { ProgramRun, byName, loadStackFile, mockMacAddress, ofType, runProgram, transitiveDependencies } from "./harness";

const dev = loadStackFile("dev");
const prod = loadStackFile("prod");

describe("dev stack: a VM from a cloud image, Docker over SSH once it is ready", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "dev", config: dev });
    });

    test("the cloud image is downloaded to the node as an importable disk", () => {
        const image = byName(run, "authentik-image");
        expect(image.type).toBe("proxmoxve:download/file:File");
        expect(image.inputs).toMatchObject({
            nodeName: "pve",
            datastoreId: "local",
            contentType: "import",
            url: "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2",
            fileName: "authentik-dev-debian-12-genericcloud-amd64.qcow2",
            overwrite: false,
        });
        expect(image.deleteBeforeReplace).toBe(true);
    });

    test("the VM: 2 cores, 2048 MB, the disk imported from the image, a firewalled NIC, static address, cloud-init snippet", () => {
        const vm = byName(run, "authentik-vm");
        const image = byName(run, "authentik-image");
        const snippet = byName(run, "authentik-user-data");
        expect(vm.type).toBe("proxmoxve:index/vmLegacy:VmLegacy");
        expect(vm.inputs).toMatchObject({
            nodeName: "pve",
            vmId: 9101,
            name: "authentik-dev",
            onBoot: true,
            started: true,
            protection: false,
            agent: { enabled: true, trim: true },
            cpu: { cores: 2, sockets: 1, type: "x86-64-v2-AES" },
            memory: { dedicated: 2048, floating: 0 },
            disks: [{ interface: "scsi0", datastoreId: "local-lvm", importFrom: `${image.name}-id`, size: 20, discard: "on", iothread: true, ssd: true }],
            networkDevices: [{ bridge: "vmbr0", model: "virtio", firewall: true }],
            initialization: {
                datastoreId: "local-lvm",
                ipConfigs: [{ ipv4: { address: "192.168.1.51/24", gateway: "192.168.1.1" } }],
                dns: { servers: ["1.1.1.1", "9.9.9.9"] },
                userDataFileId: `${snippet.name}-id`,
            },
            tags: ["authentik", "dev"],
        });
        expect(vm.dependencies).toEqual(expect.arrayContaining([image.urn, snippet.urn]));
        expect(vm.protect).toBe(false);
        // A fixed vmId cannot exist twice: replacement deletes first.
        expect(vm.deleteBeforeReplace).toBe(true);
    });

    test("the cloud-init snippet holds the rendered user-data and is bootstrap only", () => {
        const snippet = byName(run, "authentik-user-data");
        expect(snippet.inputs).toMatchObject({ nodeName: "pve", datastoreId: "local", contentType: "snippets" });
        expect(snippet.ignoreChanges).toEqual(["sourceRaw"]);
        expect(snippet.deleteBeforeReplace).toBe(true);
        const raw = snippet.inputs.sourceRaw as { fileName: string; data: string };
        expect(raw.fileName).toBe("authentik-dev-user-data.yaml");
        expect(raw.data.startsWith("#cloud-config\n")).toBe(true);
        const userData = parseYaml(raw.data) as { users: { name: string; ssh_authorized_keys: string[] }[]; runcmd: string[][] };
        expect(userData.users[0]?.name).toBe("authentik");
        expect(userData.users[0]?.ssh_authorized_keys).toEqual((dev.config["authentik-sso:proxmox"] as { sshPublicKeys: string[] }).sshPublicKeys);
        expect(userData.runcmd).toContainEqual(["install", "--directory", "--mode=0700", "/var/backups/authentik"]);
    });

    test("the firewall is on, drops inbound by default and lets SSH in from the admin network only", () => {
        const vm = byName(run, "authentik-vm");
        const options = byName(run, "authentik-firewall-options");
        const rules = byName(run, "authentik-firewall-rules");
        expect(options.inputs).toMatchObject({ nodeName: "pve", vmId: 9101, enabled: true, inputPolicy: "DROP", outputPolicy: "ACCEPT" });
        expect(rules.inputs.rules).toEqual([
            expect.objectContaining({ type: "in", action: "ACCEPT", proto: "tcp", dport: "22", source: "192.168.1.0/24", enabled: true }),
        ]);
        expect(options.dependencies).toContain(vm.urn);
        expect(rules.dependencies).toContain(options.urn);
    });

    test("the readiness check waits for cloud-init and docker on the VM, and depends on the VM", () => {
        const ready = byName(run, "vm-ready");
        const vm = byName(run, "authentik-vm");
        expect(ready.type).toBe("command:remote:Command");
        expect(ready.inputs.connection).toMatchObject({ host: "192.168.1.51", user: "authentik", perDialTimeout: 10, dialErrorLimit: 90 });
        expect(String(ready.inputs.create)).toContain("cloud-init status --wait");
        expect(String(ready.inputs.create)).toContain("docker info");
        // A replaced VM keeps vmId 9101 but not its MAC addresses.
        expect(ready.inputs.triggers).toEqual([9101, [mockMacAddress("authentik-vm")]]);
        expect(transitiveDependencies(run, ready)).toContain(vm.urn);
        const host = byName(run, "vm");
        expect(host.dependencies).toEqual(expect.arrayContaining([byName(run, "authentik-firewall-rules").urn, vm.urn]));
    });

    test("the Docker provider connects over SSH with time-outs and depends on the readiness check", () => {
        const provider = byName(run, "vm-docker");
        expect(provider.type).toBe("pulumi:providers:docker");
        expect(provider.inputs.host).toBe("ssh://authentik@192.168.1.51");
        const sshOpts = JSON.stringify(provider.inputs.sshOpts);
        expect(sshOpts).toContain("ConnectTimeout=10");
        expect(sshOpts).toContain("ConnectionAttempts=6");
        expect(sshOpts).toContain("StrictHostKeyChecking=accept-new");
        expect(provider.dependencies).toContain(byName(run, "vm-ready").urn);
        // The host itself comes from the check's output, so the provider cannot connect before it passed.
        expect(provider.propertyDependencies.host).toContain(byName(run, "vm-ready").urn);
    });

    test("every Docker resource uses the VM's provider, and no local Docker provider exists", () => {
        const provider = byName(run, "vm-docker");
        const dockerResources = run.resources.filter((resource) => resource.type.startsWith("docker:"));
        expect(dockerResources.length).toBeGreaterThanOrEqual(15);
        for (const resource of dockerResources) {
            expect({ name: resource.name, provider: resource.provider }).toEqual({ name: resource.name, provider: `${provider.urn}::vm-docker-id` });
        }
        expect(ofType(run, "pulumi:providers:docker").map((resource) => resource.name)).toEqual(["vm-docker"]);
    });

    test("the core stack's containers are all there and wait for the VM", () => {
        const names = ofType(run, "docker:index/container:Container").map((container) => container.inputs.name);
        expect(names.sort()).toEqual(["authentik-backup", "authentik-cloudflared-1", "authentik-postgresql", "authentik-redis", "authentik-server", "authentik-worker"]);
        const vm = byName(run, "authentik-vm");
        for (const container of ofType(run, "docker:index/container:Container")) {
            expect(transitiveDependencies(run, container)).toContain(vm.urn);
        }
    });

    test("outputs say where the VM is", () => {
        expect(run.outputs.vmId).toEqual({ value: 9101, secret: false });
        expect(run.outputs.vmAddress).toEqual({ value: "192.168.1.51", secret: false });
        expect(run.outputs.dockerHost).toEqual({ value: "ssh://authentik@192.168.1.51", secret: false });
    });
});

describe("prod stack: protection and sizing", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "prod", config: prod });
    });

    test("the VM is protected in Pulumi and in Proxmox", () => {
        const vm = byName(run, "authentik-vm");
        expect(vm.protect).toBe(true);
        expect(vm.inputs.protection).toBe(true);
        expect(vm.inputs).toMatchObject({ vmId: 9201, cpu: { cores: 4 }, memory: { dedicated: 4096 } });
    });

    test("the database storage and the secret key are protected", () => {
        expect(run.resources.filter((resource) => resource.protect).map((resource) => resource.name).sort()).toEqual([
            "authentik-postgres-password",
            "authentik-secret-key",
            "authentik-vm",
            "authentik-volume-database",
            "authentik-volume-storage",
        ]);
    });
});

describe("a private key from config is used for the readiness check, as a secret", () => {
    test("sshPrivateKey", async () => {
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nMOCK-KEY-FOR-TESTS\n-----END OPENSSH PRIVATE KEY-----";
        const config = { ...dev, config: { ...dev.config, "authentik-sso:sshPrivateKey": key }, secretKeys: ["authentik-sso:sshPrivateKey"], secretValues: [key] };
        const run = await runProgram({ stack: "dev", config });
        const ready = byName(run, "vm-ready");
        expect((ready.inputs.connection as { privateKey: string }).privateKey).toBe(key);
        expect(ready.secretPaths).toEqual(expect.arrayContaining([expect.stringMatching(/^connection/)]));
    });
});
