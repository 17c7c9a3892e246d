/**
 * Renders the VM's cloud-init user-data: an admin user with SSH keys only, a pinned SSH host key, Docker Engine
 * with the compose plugin from Docker's repository, qemu-guest-agent, unattended security upgrades, sshd settings
 * for the Docker provider and the folders the stack needs. Pure: the same input always gives the same text.
 */
import { stringify } from "yaml";

export type Distro = "debian" | "ubuntu";

/** The VM's SSH host key in OpenSSH format, generated once per stack and pinned by every SSH client of the stack. */
export interface SshHostKey {
    /** "-----BEGIN OPENSSH PRIVATE KEY-----…"; a secret. */
    readonly privateKey: string;
    /** "ssh-ed25519 AAAA…" */
    readonly publicKey: string;
}

export interface CloudInitInput {
    hostname: string;
    distro: Distro;
    adminUser: string;
    sshPublicKeys: readonly string[];
    /** Folders to create (owner root, mode 0700). */
    folders: readonly string[];
    hostKey: SshHostKey;
    /** Images to pull in the background as soon as Docker runs, while first boot goes on (`pulumi up` pulls anyway). */
    prePull: readonly string[];
}

/** Fingerprint of Docker's release signing key for its apt repositories. */
export const DOCKER_APT_KEY_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88";

export const BOOTSTRAP_SCRIPT_PATH = "/usr/local/sbin/authentik-sso-bootstrap";

/** Seconds apt waits for the dpkg lock (unattended-upgrades may hold it on first boot) before it fails. */
export const APT_LOCK_TIMEOUT_SECONDS = 600;

/** The lines that name where the script writes apt's files (tests point them elsewhere). */
export const KEYRING_DIR_LINE_PREFIX = "keyring_dir=";
export const APT_SOURCE_LINE_PREFIX = "apt_source=";

export interface BootstrapInput {
    distro: Distro;
    adminUser: string;
    folders: readonly string[];
    prePull: readonly string[];
}

/** The transient systemd unit that pre-pulls the stack's images (journalctl -u authentik-sso-prepull). */
export const PREPULL_UNIT = "authentik-sso-prepull";

/** Written once the pre-pull ran: a later run of the bootstrap (a new cloud-init instance id) pulls nothing again. */
export const PREPULL_MARKER = "/var/lib/authentik-sso/prepulled";

/** The transient systemd unit that upgrades the packages after first boot (journalctl -u authentik-sso-upgrade). */
export const UPGRADE_UNIT = "authentik-sso-upgrade";

/** The full upgrade cloud-init's package_upgrade would run (its apt backend uses dist-upgrade), without prompts. */
const UPGRADE_ARGUMENTS = `-o DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_SECONDS} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold dist-upgrade -y`;

/** Only what a docker image reference may hold: the pre-pull list is written into a shell command. */
const IMAGE_REFERENCE = /^[a-z0-9][a-z0-9._\-/:@]*$/;

/**
 * Everything first boot does after cloud-init's own modules, as one script with `set -eu`: the first failing step
 * stops it, cloud-init reports the failure (`cloud-init status` exits 1 and names it), and the readiness check
 * prints that instead of waiting for a Docker that will never answer. Docker comes from Docker's documented apt
 * setup, its signing key checked against the fingerprint; not cloud-init's apt `keyid`, which needs gpg and
 * dirmngr before Debian's generic cloud image has them.
 *
 * Docker comes first: as soon as it runs, the stack's images start downloading in the background (a
 * transient systemd unit, so neither cloud-init nor the readiness check waits for them, and a failed pull changes
 * nothing: `pulumi up` pulls what is missing, or pulls it again). The full package upgrade (dist-upgrade, as
 * cloud-init's package_upgrade runs it) goes to a second transient unit at the end: first boot, and with it the
 * readiness check, no longer waits for it. The trade: the host finishes patching a few minutes after `pulumi up`
 * starts the containers, in the same boot, instead of before (unattended-upgrades keeps it patched after).
 */
export function bootstrapScript({ distro, adminUser, folders, prePull }: BootstrapInput): string {
    for (const image of prePull) {
        if (!IMAGE_REFERENCE.test(image)) {
            throw new Error(`not an image reference: ${image}`);
        }
    }
    return [
        "#!/bin/sh",
        "# First boot of an authentik-sso VM (written by cloud-init; runs once, from runcmd).",
        "set -eu",
        "apt_get() {",
        `    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_SECONDS} "$@"`,
        "}",
        `${KEYRING_DIR_LINE_PREFIX}/etc/apt/keyrings`,
        `${APT_SOURCE_LINE_PREFIX}/etc/apt/sources.list.d/docker.list`,
        "systemctl enable --now qemu-guest-agent",
        `expected=${DOCKER_APT_KEY_FINGERPRINT}`,
        'install -m 0755 -d "$keyring_dir"',
        `curl -fsSL --retry 5 https://download.docker.com/linux/${distro}/gpg -o "$keyring_dir/docker.asc.new"`,
        "actual=$(gpg --show-keys --with-colons \"$keyring_dir/docker.asc.new\" | awk -F: '$1 == \"fpr\" { print $10; exit }')",
        'if [ "$actual" != "$expected" ]; then',
        '    echo "the Docker signing key has fingerprint $actual, expected $expected" >&2',
        "    exit 1",
        "fi",
        'mv "$keyring_dir/docker.asc.new" "$keyring_dir/docker.asc"',
        'chmod a+r "$keyring_dir/docker.asc"',
        'codename=$(. /etc/os-release && echo "$VERSION_CODENAME")',
        `echo "deb [arch=$(dpkg --print-architecture) signed-by=$keyring_dir/docker.asc] https://download.docker.com/linux/${distro} $codename stable" >"$apt_source"`,
        "apt_get update",
        "apt_get install -y docker-ce docker-ce-cli containerd.io docker-compose-plugin",
        "systemctl enable --now docker",
        ...(prePull.length > 0
            ? [
                  `if [ -e ${PREPULL_MARKER} ]; then`,
                  '    echo "the images were pre-pulled on an earlier boot"',
                  `elif ! systemd-run --unit=${PREPULL_UNIT} --no-block --collect sh -c '${prePullCommand(prePull)}'; then`,
                  '    echo "the image pre-pull did not start; pulumi up pulls the images" >&2',
                  "fi",
              ]
            : []),
        `usermod --append --groups docker ${adminUser}`,
        ...folders.map((folder) => `install --directory --mode=0700 ${folder}`),
        // Picks up the sshd settings cloud-init wrote (the unit is "ssh" on Debian and Ubuntu).
        "systemctl restart ssh",
        // NEEDRESTART_SUSPEND: Ubuntu's needrestart would restart containerd under the running pulls.
        `if ! systemd-run --unit=${UPGRADE_UNIT} --no-block --collect --setenv=DEBIAN_FRONTEND=noninteractive --setenv=NEEDRESTART_SUSPEND=1 apt-get ${UPGRADE_ARGUMENTS}; then`,
        '    echo "the package upgrade did not start in the background; upgrading now" >&2',
        `    NEEDRESTART_SUSPEND=1 DEBIAN_FRONTEND=noninteractive apt-get ${UPGRADE_ARGUMENTS}`,
        "fi",
        'echo "authentik-sso: bootstrap done"',
        "",
    ].join("\n");
}

/**
 * One image after the other, the first (authentik's server, the largest and the one on the critical path) first:
 * Docker already pulls each image's layers three at a time, so parallel pulls would only share the same link and
 * finish the server image later. Then the marker.
 */
export function prePullCommand(images: readonly string[]): string {
    return `for image in ${images.join(" ")}; do docker pull --quiet "$image" >/dev/null || echo "pre-pull of $image failed; pulumi up pulls it"; done; mkdir -p ${PREPULL_MARKER.replace(/\/[^/]+$/, "")} && touch ${PREPULL_MARKER}`;
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
        // The host key is the stack's, not generated at boot: Proxmox gives the VM a new cloud-init instance id when
        // its address, gateway, DNS or MAC changes, cloud-init then runs again, and a generated key would change under
        // the pinned one that the readiness check and the Docker provider verify.
        ssh_deletekeys: true,
        ssh_genkeytypes: ["ed25519"],
        ssh_keys: { ed25519_private: input.hostKey.privateKey, ed25519_public: input.hostKey.publicKey },
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
        // The upgrade runs in the bootstrap script, after Docker (bootstrapScript).
        package_upgrade: false,
        // curl and gnupg fetch and check Docker's signing key (bootstrapScript).
        packages: ["qemu-guest-agent", "unattended-upgrades", "ca-certificates", "curl", "gnupg"],
        write_files: [
            { path: "/etc/ssh/sshd_config.d/90-authentik-sso.conf", permissions: "0644", content: SSHD_CONFIG },
            { path: "/etc/apt/apt.conf.d/20auto-upgrades", permissions: "0644", content: AUTO_UPGRADES },
            { path: "/etc/docker/daemon.json", permissions: "0644", content: DOCKER_DAEMON_JSON },
            { path: BOOTSTRAP_SCRIPT_PATH, permissions: "0755", content: bootstrapScript(input) },
        ],
        runcmd: [[BOOTSTRAP_SCRIPT_PATH]],
        final_message: "authentik-sso: cloud-init finished after $UPTIME seconds",
    };
    return `#cloud-config\n${stringify(document, { lineWidth: 0 })}`;
}
