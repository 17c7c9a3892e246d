/**
 * The scripts the stack runs against the Docker host, run for real under sh against a fake `docker` that answers
 * like the CLI does (and fails like it), and scripts/prepare-data.sh against real folders.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { healthGateScript, nameGuardScript, oneShotScript, pruneImagesScript, shellQuote } from "../lib/hostScripts";
import { REPO_ROOT } from "./harness";
import { describeWithTool } from "./tools";

interface FakeDocker {
    /** Answers of `docker inspect --format …State.Health…` in turn; the last one repeats. "missing" = no such container. */
    health?: string[];
    /** Exit codes of the gate's extra command in turn; the last one repeats. */
    extra?: number[];
    /** Labels of existing volumes and networks by name; absent names do not exist. */
    labels?: Record<string, string>;
    /** Image ids `docker image ls` lists. */
    images?: string[];
    /** Image ids that `docker image rm` refuses (in use). */
    inUse?: string[];
}

/** A folder with a `docker` that logs each call to calls.log and answers from the fake's state. */
function fakeDocker(fake: FakeDocker): { bin: string; calls: () => string[]; sleeps: () => string[] } {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
    const counter = (name: string) => path.join(bin, `${name}.count`);
    const nth = (name: string, values: string[]) =>
        [
            `n=$(cat ${counter(name)} 2>/dev/null || echo 0); echo $((n + 1)) >${counter(name)}`,
            `set -- ${values.map(shellQuote).join(" ")}`,
            'i=0; for value in "$@"; do i=$((i + 1)); last=$value; [ "$i" -gt "$n" ] && break; done',
        ].join("\n");
    const labels = Object.entries(fake.labels ?? {})
        .map(([name, label]) => `${shellQuote(name)}) echo ${shellQuote(label)}; exit 0 ;;`)
        .join("\n");
    const script = [
        "#!/bin/sh",
        `printf '%s\\n' "$*" >>${path.join(bin, "calls.log")}`,
        'case "$1 $2" in',
        '"inspect --format")',
        '    target=$4',
        '    case "$3" in',
        "    *State.Health.Status*)",
        nth("health", fake.health ?? ["healthy"]),
        '        [ "$last" = missing ] && { echo "Error: No such object: $target" >&2; exit 1; }',
        '        echo "$last"; exit 0 ;;',
        '    *State.Status*) echo "state: running, exit code 0, restarts 3"; exit 0 ;;',
        '    *Health.Log*) echo "pg_isready: no response"; exit 0 ;;',
        "    esac ;;",
        '"logs --tail") echo "FATAL: the database system is starting up"; exit 0 ;;',
        '"exec "*)',
        nth("extra", (fake.extra ?? [0]).map(String)),
        '    [ "$last" = 0 ] && { echo "ready for authentik 2026.8.3"; exit 0; }',
        '    [ "$last" = 2 ] && { echo "the off-site repository cannot be used: wrong password"; exit 2; }',
        '    echo "started for authentik 2026.5.6, not 2026.8.3"; exit 1 ;;',
        '"volume inspect" | "network inspect")',
        '    case "$5" in',
        labels,
        "    esac",
        '    echo "Error: No such $1: $5" >&2; exit 1 ;;',
        '"image ls")',
        ...(fake.images ?? []).map((id) => `    echo ${shellQuote(id)}`),
        "    exit 0 ;;",
        '"image rm")',
        '    case "$3" in',
        ...(fake.inUse ?? []).map((id) => `    ${shellQuote(id)}) echo "conflict: unable to delete $3 (must be forced) - image is being used by a stopped container" >&2; exit 1 ;;`),
        "    esac",
        "    exit 0 ;;",
        '"run --rm") cat >' + path.join(bin, "stdin.txt") + "; exit 0 ;;",
        "esac",
        'echo "fake docker: unexpected call: $*" >&2',
        "exit 99",
        "",
    ].join("\n");
    fs.writeFileSync(path.join(bin, "docker"), script, { mode: 0o755 });
    // sleep must not slow the tests down; it notes how long it was asked to wait.
    fs.writeFileSync(path.join(bin, "sleep"), `#!/bin/sh\necho "$*" >>"${bin}/sleeps.log"\n`, { mode: 0o755 });
    const lines = (file: string) => (fs.existsSync(path.join(bin, file)) ? fs.readFileSync(path.join(bin, file), "utf8").trim().split("\n") : []);
    return { bin, calls: () => lines("calls.log"), sleeps: () => lines("sleeps.log") };
}

function run(script: string, bin: string) {
    return spawnSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
}

describe("the health gate", () => {
    test("passes once the container reports healthy", () => {
        const docker = fakeDocker({ health: ["starting", "starting", "healthy"] });
        const result = run(healthGateScript({ container: "authentik-server", timeoutSeconds: 600 }), docker.bin);
        expect(result.stdout).toBe("authentik-server is ready\n");
        expect(result.status).toBe(0);
        expect(docker.calls().filter((call) => call.startsWith("inspect")).length).toBe(3);
        // 5 s between looks unless told otherwise.
        expect(docker.sleeps()).toEqual(["5", "5"]);
        const quick = fakeDocker({ health: ["starting", "healthy"] });
        expect(run(healthGateScript({ container: "authentik-server", timeoutSeconds: 600, pollSeconds: 1 }), quick.bin).status).toBe(0);
        expect(quick.sleeps()).toEqual(["1"]);
    });

    test("times out with the state, the last health checks and the last log lines", () => {
        const docker = fakeDocker({ health: ["unhealthy"] });
        const result = run(healthGateScript({ container: "authentik-postgresql", timeoutSeconds: 0 }), docker.bin);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("authentik-postgresql is not ready after 0 s: unhealthy");
        expect(result.stderr).toContain("state: running, exit code 0, restarts 3");
        expect(result.stderr).toContain("pg_isready: no response");
        expect(result.stderr).toContain("FATAL: the database system is starting up");
        expect(result.stderr).toContain("last health checks:\n");
        expect(result.stderr).toContain("last log lines (docker logs authentik-postgresql):\n");
    });

    test("fails at once when the container does not exist", () => {
        const docker = fakeDocker({ health: ["missing"] });
        const result = run(healthGateScript({ container: "authentik-worker", timeoutSeconds: 600 }), docker.bin);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("container authentik-worker: Error: No such object: authentik-worker");
    });

    test("with an extra requirement, healthy alone is not enough: it waits for both", () => {
        const docker = fakeDocker({ health: ["healthy"], extra: [1, 1, 0] });
        const extra = "docker exec 'authentik-backup' /bin/sh /usr/local/bin/authentik-backup ready '2026.8.3'";
        const result = run(healthGateScript({ container: "authentik-backup", timeoutSeconds: 900, alsoRequire: extra }), docker.bin);
        expect(result.status).toBe(0);
        expect(docker.calls().filter((call) => call.startsWith("exec"))).toEqual([
            "exec authentik-backup /bin/sh /usr/local/bin/authentik-backup ready 2026.8.3",
            "exec authentik-backup /bin/sh /usr/local/bin/authentik-backup ready 2026.8.3",
            "exec authentik-backup /bin/sh /usr/local/bin/authentik-backup ready 2026.8.3",
        ]);
    });

    test("a healthy container whose extra requirement never holds fails with that requirement's answer", () => {
        const docker = fakeDocker({ health: ["healthy"], extra: [1] });
        const result = run(healthGateScript({ container: "authentik-backup", timeoutSeconds: 0, alsoRequire: "docker exec authentik-backup true" }), docker.bin);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("authentik-backup is not ready after 0 s: healthy, but: started for authentik 2026.5.6, not 2026.8.3");
    });

    test("an extra requirement that answers 2 (never) stops the wait at once, healthy or not", () => {
        const docker = fakeDocker({ health: ["starting"], extra: [1, 2] });
        const result = run(healthGateScript({ container: "authentik-backup", timeoutSeconds: 900, alsoRequire: "docker exec authentik-backup ready", pollSeconds: 0 }), docker.bin);
        expect(result.status).toBe(1);
        expect(result.stderr).toBe("authentik-backup: the off-site repository cannot be used: wrong password\n");
        expect(docker.calls().filter((call) => call.startsWith("exec"))).toHaveLength(2);
    });
});

describe("a gate's precondition", () => {
    test("fails at once, with its own words, before any waiting", () => {
        const docker = fakeDocker({ health: ["starting"] });
        const result = run(healthGateScript({ container: "authentik-server", timeoutSeconds: 600, precondition: "echo '/data/media is not a folder' && false" }), docker.bin);
        expect(result.status).toBe(1);
        expect(result.stderr).toBe("authentik-server: /data/media is not a folder\n");
        expect(fs.existsSync(path.join(docker.bin, "calls.log"))).toBe(false);
    });

    test("when it holds, the gate goes on to wait for healthy", () => {
        const docker = fakeDocker({ health: ["healthy"] });
        const result = run(healthGateScript({ container: "authentik-server", timeoutSeconds: 600, precondition: "true" }), docker.bin);
        expect(result.status).toBe(0);
    });
});

describe("the name guard", () => {
    const guard = { label: "io.authentik-sso.instance", value: "0b5e…this-stack", volumes: ["authentik-database", "authentik-media"], networks: ["authentik-network"] };

    test("passes when no name exists, or only this stack's own", () => {
        expect(run(nameGuardScript(guard), fakeDocker({}).bin).status).toBe(0);
        const ours = fakeDocker({ labels: { "authentik-database": guard.value, "authentik-network": guard.value } });
        const result = run(nameGuardScript(guard), ours.bin);
        expect(result.stdout).toBe("no foreign volume or network in the way\n");
        expect(result.status).toBe(0);
    });

    test("refuses a volume or network of another stack, or of no stack, naming each", () => {
        const docker = fakeDocker({ labels: { "authentik-database": "", "authentik-network": "another-stack" } });
        const result = run(nameGuardScript(guard), docker.bin);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("a Docker volume named authentik-database already exists on this host and was not created by this stack");
        expect(result.stderr).toContain("a Docker network named authentik-network already exists");
        expect(result.stderr).toContain("docker volume rm authentik-database");
        expect(result.stderr).not.toContain("authentik-media");
    });
});

describe("the image prune", () => {
    test("removes every other image of the repository, keeps the one in use, and never fails", () => {
        const keep = `sha256:${"a".repeat(64)}`;
        const old = `sha256:${"b".repeat(64)}`;
        const used = `sha256:${"c".repeat(64)}`;
        const docker = fakeDocker({ images: [keep, old, used], inUse: [used] });
        const result = run(pruneImagesScript({ repository: "ghcr.io/goauthentik/server", keepImageId: keep }), docker.bin);
        expect(result.status).toBe(0);
        expect(result.stdout).toBe(`removed ${old}\nkept ${used} (still in use)\n`);
        expect(docker.calls()).not.toContain(`image rm ${keep}`);
    });
});

describe("one-off containers", () => {
    test("the script reaches `docker run` on stdin, whole, with the volumes and as root without network", () => {
        const docker = fakeDocker({});
        const script = "set -eu\necho \"it's $HOME\"\n";
        const result = run(oneShotScript({ image: "sha256:abc", volumes: { "authentik-data": "/data", "authentik-media": "/legacy-media:ro" }, env: { OWNER: "1000:1000" }, memoryMb: 64, script }), docker.bin);
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(docker.calls()).toEqual([
            "run --rm -i --network none --user 0:0 --memory 64m --volume authentik-data:/data --volume authentik-media:/legacy-media:ro --env OWNER=1000:1000 --entrypoint /bin/sh sha256:abc -s",
        ]);
        expect(fs.readFileSync(path.join(docker.bin, "stdin.txt"), "utf8")).toBe(script);
    });

    test("a script that holds the here-document's end marker is refused: the rest would run on the host", () => {
        expect(() => oneShotScript({ image: "i", volumes: {}, env: {}, memoryMb: 64, script: "echo one\nAUTHENTIK_SSO_SCRIPT_END\nreboot\n" })).toThrow("the script must not contain AUTHENTIK_SSO_SCRIPT_END");
    });
});

/** busybox sh with its own applets first on PATH, as in the Alpine-based PostgreSQL image the job runs in. */
function busyboxPath(applets: readonly string[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "busybox-applets-"));
    for (const applet of applets) {
        fs.symlinkSync("/bin/busybox", path.join(dir, applet));
    }
    return `${dir}:${process.env.PATH}`;
}

const PREPARE_SHELLS: { name: string; command: string[]; path: () => string }[] = [{ name: "dash and GNU tools", command: ["sh"], path: () => process.env.PATH ?? "" }];
if (fs.existsSync("/bin/busybox") || process.env.CI === "true") {
    PREPARE_SHELLS.push({
        name: "busybox (as in the Alpine image)",
        command: ["busybox", "sh"],
        path: () => busyboxPath(["ls", "rm", "mkdir", "cp", "mv", "rmdir", "readlink", "date", "chown", "chmod", "printf"]),
    });
}

describe.each(PREPARE_SHELLS)("scripts/prepare-data.sh under $name", (shell) => {
    const SCRIPT = path.join(REPO_ROOT, "scripts", "prepare-data.sh");
    const owner = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
    const searchPath = shell.path();

    function prepare(root: string, env: Record<string, string> = {}) {
        const [binary, ...args] = shell.command as [string, ...string[]];
        return spawnSync(binary, [...args, SCRIPT], {
            encoding: "utf8",
            env: { ...process.env, PATH: searchPath, DATA_DIR: path.join(root, "data"), LEGACY_MEDIA_DIR: path.join(root, "legacy"), OWNER: owner, ...env },
        });
    }

    function layout(files: Record<string, string>): string {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "prepare-data-"));
        fs.mkdirSync(path.join(root, "data"));
        fs.mkdirSync(path.join(root, "legacy"));
        for (const [file, content] of Object.entries(files)) {
            fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
            fs.writeFileSync(path.join(root, file), content);
        }
        return root;
    }

    test("replaces the image's media symlink (what Docker copies into a new volume) with a real folder", () => {
        const root = layout({});
        fs.symlinkSync("/media", path.join(root, "data", "media"));
        const result = prepare(root);
        expect(result.status).toBe(0);
        expect(fs.lstatSync(path.join(root, "data", "media")).isDirectory()).toBe(true);
        expect(result.stdout).toContain("replacing the image's media symlink (/media) with a folder");
    });

    test("copies the old media volume's files once, and leaves the old volume as it was", () => {
        const root = layout({ "legacy/public/logo.svg": "<svg/>", "legacy/public/flows/bg.jpg": "jpeg" });
        expect(prepare(root).status).toBe(0);
        expect(fs.readFileSync(path.join(root, "data", "media", "public", "logo.svg"), "utf8")).toBe("<svg/>");
        expect(fs.readFileSync(path.join(root, "data", "media", "public", "flows", "bg.jpg"), "utf8")).toBe("jpeg");
        expect(fs.existsSync(path.join(root, "legacy", "public", "logo.svg"))).toBe(true);
        expect(fs.existsSync(path.join(root, "data", ".authentik-sso-media-copied"))).toBe(true);
        // Once: a file deleted in authentik afterwards does not come back with the next version change.
        fs.rmSync(path.join(root, "data", "media", "public", "logo.svg"));
        expect(prepare(root).status).toBe(0);
        expect(fs.existsSync(path.join(root, "data", "media", "public", "logo.svg"))).toBe(false);
    });

    test("never copies over files already in data/media (a restored backup, say)", () => {
        const root = layout({ "legacy/public/logo.svg": "old", "data/media/public/logo.svg": "restored" });
        const result = prepare(root);
        expect(result.status).toBe(0);
        expect(fs.readFileSync(path.join(root, "data", "media", "public", "logo.svg"), "utf8")).toBe("restored");
        expect(result.stdout).toContain("already holds files");
    });

    test("a copy cut short is started over, not taken for a finished one", () => {
        const root = layout({ "legacy/a.txt": "a", "legacy/b.txt": "b" });
        // What a copy killed half-way leaves: a staging folder with part of the files, no marker.
        fs.mkdirSync(path.join(root, "data", ".authentik-sso-media-staging"));
        fs.writeFileSync(path.join(root, "data", ".authentik-sso-media-staging", "a.txt"), "a");
        expect(prepare(root).status).toBe(0);
        expect(fs.readdirSync(path.join(root, "data", "media")).sort()).toEqual(["a.txt", "b.txt", "public"]);
        expect(fs.existsSync(path.join(root, "data", ".authentik-sso-media-staging"))).toBe(false);
    });

    test("an empty data root gets media/public, which authentik 2025.12.0 and .1 need to manage files", () => {
        const root = layout({});
        expect(prepare(root).status).toBe(0);
        expect(fs.statSync(path.join(root, "data", "media", "public")).isDirectory()).toBe(true);
    });

    test("fails when the data volume is not mounted", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "prepare-data-"));
        const result = prepare(root);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("is not mounted");
    });

    test("gives everything to the owner and lets its group write the root", () => {
        const root = layout({ "legacy/x": "x" });
        expect(prepare(root).status).toBe(0);
        const mode = fs.statSync(path.join(root, "data")).mode & 0o777;
        expect(mode & 0o770).toBe(0o770);
        expect(fs.statSync(path.join(root, "data", "media", "x")).uid).toBe(process.getuid?.() ?? 0);
    });
});

describeWithTool("shellcheck", "shellcheck on the host scripts", () => {
    test.each([
        ["health gate", healthGateScript({ container: "c", timeoutSeconds: 5, alsoRequire: "docker exec c true" })],
        ["name guard", nameGuardScript({ label: "l", value: "v", volumes: ["a"], networks: ["n"] })],
        ["image prune", pruneImagesScript({ repository: "r", keepImageId: "k" })],
        ["one-off container", oneShotScript({ image: "i", volumes: { v: "/v" }, env: {}, memoryMb: 64, script: "true" })],
        ["prepare-data.sh", fs.readFileSync(path.join(REPO_ROOT, "scripts", "prepare-data.sh"), "utf8")],
    ])("%s", (_, script) => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "host-script-")), "script.sh");
        fs.writeFileSync(file, script.startsWith("#!") ? script : `#!/bin/sh\n${script}`);
        const result = spawnSync("shellcheck", ["--severity=warning", file], { encoding: "utf8" });
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
    });
});
