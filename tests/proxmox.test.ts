/**
 * The Proxmox VM under mocks, with the dev and prod stacks' config: the VM, its image and cloud-init snippet,
 * the firewall, the readiness check and the Docker provider bound to the VM.
 */
import { parse as parseYaml } from "yaml";
import { CLOUD_IMAGES, DEFAULT_IMAGES } from "../lib/config";
import { ProgramRun, byName, loadStackFile, mockHostPublicKey, mockMacAddress, mockPrivateKey, mockVmMacAddress, ofType, runProgram, transitiveDependencies, withOverrides } from "./harness";

const dev = loadStackFile("dev");
const prod = loadStackFile("prod");

describe("dev stack: a VM from a cloud image, Docker over SSH once it is ready", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "dev", config: dev });
    });

    test("a dated cloud image with its published checksum is downloaded to the node as an importable disk", () => {
        const image = byName(run, "authentik-image");
        expect(image.type).toBe("proxmoxve:download/file:File");
        expect(image.inputs).toEqual({
            nodeName: "pve",
            datastoreId: "local",
            contentType: "import",
            url: "https://cloud.debian.org/images/cloud/trixie/20261001-2618/debian-13-genericcloud-amd64-20261001-2618.qcow2",
            checksum: "f46f0671a6e5bdec5291ab8972bae2f10e5408c2f64a74078f11efc2f06a436a9d0313ed50e0472542eeabf780e9f7c792ac0a314c6c20507fcd9fd81b468c3d",
            checksumAlgorithm: "sha512",
            fileName: "authentik-dev-debian-13-genericcloud-amd64-20261001-2618.qcow2",
            // With the default (true) a refresh that sees another size at the URL would replace the file.
            overwrite: false,
        });
        expect(image.deleteBeforeReplace).toBe(true);
    });

    test.each(Object.entries(CLOUD_IMAGES))("the %s image is a dated build, never a moving latest/current URL", (_, preset) => {
        expect(preset.url).toMatch(/\/(\d{8}-\d{4}|release-\d{8})\//);
        expect(preset.url).not.toMatch(/\/(latest|current)\//);
        expect(preset.checksum).toHaveLength(preset.checksumAlgorithm === "sha512" ? 128 : 64);
        expect(preset.fileName).toMatch(/\.qcow2$/);
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

    test("the cloud-init snippet holds the rendered user-data with the pinned host key, as a secret, and is bootstrap only", () => {
        const snippet = byName(run, "authentik-user-data");
        expect(snippet.inputs).toMatchObject({ nodeName: "pve", datastoreId: "local", contentType: "snippets" });
        expect(snippet.ignoreChanges).toEqual(["sourceRaw"]);
        expect(snippet.deleteBeforeReplace).toBe(true);
        const raw = snippet.inputs.sourceRaw as { fileName: string; data: string };
        expect(raw.fileName).toBe("authentik-dev-user-data.yaml");
        // The user-data holds the host's private key; the provider stores sourceRaw in state.
        expect(snippet.secretPaths).toContain("sourceRaw.data");
        expect(raw.data.startsWith("#cloud-config\n")).toBe(true);
        const userData = parseYaml(raw.data) as {
            users: { name: string; ssh_authorized_keys: string[] }[];
            write_files: { path: string; content: string }[];
            ssh_keys: Record<string, string>;
            ssh_genkeytypes: string[];
        };
        expect(userData.users[0]?.name).toBe("authentik");
        expect(userData.users[0]?.ssh_authorized_keys).toEqual((dev.config["authentik-sso:proxmox"] as { sshPublicKeys: string[] }).sshPublicKeys);
        const bootstrap = userData.write_files.find((file) => file.path === "/usr/local/sbin/authentik-sso-bootstrap")?.content ?? "";
        expect(bootstrap).toContain("install --directory --mode=0700 /var/backups/authentik");
        // The stack's own images, the server's first, pulled while the VM still boots.
        const version = String((dev.config["authentik-sso:authentik"] as { version: string }).version);
        expect(bootstrap).toContain(`for image in ghcr.io/goauthentik/server:${version} ${DEFAULT_IMAGES.postgresql} ${DEFAULT_IMAGES.cloudflared}; do`);
        expect(userData.ssh_keys).toEqual({ ed25519_private: mockPrivateKey("authentik-host-key"), ed25519_public: mockHostPublicKey("authentik-host-key") });
        expect(userData.ssh_genkeytypes).toEqual(["ed25519"]);
        const key = byName(run, "authentik-host-key");
        expect(key.inputs).toEqual({ algorithm: "ED25519" });
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

    test("a replaced VM gets its firewall back: Proxmox deletes it with the VM, and the same vmId changes no input", () => {
        const vm = byName(run, "authentik-vm");
        for (const name of ["authentik-firewall-options", "authentik-firewall-rules"]) {
            expect(byName(run, name).replaceWith).toEqual([vm.urn]);
        }
        // The provider deletes rules by position: the old set goes before the new one is written.
        expect(byName(run, "authentik-firewall-rules").deleteBeforeReplace).toBe(true);
    });

    test("the readiness check waits for cloud-init and docker on the VM, pins the host key, and re-runs only with a new VM", () => {
        const ready = byName(run, "vm-ready");
        const vm = byName(run, "authentik-vm");
        expect(ready.type).toBe("command:remote:Command");
        expect(ready.inputs.connection).toMatchObject({ host: "192.168.1.51", user: "authentik", perDialTimeout: 10, dialErrorLimit: 90, hostKey: mockHostPublicKey("authentik-host-key") });
        expect(String(ready.inputs.create)).toContain("cloud-init status --wait");
        expect(String(ready.inputs.create)).toContain("docker info");
        // The NIC's MAC from the VM's configuration, not the guest agent's list (Docker's bridges and veths).
        expect(ready.inputs.triggers).toEqual([mockVmMacAddress("authentik-vm", vm.inputs)]);
        expect(JSON.stringify(ready.inputs.triggers)).not.toContain(mockMacAddress("authentik-vm-docker0"));
        // Its trigger comes from the VM: a VM replacement replaces it with everything that depends on it.
        expect(ready.propertyDependencies.triggers).toContain(vm.urn);
        expect(transitiveDependencies(run, ready)).toContain(vm.urn);
        const host = byName(run, "vm");
        expect(host.dependencies).toEqual(expect.arrayContaining([byName(run, "authentik-firewall-rules").urn, vm.urn]));
    });

    test("the Docker provider connects over SSH with time-outs and the pinned host key, after the readiness check", () => {
        const provider = byName(run, "vm-docker");
        expect(provider.type).toBe("pulumi:providers:docker");
        expect(provider.inputs.host).toBe("ssh://authentik@192.168.1.51");
        // Providers receive list settings JSON-encoded, as the engine hands them to the plugin.
        expect(JSON.parse(String(provider.inputs.sshOpts))).toEqual([
            "-o", "ConnectTimeout=10",
            "-o", "ConnectionAttempts=6",
            "-o", "ServerAliveInterval=15",
            "-o", "ServerAliveCountMax=4",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", `KnownHostsCommand=/bin/echo 192.168.1.51 ${mockHostPublicKey("authentik-host-key")}`,
            "-o", "BatchMode=yes",
        ]);
        expect(provider.dependencies).toContain(byName(run, "vm-ready").urn);
        // The host itself comes from the check's output, so the provider cannot connect before it passed.
        expect(provider.propertyDependencies.host).toContain(byName(run, "vm-ready").urn);
        expect(run.outputs.vmHostKey).toEqual({ value: mockHostPublicKey("authentik-host-key"), secret: false });
    });

    test("every Docker resource uses the VM's provider and carries the VM's MAC in an input that forces its replacement", () => {
        const provider = byName(run, "vm-docker");
        const vm = byName(run, "authentik-vm");
        const mac = mockVmMacAddress("authentik-vm", vm.inputs);
        const dockerResources = run.resources.filter((resource) => resource.type.startsWith("docker:"));
        expect(dockerResources.length).toBeGreaterThanOrEqual(12);
        for (const resource of dockerResources) {
            // A label (containers, volumes, network) or a trigger (images): the provider replaces the resource when it
            // changes, and the engine replaces them with the VM in dependency order. Not replaceWith: it deletes in
            // no particular order, and a volume still in use refuses to go.
            const carried = resource.type === "docker:index/remoteImage:RemoteImage" ? resource.inputs.triggers : resource.inputs.labels;
            expect({ name: resource.name, provider: resource.provider, replaceWith: resource.replaceWith, carriesMac: JSON.stringify(carried).includes(mac) }).toEqual({
                name: resource.name,
                provider: `${provider.urn}::vm-docker-id`,
                replaceWith: [],
                carriesMac: true,
            });
            const property = resource.type === "docker:index/remoteImage:RemoteImage" ? "triggers" : "labels";
            expect({ name: resource.name, fromVm: transitiveDependencies(run, resource).has(vm.urn) && (resource.propertyDependencies[property] ?? []).length > 0 }).toEqual({ name: resource.name, fromVm: true });
        }
        expect(ofType(run, "pulumi:providers:docker").map((resource) => resource.name)).toEqual(["vm-docker"]);
    });

    test("the commands on the VM run over SSH with the pinned key, after the readiness check", () => {
        const commands = ofType(run, "command:remote:Command").filter((command) => command.name !== "vm-ready");
        expect(commands.length).toBeGreaterThanOrEqual(6);
        for (const command of commands) {
            expect({ name: command.name, connection: command.inputs.connection }).toEqual({
                name: command.name,
                connection: { host: "192.168.1.51", port: 22, user: "authentik", hostKey: mockHostPublicKey("authentik-host-key"), perDialTimeout: 10, dialErrorLimit: 10 },
            });
            expect(command.dependencies).toContain(byName(run, "vm-ready").urn);
        }
        expect(ofType(run, "command:local:Command").map((command) => command.name)).toEqual(["cloudflare-connections-cleanup"]);
    });

    test("docker.sshOpts reach the provider after the pinned options", async () => {
        const docker = { ...(dev.config["authentik-sso:docker"] as object), sshOpts: ["-o", "ProxyJump=bastion.example.com"] };
        const withJump = await runProgram({ stack: "dev", config: withOverrides(dev, { docker }) });
        const sshOpts = JSON.parse(String(byName(withJump, "vm-docker").inputs.sshOpts)) as string[];
        expect(sshOpts.slice(-2)).toEqual(["-o", "ProxyJump=bastion.example.com"]);
        expect(sshOpts).toContain("StrictHostKeyChecking=yes");
    });

    test("the core stack's containers are all there and wait for the VM", () => {
        const names = ofType(run, "docker:index/container:Container").map((container) => container.inputs.name);
        expect(names.sort()).toEqual(["authentik-backup", "authentik-cloudflared-1", "authentik-postgresql", "authentik-server", "authentik-worker"]);
        const vm = byName(run, "authentik-vm");
        for (const container of ofType(run, "docker:index/container:Container")) {
            expect(transitiveDependencies(run, container)).toContain(vm.urn);
        }
    });

    test("outputs say where the VM is", () => {
        expect(run.outputs.vmId).toEqual({ value: 9101, secret: false });
        expect(run.outputs.vmAddress).toEqual({ value: "192.168.1.51", secret: false });
        expect(run.outputs.vmDiskGb).toEqual({ value: 20, secret: false });
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
            "authentik-volume-data",
            "authentik-volume-database",
            "authentik-volume-media",
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
