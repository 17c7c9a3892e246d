/**
 * scripts/restore.sh drives Docker in authentik's recovery order. Docker is replaced by a recorder here; the
 * restore steps themselves are tested against a real PostgreSQL in backup.test.ts.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "./harness";
import { describeWithTool } from "./tools";

const RESTORE = path.join(REPO_ROOT, "scripts", "restore.sh");
const DUMP = "authentik-db-20261126T030000Z-daily.dump";
const ARCHIVE = "authentik-files-20261126T030000Z-daily.tar.gz";

const FAKE_DOCKER = `#!/bin/bash
printf '%s\\n' "$*" >> "$DOCKER_LOG"
case "$1 $2" in
  "inspect --format")
    case "$3" in
      *.Image*) echo sha256:0123 ;;
      *Networks*) echo sso-network ;;
      *Mounts*) printf 'volume sso-media /sources/media\\nvolume sso-certs /sources/certs\\nvolume sso-custom-templates /sources/templates\\nbind /var/backups/authentik /backups\\n' ;;
      *Health*) echo "\${FAKE_HEALTH:-healthy}" ;;
    esac ;;
  "exec sso-backup")
    case "$3" in
      cat) if [ -n "\${FAIL_CAT:-}" ]; then echo "cat: can't open" >&2; exit 1; fi; [ "$4" = /usr/local/bin/authentik-backup ] && echo "# backup script" || echo '{"authentikVersion":"2026.8.3"}' ;;
      sha256sum) echo "\${FAKE_SNAPSHOT_KEY_HASH:-aaaa}  $4" ;;
      test) [ "$5" != "/backups/missing.dump" ] ;;
      authentik-backup)
        if [ "$4" = restore-db ] && [ -n "\${FAIL_RESTORE_DB:-}" ]; then echo "FAILED: the restore failed; the database was left as it was" >&2; exit 1; fi
        if [ "$4" = offsite-fetch ]; then
          [ "$5" = "\${FAKE_SNAPSHOT:-latest}" ] || { echo "no snapshot $5" >&2; exit 1; }
          printf '%s\n' "\${FAKE_FETCHED:-dump=offsite-restore/backups/.offsite-staging/${DUMP}
archive=offsite-restore/backups/.offsite-staging/${ARCHIVE}
manifest=offsite-restore/backups/.offsite-staging/manifest.json
secretKey=offsite-restore/backups/.offsite-staging/authentik-secret-key}"
        fi ;;
    esac ;;
  "exec sso-server") echo "\${FAKE_RUNNING_KEY_HASH:-aaaa}  -" ;;
  run*) cat > /dev/null; if [ -n "\${FAIL_RESTORE_FILES:-}" ]; then echo "FAILED: could not unpack; the files were left as they were" >&2; exit 1; fi ;;
esac
`;

function setup() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
    fs.writeFileSync(path.join(dir, "docker"), FAKE_DOCKER, { mode: 0o755 });
    const log = path.join(dir, "docker.log");
    const restore = (args: string[], input = "", env: Record<string, string> = {}) =>
        spawnSync("bash", [RESTORE, ...args], { input, encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, DOCKER_LOG: log, ...env } });
    const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []);
    return { restore, calls };
}

describe("scripts/restore.sh", () => {
    test("stops authentik, restores database then files into writable volumes, starts it and waits for health", () => {
        const { restore, calls } = setup();
        const result = restore(["--prefix", "sso", "--yes", DUMP, `/var/backups/authentik/${ARCHIVE}`]);
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        const log = calls();
        const index = (prefix: string) => log.findIndex((line) => line.startsWith(prefix));
        expect(index("stop sso-server sso-worker")).toBeGreaterThan(-1);
        expect(index("exec sso-backup authentik-backup restore-db /backups/" + DUMP)).toBeGreaterThan(index("stop "));
        const run = log.find((line) => line.startsWith("run "));
        expect(run).toBe(
            `run --rm -i --user root --network sso-network --volume sso-media:/sources/media --volume sso-certs:/sources/certs --volume sso-custom-templates:/sources/templates --volume /var/backups/authentik:/backups:ro --entrypoint /bin/sh sha256:0123 -s restore-files /backups/${ARCHIVE}`,
        );
        expect(index("run ")).toBeGreaterThan(index("exec sso-backup authentik-backup restore-db"));
        expect(index("start sso-worker sso-server")).toBeGreaterThan(index("run "));
        expect(result.stdout).toContain("authentik is healthy again");
    });

    test("--no-start restores and leaves server and worker stopped, with the rollback's next steps", () => {
        const { restore, calls } = setup();
        const result = restore(["--prefix", "sso", "--yes", "--no-start", DUMP, ARCHIVE]);
        expect(result.status).toBe(0);
        expect(calls().filter((line) => line.startsWith("start"))).toEqual([]);
        expect(calls().some((line) => line.startsWith("exec sso-backup authentik-backup restore-db"))).toBe(true);
        expect(calls().some((line) => line.startsWith("run "))).toBe(true);
        expect(result.stdout).toContain("4/4 skipped: sso-server and sso-worker stay stopped");
        expect(result.stdout).toContain("pulumi config set --path 'authentik-sso:upgrades.allowDowngrade' true");
        expect(result.stdout).toContain("no pulumi refresh, no deploy from CI");
    });

    test("a database restore that fails stops the script: no files restored, nothing started", () => {
        const { restore, calls } = setup();
        const result = restore(["--prefix", "sso", "--yes", DUMP, ARCHIVE], "", { FAIL_RESTORE_DB: "1" });
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain("the database was left as it was");
        expect(calls().filter((line) => line.startsWith("run ") || line.startsWith("start"))).toEqual([]);
    });

    test("a files restore that fails (the last command of a pipeline) stops the script: nothing is started", () => {
        const { restore, calls } = setup();
        const result = restore(["--prefix", "sso", "--yes", DUMP, ARCHIVE], "", { FAIL_RESTORE_FILES: "1" });
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain("the files were left as they were");
        expect(calls().filter((line) => line.startsWith("start"))).toEqual([]);
    });

    test("a backup container whose script cannot be read (the first command of the pipeline) stops it too: pipefail", () => {
        const { restore, calls } = setup();
        const result = restore(["--prefix", "sso", "--yes", DUMP, ARCHIVE], "", { FAIL_CAT: "1" });
        expect(result.status).not.toBe(0);
        expect(calls().filter((line) => line.startsWith("start"))).toEqual([]);
    });

    test("a server that never turns healthy makes the script fail, saying where to look", () => {
        const { restore } = setup();
        const result = restore(["--prefix", "sso", "--yes", DUMP, ARCHIVE], "", { FAKE_HEALTH: "unhealthy", HEALTH_TIMEOUT_SECONDS: "0" });
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("sso-server is not healthy after 0 s (last status: unhealthy): docker logs sso-server");
    });

    test("nothing is stopped without confirmation", () => {
        const { restore, calls } = setup();
        const result = restore(["--prefix", "sso", DUMP, ARCHIVE], "no\n");
        expect(result.status).toBe(1);
        expect(result.stdout).toContain("nothing was changed");
        expect(calls().filter((line) => line.startsWith("stop") || line.includes("restore-"))).toEqual([]);
    });

    test("a missing dump stops the restore before anything changes", () => {
        const { restore, calls } = setup();
        const result = restore(["--prefix", "sso", "--yes", "missing.dump", ARCHIVE]);
        expect(result.status).not.toBe(0);
        expect(calls().filter((line) => line.startsWith("stop"))).toEqual([]);
    });

    test("file names are checked", () => {
        const { restore } = setup();
        expect(restore(["--yes", "notes.txt", ARCHIVE]).stderr).toContain("is not a database dump");
        expect(restore(["--yes", DUMP, "notes.txt"]).stderr).toContain("is not a files archive");
        expect(restore(["--yes", DUMP]).status).toBe(2);
    });
});

describe("scripts/restore.sh --from-offsite", () => {
    const STAGED = "offsite-restore/backups/.offsite-staging";

    test("fetches the snapshot into the backup folder first, then restores what it holds in the same order", () => {
        const { restore, calls } = setup();
        const result = restore(["--prefix", "sso", "--yes", "--from-offsite", "latest"]);
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        const log = calls();
        const index = (prefix: string) => log.findIndex((line) => line.startsWith(prefix));
        expect(index("exec sso-backup authentik-backup offsite-fetch latest")).toBeGreaterThan(-1);
        expect(index("stop sso-server sso-worker")).toBeGreaterThan(index("exec sso-backup authentik-backup offsite-fetch"));
        expect(log).toContain(`exec sso-backup authentik-backup restore-db /backups/${STAGED}/${DUMP}`);
        expect(log.find((line) => line.startsWith("run "))).toMatch(new RegExp(`-s restore-files /backups/${STAGED.replace(/\./g, "\\.")}/${ARCHIVE.replace(/\./g, "\\.")}$`));
        expect(result.stdout).toContain('taken by: {"authentikVersion":"2026.8.3"}');
        expect(result.stdout).toContain("authentik is healthy again");
    });

    test("a snapshot taken with another secret key is refused unless asked for, comparing hashes only", () => {
        const { restore, calls } = setup();
        const other = restore(["--prefix", "sso", "--yes", "--from-offsite", "latest"], "", { FAKE_RUNNING_KEY_HASH: "bbbb" });
        expect(other.status).toBe(1);
        expect(other.stderr).toContain("was taken with another AUTHENTIK_SECRET_KEY than sso-server runs");
        expect(calls().filter((line) => line.startsWith("stop"))).toEqual([]);
        expect(calls()).toContain(`exec sso-backup sha256sum /backups/${STAGED}/authentik-secret-key`);
        const anyway = restore(["--prefix", "sso", "--yes", "--other-key", "--from-offsite", "latest"], "", { FAKE_RUNNING_KEY_HASH: "bbbb" });
        expect(anyway.status).toBe(0);
    });

    test("a snapshot that cannot be fetched changes nothing", () => {
        const { restore, calls } = setup();
        const result = restore(["--prefix", "sso", "--yes", "--from-offsite", "deadbeef"]);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("could not fetch snapshot deadbeef; nothing was changed");
        expect(calls().filter((line) => line.startsWith("stop") || line.includes("restore-"))).toEqual([]);
    });

    test("a snapshot without a files archive, or with paths outside the backup folder, is refused before anything changes", () => {
        const { restore, calls } = setup();
        expect(restore(["--yes", "--prefix", "sso", "--from-offsite", "latest"], "", { FAKE_FETCHED: `dump=${STAGED}/${DUMP}` }).stderr).toContain("holds no files archive");
        expect(restore(["--yes", "--prefix", "sso", "--from-offsite", "latest"], "", { FAKE_FETCHED: `dump=../etc/${DUMP}\narchive=${STAGED}/${ARCHIVE}` }).stderr).toContain("leaves the backup folder");
        expect(calls().filter((line) => line.startsWith("stop"))).toEqual([]);
        expect(restore(["--yes", "--from-offsite", "latest", DUMP]).status).toBe(2);
    });
});

describeWithTool("shellcheck", "shellcheck on every script", () => {
    const scripts = fs.readdirSync(path.join(REPO_ROOT, "scripts")).filter((name) => name.endsWith(".sh"));
    test.each(scripts)("%s", (script) => {
        const result = spawnSync("shellcheck", ["--severity=warning", path.join(REPO_ROOT, "scripts", script)], { encoding: "utf8" });
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
    });
});
