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
      *Health*) echo healthy ;;
    esac ;;
  "exec sso-backup")
    case "$3" in
      cat) echo "# backup script" ;;
      test) [ "$5" != "/backups/missing.dump" ] ;;
    esac ;;
  run*) cat > /dev/null ;;
esac
`;

function setup() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
    fs.writeFileSync(path.join(dir, "docker"), FAKE_DOCKER, { mode: 0o755 });
    const log = path.join(dir, "docker.log");
    const restore = (args: string[], input = "") =>
        spawnSync("bash", [RESTORE, ...args], { input, encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, DOCKER_LOG: log } });
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

describeWithTool("shellcheck", "shellcheck on every script", () => {
    const scripts = fs.readdirSync(path.join(REPO_ROOT, "scripts")).filter((name) => name.endsWith(".sh"));
    test.each(scripts)("%s", (script) => {
        const result = spawnSync("shellcheck", ["--severity=warning", path.join(REPO_ROOT, "scripts", script)], { encoding: "utf8" });
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
    });
});
