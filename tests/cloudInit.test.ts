/** The cloud-init renderer, and cloud-init's own schema check on the user-data rendered for every stack. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { CloudInitInput, DOCKER_APT_KEY_FINGERPRINT, DOCKER_INSTALL_SCRIPT_PATH, SSHD_MAX_SESSIONS, dockerInstallScript, renderCloudInit } from "../lib/cloudInit";
import { findByName, loadStackFile, runProgram, stackNames } from "./harness";
import { describeWithTool } from "./tools";

const input: CloudInitInput = {
    hostname: "authentik-test",
    distro: "debian",
    adminUser: "operator",
    sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne one@example", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyTwo two@example"],
    folders: ["/var/backups/authentik"],
};

interface UserData {
    hostname: string;
    disable_root: boolean;
    ssh_pwauth: boolean;
    users: { name: string; lock_passwd: boolean; ssh_authorized_keys: string[]; groups: string[]; passwd?: string }[];
    packages: string[];
    write_files: { path: string; content: string }[];
    runcmd: string[][];
}

function render(overrides: Partial<CloudInitInput> = {}): UserData {
    const text = renderCloudInit({ ...input, ...overrides });
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    return parseYaml(text) as UserData;
}

describe("renderCloudInit", () => {
    test("one admin user with the operator's keys, no password, no root login, no password SSH", () => {
        const userData = render();
        expect(userData.hostname).toBe("authentik-test");
        expect(userData.users).toHaveLength(1);
        expect(userData.users[0]).toMatchObject({ name: "operator", lock_passwd: true, ssh_authorized_keys: input.sshPublicKeys, groups: ["sudo"] });
        expect(userData.users[0]?.passwd).toBeUndefined();
        expect(userData.disable_root).toBe(true);
        expect(userData.ssh_pwauth).toBe(false);
        const sshd = userData.write_files.find((file) => file.path.startsWith("/etc/ssh/sshd_config.d/"));
        expect(sshd?.content).toContain("PasswordAuthentication no");
        expect(sshd?.content).toContain("PermitRootLogin no");
    });

    test("Docker Engine and the compose plugin from Docker's repository, its key checked; the guest agent; unattended upgrades", () => {
        const userData = render();
        expect(userData.packages).toEqual(expect.arrayContaining(["qemu-guest-agent", "unattended-upgrades", "curl", "gnupg"]));
        // No apt `keyid`: cloud-init would need gpg and dirmngr before any package is installed.
        expect((userData as unknown as Record<string, unknown>).apt).toBeUndefined();
        const install = userData.write_files.find((file) => file.path === DOCKER_INSTALL_SCRIPT_PATH);
        expect(install?.content).toContain("https://download.docker.com/linux/debian/gpg");
        expect(install?.content).toContain(`expected=${DOCKER_APT_KEY_FINGERPRINT}`);
        expect(install?.content).toContain("apt-get install -y docker-ce docker-ce-cli containerd.io docker-compose-plugin");
        const order = userData.runcmd.map((command) => command.join(" "));
        expect(order.indexOf(DOCKER_INSTALL_SCRIPT_PATH)).toBeGreaterThan(-1);
        expect(order.indexOf(DOCKER_INSTALL_SCRIPT_PATH)).toBeLessThan(order.indexOf("systemctl enable --now docker"));
        expect(order.indexOf("systemctl enable --now docker")).toBeLessThan(order.indexOf("usermod --append --groups docker operator"));
        expect(userData.write_files.find((file) => file.path === "/etc/apt/apt.conf.d/20auto-upgrades")?.content).toContain('Unattended-Upgrade "1"');
        expect(userData.runcmd).toContainEqual(["systemctl", "enable", "--now", "qemu-guest-agent"]);
        expect(JSON.parse(userData.write_files.find((file) => file.path === "/etc/docker/daemon.json")?.content ?? "{}")).toMatchObject({ "live-restore": true });
    });

    test("Ubuntu images get Docker's Ubuntu repository", () => {
        const install = render({ distro: "ubuntu" }).write_files.find((file) => file.path === DOCKER_INSTALL_SCRIPT_PATH);
        expect(install?.content).toContain("https://download.docker.com/linux/ubuntu/gpg");
        expect(install?.content).toContain("https://download.docker.com/linux/ubuntu $codename stable");
    });

    test("sshd allows the Docker provider's parallel sessions", () => {
        const sshd = render().write_files.find((file) => file.path.startsWith("/etc/ssh/sshd_config.d/"));
        expect(sshd?.content).toContain(`MaxSessions ${SSHD_MAX_SESSIONS}`);
        expect(SSHD_MAX_SESSIONS).toBeGreaterThan(10);
    });

    test("the folders the stack needs are created root-only", () => {
        expect(render({ folders: ["/srv/a", "/srv/b"] }).runcmd).toEqual(
            expect.arrayContaining([
                ["install", "--directory", "--mode=0700", "/srv/a"],
                ["install", "--directory", "--mode=0700", "/srv/b"],
            ]),
        );
    });

    test("rendering is deterministic", () => {
        expect(renderCloudInit(input)).toBe(renderCloudInit({ ...input }));
    });
});

describeWithTool("cloud-init", "cloud-init's own schema check on every stack's rendered user-data", () => {
    const stacks = stackNames().filter((stack) => loadStackFile(stack).config["authentik-sso:proxmox"] !== undefined);

    test("there are stacks with a VM to check", () => {
        expect(stacks).toEqual(expect.arrayContaining(["dev", "prod"]));
    });

    test.each(stacks)("%s", async (stack) => {
        const run = await runProgram({ stack, config: loadStackFile(stack) });
        const snippet = findByName(run, "authentik-user-data");
        const data = (snippet?.inputs.sourceRaw as { data: string }).data;
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "user-data-")), `${stack}.yaml`);
        fs.writeFileSync(file, data);
        const result = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
        expect({ status: result.status, output: `${result.stdout}${result.stderr}`.trim() }).toEqual({ status: 0, output: `Valid cloud-config: ${file}` });
    });

    test("the check itself rejects a broken document", () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "user-data-")), "broken.yaml");
        fs.writeFileSync(file, "#cloud-config\npackages: {docker: yes}\n");
        expect(spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" }).status).not.toBe(0);
    });
});

describeWithTool("shellcheck", "shellcheck on the Docker install script cloud-init writes", () => {
    test.each(["debian", "ubuntu"] as const)("%s", (distro) => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "install-docker-")), "install-docker.sh");
        fs.writeFileSync(file, dockerInstallScript(distro));
        const result = spawnSync("shellcheck", ["--severity=warning", file], { encoding: "utf8" });
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
    });
});
