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
        apt: {
            sources: {
                "docker.list": {
                    source: `deb [signed-by=$KEY_FILE] https://download.docker.com/linux/${input.distro} $RELEASE stable`,
                    keyid: DOCKER_APT_KEY_FINGERPRINT,
                },
            },
        },
        package_update: true,
        package_upgrade: true,
        packages: [
            "qemu-guest-agent",
            "unattended-upgrades",
            "ca-certificates",
            "docker-ce",
            "docker-ce-cli",
            "containerd.io",
            "docker-compose-plugin",
        ],
        write_files: [
            { path: "/etc/ssh/sshd_config.d/90-authentik-sso.conf", permissions: "0644", content: SSHD_CONFIG },
            { path: "/etc/apt/apt.conf.d/20auto-upgrades", permissions: "0644", content: AUTO_UPGRADES },
            { path: "/etc/docker/daemon.json", permissions: "0644", content: DOCKER_DAEMON_JSON },
        ],
        runcmd: [
            ["systemctl", "enable", "--now", "qemu-guest-agent"],
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
