/**
 * Renders the VM's cloud-init user-data: an admin user with SSH keys only, Docker Engine with the compose plugin
 * from Docker's repository, qemu-guest-agent, unattended security upgrades, sshd settings for the Docker
 * provider and the folders the stack needs. Pure: the same input always gives the same text.
 */
import { stringify } from "yaml";

export type Distro = "debian" | "ubuntu";

export interface CloudInitInput {
    hostname: string;
    distro: Distro;
    adminUser: string;
    sshPublicKeys: readonly string[];
    /** Folders to create (owner root, mode 0700). */
    folders: readonly string[];
}

/** Fingerprint of Docker's release signing key for its apt repositories. */
export const DOCKER_APT_KEY_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88";

export const DOCKER_INSTALL_SCRIPT_PATH = "/usr/local/sbin/authentik-sso-install-docker";

/**
 * Docker's documented apt setup, with the signing key checked against its fingerprint. Not cloud-init's
 * apt `keyid`: that needs gpg and dirmngr, which Debian's generic cloud image lacks when the apt module runs.
 */
export function dockerInstallScript(distro: Distro): string {
    return [
        "#!/bin/sh",
        "# Installs Docker Engine and the compose plugin from Docker's apt repository (written by cloud-init).",
        "set -eu",
        `expected=${DOCKER_APT_KEY_FINGERPRINT}`,
        "install -m 0755 -d /etc/apt/keyrings",
        `curl -fsSL --retry 5 https://download.docker.com/linux/${distro}/gpg -o /etc/apt/keyrings/docker.asc.new`,
        "actual=$(gpg --show-keys --with-colons /etc/apt/keyrings/docker.asc.new | awk -F: '$1 == \"fpr\" { print $10; exit }')",
        'if [ "$actual" != "$expected" ]; then',
        '    echo "the Docker signing key has fingerprint $actual, expected $expected" >&2',
        "    exit 1",
        "fi",
        "mv /etc/apt/keyrings/docker.asc.new /etc/apt/keyrings/docker.asc",
        "chmod a+r /etc/apt/keyrings/docker.asc",
        'codename=$(. /etc/os-release && echo "$VERSION_CODENAME")',
        `echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/${distro} $codename stable" >/etc/apt/sources.list.d/docker.list`,
        "apt-get update",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y docker-ce docker-ce-cli containerd.io docker-compose-plugin",
        "",
    ].join("\n");
}

/** The Docker provider opens several SSH sessions at once; sshd's default of 10 is too few (kreuzwerker#262). */
export const SSHD_MAX_SESSIONS = 64;

const SSHD_CONFIG = [
    "# Written by cloud-init for authentik-sso.",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin no",
    `MaxSessions ${SSHD_MAX_SESSIONS}`,
    "MaxStartups 64:30:128",
    "",
].join("\n");

const AUTO_UPGRADES = ['APT::Periodic::Update-Package-Lists "1";', 'APT::Periodic::Unattended-Upgrade "1";', ""].join("\n");

/** live-restore keeps authentik running while unattended upgrades restart dockerd. */
const DOCKER_DAEMON_JSON = `${JSON.stringify({ "live-restore": true, "log-driver": "json-file", "log-opts": { "max-size": "10m", "max-file": "3" } }, null, 2)}\n`;

export function renderCloudInit(input: CloudInitInput): string {
    const document = {
        hostname: input.hostname,
        manage_etc_hosts: true,
        // No password anywhere: keys only, no root login.
        disable_root: true,
        ssh_pwauth: false,
        users: [
            {
                name: input.adminUser,
                gecos: "authentik-sso admin",
                shell: "/bin/bash",
                groups: ["sudo"],
                sudo: "ALL=(ALL) NOPASSWD:ALL",
                lock_passwd: true,
                ssh_authorized_keys: [...input.sshPublicKeys],
            },
        ],
        package_update: true,
        package_upgrade: true,
        // curl and gnupg fetch and check Docker's signing key (dockerInstallScript).
        packages: ["qemu-guest-agent", "unattended-upgrades", "ca-certificates", "curl", "gnupg"],
        write_files: [
            { path: "/etc/ssh/sshd_config.d/90-authentik-sso.conf", permissions: "0644", content: SSHD_CONFIG },
            { path: "/etc/apt/apt.conf.d/20auto-upgrades", permissions: "0644", content: AUTO_UPGRADES },
            { path: "/etc/docker/daemon.json", permissions: "0644", content: DOCKER_DAEMON_JSON },
            { path: DOCKER_INSTALL_SCRIPT_PATH, permissions: "0755", content: dockerInstallScript(input.distro) },
        ],
        runcmd: [
            ["systemctl", "enable", "--now", "qemu-guest-agent"],
            [DOCKER_INSTALL_SCRIPT_PATH],
            ["systemctl", "enable", "--now", "docker"],
            ["usermod", "--append", "--groups", "docker", input.adminUser],
            ...input.folders.map((folder) => ["install", "--directory", "--mode=0700", folder]),
            // Picks up the sshd settings written above (the unit is "ssh" on Debian and Ubuntu).
            ["systemctl", "restart", "ssh"],
        ],
        final_message: "authentik-sso: cloud-init finished after $UPTIME seconds",
    };
    return `#cloud-config\n${stringify(document, { lineWidth: 0 })}`;
}
