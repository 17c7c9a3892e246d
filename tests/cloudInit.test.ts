/**
 * The cloud-init renderer; the first-boot script run for real against stand-ins for apt, gpg, curl and systemctl;
 * and cloud-init's own schema check on the user-data rendered for every stack.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import {
    APT_LOCK_TIMEOUT_SECONDS,
    APT_SOURCE_LINE_PREFIX,
    BOOTSTRAP_SCRIPT_PATH,
    CloudInitInput,
    DOCKER_APT_KEY_FINGERPRINT,
    KEYRING_DIR_LINE_PREFIX,
    PREPULL_MARKER,
    PREPULL_UNIT,
    UPGRADE_UNIT,
    prePullCommand,
    SSHD_MAX_SESSIONS,
    bootstrapScript,
    renderCloudInit,
} from "../lib/cloudInit";
import { findByName, loadStackFile, runProgram, stackNames } from "./harness";
import { expectGolden } from "./golden";
import { describeWithTool } from "./tools";

const input: CloudInitInput = {
    hostname: "authentik-test",
    distro: "debian",
    adminUser: "operator",
    sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne one@example", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyTwo two@example"],
    folders: ["/var/backups/authentik"],
    prePull: ["ghcr.io/goauthentik/server:2026.8.3", "docker.io/library/postgres:16.14-alpine"],
    hostKey: { privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nTEST-ONLY\n-----END OPENSSH PRIVATE KEY-----\n", publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestHostKey" },
};

interface UserData {
    hostname: string;
    disable_root: boolean;
    ssh_pwauth: boolean;
    ssh_deletekeys: boolean;
    ssh_genkeytypes: string[];
    ssh_keys: Record<string, string>;
    users: { name: string; lock_passwd: boolean; ssh_authorized_keys: string[]; groups: string[]; passwd?: string }[];
    packages: string[];
    write_files: { path: string; content: string; permissions: string }[];
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

    test("the host key is the stack's: written by cloud-init on every run, no other type generated", () => {
        const userData = render();
        expect(userData.ssh_keys).toEqual({ ed25519_private: input.hostKey.privateKey, ed25519_public: input.hostKey.publicKey });
        expect(userData.ssh_genkeytypes).toEqual(["ed25519"]);
        expect(userData.ssh_deletekeys).toBe(true);
    });

    test("everything after cloud-init's modules is one script, run once from runcmd", () => {
        const userData = render();
        expect(userData.runcmd).toEqual([[BOOTSTRAP_SCRIPT_PATH]]);
        const script = userData.write_files.find((file) => file.path === BOOTSTRAP_SCRIPT_PATH);
        expect(script).toMatchObject({ permissions: "0755", content: bootstrapScript(input) });
        expect(script?.content.split("\n").slice(0, 3)).toEqual(["#!/bin/sh", expect.stringContaining("First boot"), "set -eu"]);
    });

    test("Docker Engine and the compose plugin from Docker's repository, its key checked; the guest agent; unattended upgrades", () => {
        const userData = render();
        expect(userData.packages).toEqual(expect.arrayContaining(["qemu-guest-agent", "unattended-upgrades", "curl", "gnupg"]));
        // No apt `keyid`: cloud-init would need gpg and dirmngr before any package is installed.
        expect((userData as unknown as Record<string, unknown>).apt).toBeUndefined();
        const script = bootstrapScript(input);
        expect(script).toContain("https://download.docker.com/linux/debian/gpg");
        expect(script).toContain(`expected=${DOCKER_APT_KEY_FINGERPRINT}`);
        expect(script).toContain(`apt-get -o DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_SECONDS}`);
        expect(userData.write_files.find((file) => file.path === "/etc/apt/apt.conf.d/20auto-upgrades")?.content).toContain('Unattended-Upgrade "1"');
        expect(JSON.parse(userData.write_files.find((file) => file.path === "/etc/docker/daemon.json")?.content ?? "{}")).toMatchObject({ "live-restore": true });
    });

    test("Ubuntu images get Docker's Ubuntu repository", () => {
        const script = bootstrapScript({ ...input, distro: "ubuntu" });
        expect(script).toContain("https://download.docker.com/linux/ubuntu/gpg");
        expect(script).toContain("https://download.docker.com/linux/ubuntu $codename stable");
    });

    test("sshd allows the Docker provider's parallel sessions", () => {
        const sshd = render().write_files.find((file) => file.path.startsWith("/etc/ssh/sshd_config.d/"));
        expect(sshd?.content).toContain(`MaxSessions ${SSHD_MAX_SESSIONS}`);
        expect(SSHD_MAX_SESSIONS).toBeGreaterThan(10);
    });

    test("rendering is deterministic", () => {
        expect(renderCloudInit(input)).toBe(renderCloudInit({ ...input }));
    });

    // Every setting, package and script line the VM gets, reviewed in the pull request that changes it.
    test.each([
        ["debian.yaml", input],
        ["ubuntu-without-prepull.yaml", { ...input, distro: "ubuntu" as const, prePull: [], folders: [] }],
    ])("word for word: tests/golden/cloud-init/%s", (file, variant) => {
        expectGolden(`cloud-init/${file}`, renderCloudInit(variant));
    });

    test("the fingerprint checked is Docker's published one (docs.docker.com/engine/install/debian)", () => {
        expect(DOCKER_APT_KEY_FINGERPRINT).toBe("9DC858229FC7DD38854AE2D88D81803C0EBFCD88");
    });
});

describe("the first-boot script, run against stand-ins for apt, gpg, curl, systemctl and friends", () => {
    interface Boot {
        status: number | null;
        stderr: string;
        calls: string[];
        aptSource: string | undefined;
        /** Where the pre-pull marker is, for this run. */
        marker: string;
        keyrings: string;
    }

    /** Runs the script as rendered, with only the two apt file locations moved into a scratch folder. */
    function boot({ fingerprint = DOCKER_APT_KEY_FINGERPRINT, failing, prePulledBefore = false, umask = "022" }: { fingerprint?: string; failing?: string; prePulledBefore?: boolean; umask?: string } = {}): Boot {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "first-boot-"));
        const bin = path.join(root, "bin");
        fs.mkdirSync(bin);
        const log = path.join(root, "calls.log");
        const stub = (name: string, body = "") =>
            fs.writeFileSync(
                path.join(bin, name),
                `#!/bin/sh\necho "${name} $*" >>"${log}"\n${failing !== undefined && failing.startsWith(`${name} `) ? `case "${name} $*" in "${failing}"*) echo "${name} failed for the test" >&2; exit 100;; esac\n` : ""}${body}\n`,
                { mode: 0o755 },
            );
        stub("systemctl");
        // systemd-run starts the pre-pull in the background: the stand-in only records the command it would run.
        stub("systemd-run");
        stub("usermod");
        stub("apt-get");
        stub("dpkg", 'echo amd64');
        // curl -fsSL --retry 5 URL -o FILE
        stub("curl", 'while [ $# -gt 1 ]; do [ "$1" = -o ] && echo "fake key" >"$2"; shift; done');
        stub("gpg", `echo "fpr:::::::::${fingerprint}:"`);
        // install: only the folders the stack needs are stubbed; the keyring folder is created for real.
        stub("install", 'case "$*" in *--directory*) ;; *) exec /usr/bin/install "$@";; esac');
        const keyrings = path.join(root, "keyrings");
        const source = path.join(root, "docker.list");
        const marker = path.join(root, "prepulled");
        if (prePulledBefore) {
            fs.writeFileSync(marker, "");
        }
        const script = bootstrapScript(input)
            .split(PREPULL_MARKER)
            .join(marker)
            .split("\n")
            .map((line) => (line.startsWith(KEYRING_DIR_LINE_PREFIX) ? `${KEYRING_DIR_LINE_PREFIX}${keyrings}` : line.startsWith(APT_SOURCE_LINE_PREFIX) ? `${APT_SOURCE_LINE_PREFIX}${source}` : line))
            .join("\n");
        const result = spawnSync("sh", ["-c", `umask ${umask}\n${script}`], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
        const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
        return { status: result.status, stderr: result.stderr, calls, aptSource: fs.existsSync(source) ? fs.readFileSync(source, "utf8") : undefined, marker, keyrings };
    }

    test("Docker first, then the image pre-pull in the background, the admin, the folders, sshd, and the upgrade in the background last", () => {
        const result = boot();
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        const lock = `-o DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_SECONDS}`;
        expect(result.calls.filter((call) => !call.startsWith("install -m") && !call.startsWith("dpkg") && !call.startsWith("gpg") && !call.startsWith("curl"))).toEqual([
            "systemctl enable --now qemu-guest-agent",
            `apt-get ${lock} update`,
            `apt-get ${lock} install -y docker-ce docker-ce-cli containerd.io docker-compose-plugin`,
            "systemctl enable --now docker",
            `systemd-run --unit=${PREPULL_UNIT} --no-block --collect sh -c ${prePullCommand(["ghcr.io/goauthentik/server:2026.8.3", "docker.io/library/postgres:16.14-alpine"]).split(PREPULL_MARKER).join(result.marker)}`,
            "usermod --append --groups docker operator",
            "install --directory --mode=0700 /var/backups/authentik",
            "systemctl restart ssh",
            // dist-upgrade, as cloud-init's package_upgrade: kernels and new dependencies too.
            `systemd-run --unit=${UPGRADE_UNIT} --no-block --collect --setenv=DEBIAN_FRONTEND=noninteractive --setenv=NEEDRESTART_SUSPEND=1 apt-get ${lock} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold dist-upgrade -y`,
        ]);
        expect(result.calls).toContainEqual(expect.stringMatching(/^curl -fsSL --retry 5 https:\/\/download\.docker\.com\/linux\/debian\/gpg -o .*\/docker\.asc\.new$/));
        expect(result.aptSource).toMatch(/^deb \[arch=amd64 signed-by=.*\/keyrings\/docker\.asc\] https:\/\/download\.docker\.com\/linux\/debian \S+ stable\n$/);
    });

    test("a signing key with another fingerprint stops the boot before apt sees Docker's repository", () => {
        const result = boot({ fingerprint: "0000000000000000000000000000000000000000" });
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(`the Docker signing key has fingerprint 0000000000000000000000000000000000000000, expected ${DOCKER_APT_KEY_FINGERPRINT}`);
        expect(result.calls.some((call) => call.startsWith("apt-get"))).toBe(false);
        expect(result.aptSource).toBeUndefined();
    });

    test("a pre-pull that cannot start does not stop the boot", () => {
        const result = boot({ failing: `systemd-run --unit=${PREPULL_UNIT}` });
        expect(result.status).toBe(0);
        expect(result.stderr).toContain("the image pre-pull did not start; pulumi up pulls the images");
        expect(result.calls).toContain("systemctl restart ssh");
    });

    test("an upgrade that cannot start in the background runs in the foreground instead", () => {
        const result = boot({ failing: `systemd-run --unit=${UPGRADE_UNIT}` });
        expect(result.status).toBe(0);
        expect(result.stderr).toContain("the package upgrade did not start in the background; upgrading now");
        expect(result.calls[result.calls.length - 1]).toBe(`apt-get -o DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_SECONDS} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold dist-upgrade -y`);
    });

    test("a later run of the bootstrap (a new cloud-init instance) pulls nothing again", () => {
        const result = boot({ prePulledBefore: true });
        expect(result.status).toBe(0);
        expect(result.calls.filter((call) => call.startsWith(`systemd-run --unit=${PREPULL_UNIT}`))).toEqual([]);
        expect(result.calls.filter((call) => call.startsWith(`systemd-run --unit=${UPGRADE_UNIT}`))).toHaveLength(1);
        expect(prePullCommand(["a:1"]).endsWith(`; mkdir -p /var/lib/authentik-sso && touch ${PREPULL_MARKER}`)).toBe(true);
    });

    test("the pre-pull pulls every image, the server first, and a failed pull neither stops the others nor fails; then the marker", () => {
        const script = bootstrapScript(input);
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "prepull-"));
        const command = (/sh -c '([^']*)'/.exec(script)?.[1] as string).split(PREPULL_MARKER.replace(/\/[^/]+$/, "")).join(path.join(bin, "state"));
        const log = path.join(bin, "pulls.log");
        fs.writeFileSync(path.join(bin, "docker"), `#!/bin/sh\necho "$*" >>"${log}"\ncase "$3" in ghcr.io/*) exit 1 ;; esac\n`, { mode: 0o755 });
        const result = spawnSync("sh", ["-c", command], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("pre-pull of ghcr.io/goauthentik/server:2026.8.3 failed; pulumi up pulls it\n");
        expect(fs.readFileSync(log, "utf8").trim().split("\n")).toEqual(["pull --quiet ghcr.io/goauthentik/server:2026.8.3", "pull --quiet docker.io/library/postgres:16.14-alpine"]);
        expect(fs.existsSync(path.join(bin, "state", "prepulled"))).toBe(true);
    });

    test("an image reference that is not one cannot reach the script", () => {
        expect(() => bootstrapScript({ ...input, prePull: ["postgres:16; rm -rf /"] })).toThrow("not an image reference");
        expect(() => bootstrapScript({ ...input, prePull: ["$(reboot)ghcr.io/goauthentik/server:2026.8.3"] })).toThrow("not an image reference");
    });

    test("the key is readable by apt (which reads it as _apt) even under a strict umask", () => {
        const result = boot({ umask: "077" });
        expect(result.status).toBe(0);
        expect(fs.statSync(path.join(result.keyrings, "docker.asc")).mode & 0o777).toBe(0o644);
    });

    test("cloud-init itself does not upgrade packages before runcmd; the bootstrap does, after Docker, in the background", () => {
        expect((render() as unknown as { package_upgrade: boolean }).package_upgrade).toBe(false);
    });

    test("a failed Docker install stops the script at once, with apt's status: cloud-init reports it, nothing after runs", () => {
        const result = boot({ failing: "apt-get -o DPkg::Lock::Timeout=600 install" });
        expect(result.status).toBe(100);
        expect(result.stderr).toContain("apt-get failed for the test");
        expect(result.calls).not.toContain("systemctl enable --now docker");
        expect(result.calls.some((call) => call.startsWith("usermod"))).toBe(false);
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

describeWithTool("shellcheck", "shellcheck on the first-boot script cloud-init writes", () => {
    test.each(["debian", "ubuntu"] as const)("%s", (distro) => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bootstrap-")), "bootstrap.sh");
        fs.writeFileSync(file, bootstrapScript({ ...input, distro }));
        const result = spawnSync("shellcheck", ["--severity=warning", file], { encoding: "utf8" });
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
    });
});
