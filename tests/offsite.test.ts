/**
 * Off-site copies: scripts/authentik-backup.sh with a real restic (Debian's) against a local repository and a real
 * PostgreSQL: the first push creates the repository, the keep policy thins out daily snapshots only, a wrong
 * password or a lost repository is reported and retried without losing local backups, a damaged repository is
 * found, and a stack whose VM and local backups are gone comes back, row for row, from the repository alone.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { offsiteEnvFile } from "../lib/backupPlan";
import { REPO_ROOT } from "./harness";
import { TestPostgres, findPostgresBinDir, startPostgres } from "./postgres";
import { useCheapKey } from "./resticKey";
import { backupShells, shellPath } from "./shells";
import { describeWithTool, hasCommand } from "./tools";

const SCRIPT = path.join(REPO_ROOT, "scripts", "authentik-backup.sh");
const RESTORE = path.join(REPO_ROOT, "scripts", "restore.sh");

/**
 * A `docker` for scripts/restore.sh that runs what it asks of the backup container with the real backup script here:
 * /backups inside the container is BACKUP_DIR, /sources is FILES_ROOT.
 */
const DOCKER_SHIM = `#!/bin/bash
set -u
printf '%s\\n' "$*" >>"$DOCKER_LOG"
inside() { case "$1" in /backups/*) printf '%s' "$BACKUP_DIR/\${1#/backups/}" ;; *) printf '%s' "$1" ;; esac; }
case "$1" in
exec)
    # The server's environment holds the running stack's secret key.
    if [ "$2" = authentik-server ]; then shift 2; AUTHENTIK_SECRET_KEY=$SERVER_SECRET_KEY exec "$@"; fi
    shift 2
    case "$1" in
    sha256sum) exec sha256sum "$(inside "$2")" ;;
    authentik-backup) shift; args=(); for arg in "$@"; do args+=("$(inside "$arg")"); done; exec $SHELL_COMMAND "$SCRIPT" "\${args[@]}" ;;
    test) exec test "$2" "$(inside "$3")" ;;
    cat) [ "$2" = /usr/local/bin/authentik-backup ] && exec cat "$SCRIPT"; exec cat "$(inside "$2")" ;;
    esac ;;
inspect)
    case "$3" in
    *.Image*) echo sha256:postgres ;;
    *Networks*) echo authentik ;;
    *Mounts*) printf 'volume authentik-data /sources/data\\nbind %s /backups\\n' "$BACKUP_DIR" ;;
    *Health*) echo healthy ;;
    esac ;;
run)
    # The restore job: the script on stdin, its arguments after -s.
    while [ "$1" != -s ]; do shift; done
    shift
    command=$1 file=$(inside "$2")
    exec $SHELL_COMMAND -s "$command" "$file" ;;
stop | start) ;;
esac
`;
/** With a quote, a dollar and a backslash: the env file must carry it to restic unchanged. */
const PASSWORD = `it's $HOME\\and "more" than 16`;
const SECRET_KEY = "k".repeat(60);

interface Snapshot {
    short_id: string;
    time: string;
    tags: string[];
    hostname: string;
}

const available = hasCommand("restic") && findPostgresBinDir() !== undefined && hasCommand("pg_dump");

describeWithTool(
    "restic",
    "off-site copies with a real restic",
    () => {
        let pg: TestPostgres;
        /** An empty repository with PASSWORD, cheap to open: each test starts from a copy. */
        let template: string;
        beforeAll(async () => {
            pg = await startPostgres();
            template = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "restic-template-")), "repository");
            execFileSync("restic", ["init", "--quiet"], { env: { ...process.env, RESTIC_REPOSITORY: template, RESTIC_PASSWORD: PASSWORD } });
            useCheapKey(template, PASSWORD);
        });
        afterAll(() => {
            pg?.stop();
            fs.rmSync(path.dirname(template), { recursive: true, force: true });
        });

        const psql = (sql: string) =>
            execFileSync(path.join(pg.binDir, "psql"), ["-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], { env: { ...process.env, ...pg.env, PGOPTIONS: "-c client_min_messages=warning" }, encoding: "utf8" });

        // The script runs in the backup container only: busybox (Alpine) where it is installed.
        describe.each(backupShells().slice(-1))("$name", (shell) => {
            let root: string;
            let backupDir: string;
            let filesRoot: string;
            let stateDir: string;
            let marker: string;
            let repository: string;
            let envFile: string;

            beforeEach(() => {
                root = fs.mkdtempSync(path.join(os.tmpdir(), "authentik-offsite-"));
                backupDir = path.join(root, "backups");
                filesRoot = path.join(root, "sources");
                stateDir = path.join(backupDir, ".state");
                marker = path.join(root, "started");
                repository = path.join(root, "repository");
                envFile = path.join(root, "offsite.env");
                fs.cpSync(template, repository, { recursive: true });
                fs.writeFileSync(envFile, offsiteEnvFile({ RESTIC_REPOSITORY: repository, RESTIC_PASSWORD: PASSWORD, AUTHENTIK_SECRET_KEY: SECRET_KEY }), { mode: 0o400 });
                fs.mkdirSync(path.join(filesRoot, "data/media/public"), { recursive: true });
                fs.writeFileSync(path.join(filesRoot, "data/media/public/logo.svg"), "<svg>original</svg>");
                psql("DROP TABLE IF EXISTS users CASCADE");
                psql("CREATE TABLE users (id serial PRIMARY KEY, username text NOT NULL UNIQUE, attributes jsonb)");
                psql("INSERT INTO users (username, attributes) SELECT 'user' || i, jsonb_build_object('n', i) FROM generate_series(1, 120) AS i");
            });
            afterEach(() => {
                execFileSync("chmod", ["-R", "u+w", root]);
                fs.rmSync(root, { recursive: true, force: true });
            });

            /** The backup container's environment, here. */
            function scriptEnvironment(): Record<string, string> {
                return {
                        TZ: "UTC",
                        BACKUP_DIR: backupDir,
                        FILES_ROOT: filesRoot,
                        STATE_DIR: stateDir,
                        STARTED_MARKER: marker,
                        RETENTION_DAYS: "7",
                        OFFSITE_ENV_FILE: envFile,
                        RESTIC_HOST: "authentik-sso-dev",
                        RESTIC_CACHE_DIR: path.join(root, "cache"),
                        STACK_NAME: "dev",
                        AUTHENTIK_VERSION: "2026.8.3",
                        POSTGRES_IMAGE: "docker.io/library/postgres:16.14-alpine",
                };
            }

            function backup(args: string[], env: Record<string, string> = {}) {
                const [binary, ...shellArgs] = shell.command as [string, ...string[]];
                return spawnSync(binary, [...shellArgs, SCRIPT, ...args], {
                    encoding: "utf8",
                    env: { ...process.env, ...pg.env, ...scriptEnvironment(), PATH: shellPath(shell), ...env },
                });
            }

            function restic(args: string[], password = PASSWORD): string {
                return execFileSync("restic", ["--no-cache", ...args], { env: { ...process.env, RESTIC_REPOSITORY: repository, RESTIC_PASSWORD: password }, encoding: "utf8" });
            }

            function snapshots(): Snapshot[] {
                return (JSON.parse(restic(["snapshots", "--json"])) as Snapshot[]).sort((a, b) => a.time.localeCompare(b.time));
            }

            const pending = () => (fs.existsSync(path.join(stateDir, "offsite-pending")) ? fs.readdirSync(path.join(stateDir, "offsite-pending")) : []);

            test("a path repository is created only by offsite-init; then each backup becomes one tagged snapshot with its dump, files, manifest and secret key", () => {
                fs.rmSync(repository, { recursive: true });
                // An unmounted share looks like this too: nothing is created by itself.
                const first = backup(["run"], { BACKUP_STAMP: "20261101T030000Z" });
                expect(first.status).toBe(0);
                expect(first.stderr).toContain(`there is no repository at ${repository}: if the share is mounted there, create it once with: docker exec <name>-backup authentik-backup offsite-init`);
                expect(fs.existsSync(repository)).toBe(false);
                expect(pending()).toEqual(["20261101T030000Z-daily"]);
                const init = backup(["offsite-init"]);
                expect(init.stderr).toContain("initialising the off-site repository");
                expect(init.status).toBe(0);
                useCheapKey(repository, PASSWORD);
                expect(backup(["offsite-push"]).status).toBe(0);
                const second = backup(["run"], { BACKUP_STAMP: "20261102T030000Z" });
                expect(second.status).toBe(0);
                expect(second.stderr).toContain("off-site copy done");
                expect(second.stderr).not.toContain("initialising");

                const taken = snapshots();
                expect(taken.map((snapshot) => snapshot.tags.sort())).toEqual([
                    ["authentik-sso", "backup=20261101T030000Z-daily", "daily"],
                    ["authentik-sso", "backup=20261102T030000Z-daily", "daily"],
                ]);
                expect(taken.every((snapshot) => snapshot.hostname === "authentik-sso-dev")).toBe(true);
                const files = restic(["ls", "latest"])
                    .split("\n")
                    .filter((line) => line.includes(".offsite-staging/"))
                    .map((line) => path.basename(line))
                    .sort();
                expect(files).toEqual(["authentik-db-20261102T030000Z-daily.dump", "authentik-files-20261102T030000Z-daily.tar.gz", "authentik-secret-key", "manifest.json"]);
                const manifest = JSON.parse(restic(["dump", "latest", path.join(backupDir, ".offsite-staging", "manifest.json")])) as Record<string, string>;
                expect(manifest).toMatchObject({ stack: "dev", backup: "20261102T030000Z-daily", authentikVersion: "2026.8.3", postgresImage: "docker.io/library/postgres:16.14-alpine" });
                // Without a newline: `pulumi config set --secret … < authentik-secret-key` takes it as it is.
                expect(restic(["dump", "latest", path.join(backupDir, ".offsite-staging", "authentik-secret-key")])).toBe(SECRET_KEY);
                // Each snapshot carries its backup's time, not the push's.
                expect(taken.map((snapshot) => snapshot.time.slice(0, 19))).toEqual(["2026-11-01T03:00:00", "2026-11-02T03:00:00"]);
                expect(pending()).toEqual([]);
                expect(fs.existsSync(path.join(backupDir, ".offsite-staging"))).toBe(false);
                // The local copies stay: the snapshot took hard links.
                expect(fs.readdirSync(backupDir).filter((name) => name.startsWith("authentik-"))).toHaveLength(4);
            });

            test("the keep policy thins out daily snapshots only: pre-upgrade and hand-labelled snapshots stay", () => {
                // Five nights across a month's end (one ISO week), an upgrade on the first and a backup by hand on the second.
                const days = ["2025-12-30", "2025-12-31", "2026-01-01", "2026-01-02", "2026-01-03"];
                const policy = { KEEP_DAILY: "2", KEEP_WEEKLY: "1", KEEP_MONTHLY: "2", CHECK_DAY: "never" };
                for (const [index, day] of days.entries()) {
                    const stamp = `${day.replace(/-/g, "")}T030000Z`;
                    expect(backup(["run"], { ...policy, BACKUP_STAMP: stamp }).status).toBe(0);
                    if (index === 0) {
                        expect(backup(["run", "pre-upgrade-2026.5.6-to-2026.8.3"], { ...policy, BACKUP_STAMP: `${day.replace(/-/g, "")}T040000Z` }).status).toBe(0);
                    }
                    if (index === 1) {
                        expect(backup(["run", "before-postgres-major"], { ...policy, BACKUP_STAMP: `${day.replace(/-/g, "")}T050000Z` }).status).toBe(0);
                    }
                }
                const kept = snapshots().map((snapshot) => `${snapshot.time.slice(0, 10)} ${snapshot.tags.filter((tag) => !tag.startsWith("backup=") && tag !== "authentik-sso").join(",")}`);
                expect(kept).toEqual([
                    "2025-12-30 pre-upgrade",
                    // Monthly (2): the last of January so far and of December. Daily (2): the newest two. Weekly (1):
                    // the last of the week, already kept. Gone: 30 Dec and 1 Jan.
                    "2025-12-31 daily",
                    "2025-12-31 manual",
                    "2026-01-02 daily",
                    "2026-01-03 daily",
                ]);
                expect(restic(["check"])).toContain("no errors were found");
            });

            test("a wrong password fails the copy, keeps it queued and every local backup, and stops the next deployment", () => {
                expect(backup(["run"], { BACKUP_STAMP: "20261101T030000Z" }).status).toBe(0);
                fs.mkdirSync(backupDir, { recursive: true });
                const old = path.join(backupDir, "authentik-db-20240101T030000Z-daily.dump");
                fs.writeFileSync(old, "old");
                const time = new Date(Date.now() - 40 * 86400 * 1000);
                fs.utimesSync(old, time, time);

                fs.chmodSync(envFile, 0o600);
                fs.writeFileSync(envFile, offsiteEnvFile({ RESTIC_REPOSITORY: repository, RESTIC_PASSWORD: "not the password at all", AUTHENTIK_SECRET_KEY: SECRET_KEY }));
                const run = backup(["run"], { BACKUP_STAMP: "20261102T030000Z" });
                // The local backup itself succeeded.
                expect(run.status).toBe(0);
                expect(run.stderr).toContain("FAILED (off-site)");
                expect(run.stderr).toContain("local backups are kept until the off-site copy succeeds");
                expect(pending()).toEqual(["20261102T030000Z-daily"]);
                expect(fs.existsSync(old)).toBe(true);
                expect(fs.readFileSync(path.join(stateDir, "offsite-last-error"), "utf8")).toMatch(/(cannot be opened|wrong password).*(wrong password|no key found)/);

                // A new configuration that never worked is a misconfiguration: unhealthy, and `ready` says never.
                expect(backup(["startup"]).status).toBe(0);
                const health = backup(["health"]);
                expect(health.status).toBe(1);
                expect(health.stdout).toMatch(/the off-site repository cannot be used: .*(wrong password|no key found)/);
                const ready = backup(["ready", "2026.8.3"]);
                expect(ready.status).toBe(2);
                expect(ready.stdout).toContain("the off-site repository cannot be used");
                expect(snapshots()).toHaveLength(1);

                // The right password again: the start's probe clears the failure, and the loop's first round (offsite-push
                // here) pushes what was queued.
                fs.writeFileSync(envFile, offsiteEnvFile({ RESTIC_REPOSITORY: repository, RESTIC_PASSWORD: PASSWORD, AUTHENTIK_SECRET_KEY: SECRET_KEY }));
                expect(backup(["startup"]).status).toBe(0);
                expect(fs.existsSync(path.join(stateDir, "offsite-last-failure"))).toBe(false);
                expect(pending()).toEqual(["20261102T030000Z-daily"]);
                expect(backup(["offsite-push"]).status).toBe(0);
                expect(pending()).toEqual([]);
                expect(snapshots().map((snapshot) => snapshot.tags.find((tag) => tag.startsWith("backup=")))).toEqual(["backup=20261101T030000Z-daily", "backup=20261102T030000Z-daily"]);
                expect(backup(["health"]).stdout.trim()).toBe("ok");
                expect(backup(["ready", "2026.8.3"]).status).toBe(0);
            });

            test("an outage after the repository worked once is retried and does not stop a deployment, until no copy succeeded for a day", () => {
                expect(backup(["startup"]).status).toBe(0);
                expect(backup(["run"], { BACKUP_STAMP: "20261101T030000Z" }).status).toBe(0);
                const away = `${repository}-away`;
                fs.renameSync(repository, away);
                // An unmounted share: an empty folder where the repository was. It must not be created anew there.
                fs.mkdirSync(repository);
                const run = backup(["run"], { BACKUP_STAMP: "20261102T030000Z" });
                expect(run.status).toBe(0);
                expect(run.stderr).toContain("the repository this stack used before is gone");
                expect(fs.readdirSync(repository)).toEqual([]);
                // Two more nights of the outage.
                expect(backup(["run"], { BACKUP_STAMP: "20261103T030000Z" }).status).toBe(0);
                expect(backup(["run"], { BACKUP_STAMP: "20261104T030000Z" }).status).toBe(0);
                expect(pending()).toEqual(["20261102T030000Z-daily", "20261103T030000Z-daily", "20261104T030000Z-daily"]);
                // Within the hour after a (re)start, a store that worked before is given time: a deployment goes through.
                expect(backup(["health"]).stdout.trim()).toBe("ok");
                expect(backup(["ready", "2026.8.3"]).status).toBe(0);
                // After that, the failed copy shows in `docker ps`.
                const failed = backup(["health"], { OFFSITE_RETRY_SECONDS: "0" });
                expect(failed.status).toBe(1);
                expect(failed.stdout).toMatch(/^the last off-site copy failed: the repository this stack used before is gone/);
                expect(backup(["ready", "2026.8.3"], { OFFSITE_RETRY_SECONDS: "0" }).status).toBe(0);
                // A day later, still no copy: now it is reported.
                const dayAgo = String(Math.floor(Date.now() / 1000) - 90000);
                fs.writeFileSync(marker, dayAgo);
                fs.writeFileSync(path.join(stateDir, "offsite-last-success"), dayAgo);
                fs.writeFileSync(path.join(stateDir, "last-success"), String(Math.floor(Date.now() / 1000)));
                // (Without a recorded failure too: say the schedule stopped.)
                fs.rmSync(path.join(stateDir, "offsite-last-failure"));
                const overdue = backup(["health"], { MAX_AGE_SECONDS: "86400" });
                expect(overdue.status).toBe(1);
                expect(overdue.stdout).toMatch(/^no off-site copy in the last 86400 seconds: the repository this stack used before is gone/);

                fs.rmdirSync(repository);
                fs.renameSync(away, repository);
                const retry = backup(["offsite-push"]);
                expect(retry.status).toBe(0);
                expect(pending()).toEqual([]);
                // Every night of the outage keeps its own day, so the keep policy keeps each of them.
                expect(snapshots().map((snapshot) => snapshot.time.slice(0, 10))).toEqual(["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]);
                expect(backup(["health"], { MAX_AGE_SECONDS: "86400" }).stdout.trim()).toBe("ok");
            });

            test("offsite-check reads every pack and reports a damaged one", () => {
                expect(backup(["run"], { BACKUP_STAMP: "20261101T030000Z" }).status).toBe(0);
                expect(backup(["offsite-check"]).status).toBe(0);
                const packs = execFileSync("find", [path.join(repository, "data"), "-type", "f"], { encoding: "utf8" }).trim().split("\n");
                const largest = packs.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0] as string;
                fs.chmodSync(largest, 0o600);
                const bytes = fs.readFileSync(largest);
                const middle = Math.floor(bytes.length / 2);
                bytes.writeUInt8(bytes.readUInt8(middle) ^ 0xff, middle);
                fs.writeFileSync(largest, bytes);
                const check = backup(["offsite-check"]);
                expect(check.status).not.toBe(0);
                expect(check.stderr).toContain("restic check found a problem in the repository");
                expect(fs.existsSync(path.join(stateDir, "offsite-last-failure"))).toBe(true);
            });

            test("a lost VM: `restore.sh --from-offsite latest` brings back the database and files row for row, from the repository alone", () => {
                const before = psql("SELECT id, username, attributes::text FROM users ORDER BY id");
                expect(backup(["run"], { BACKUP_STAMP: "20261101T030000Z" }).status).toBe(0);
                psql("INSERT INTO users (username) VALUES ('after-the-last-backup')");
                expect(backup(["run"], { BACKUP_STAMP: "20261102T030000Z" }).status).toBe(0);
                const latest = psql("SELECT id, username, attributes::text FROM users ORDER BY id");

                // The VM is gone: its disk (local backups, state) and the database with it. A new one is empty.
                fs.rmSync(backupDir, { recursive: true });
                fs.rmSync(filesRoot, { recursive: true });
                fs.mkdirSync(path.join(filesRoot, "data"), { recursive: true });
                psql("DROP TABLE users");

                const shimDir = fs.mkdtempSync(path.join(root, "docker-"));
                fs.writeFileSync(path.join(shimDir, "docker"), DOCKER_SHIM, { mode: 0o755 });
                const restore = spawnSync("bash", [RESTORE, "--yes", "--from-offsite", "latest"], {
                    encoding: "utf8",
                    env: {
                        ...process.env,
                        ...pg.env,
                        ...scriptEnvironment(),
                        PATH: shellPath(shell, shimDir),
                        SCRIPT,
                        SHELL_COMMAND: shell.command.join(" "),
                        DOCKER_LOG: path.join(shimDir, "calls.log"),
                        HEALTH_TIMEOUT_SECONDS: "0",
                        SERVER_SECRET_KEY: SECRET_KEY,
                    },
                });
                expect(restore.stderr).not.toContain("FAILED");
                expect(restore.status).toBe(0);
                expect(restore.stdout).toContain('"backup":"20261102T030000Z-daily"');
                expect(restore.stderr).not.toContain("could not be compared");
                expect(psql("SELECT id, username, attributes::text FROM users ORDER BY id")).toBe(latest);
                expect(fs.readFileSync(path.join(filesRoot, "data/media/public/logo.svg"), "utf8")).toBe("<svg>original</svg>");
                const secretKey = execFileSync("find", [path.join(backupDir, "offsite-restore"), "-name", "authentik-secret-key"], { encoding: "utf8" }).trim();
                expect(fs.readFileSync(secretKey, "utf8").trim()).toBe(SECRET_KEY);

                // An older snapshot, by id.
                const first = snapshots()[0] as Snapshot;
                const older = backup(["offsite-fetch", first.short_id]);
                expect(older.stdout).toContain("authentik-db-20261101T030000Z-daily.dump");
                const olderDump = (older.stdout.match(/^dump=(.*)$/m) as RegExpMatchArray)[1] as string;
                expect(backup(["restore-db", path.join(backupDir, olderDump)]).status).toBe(0);
                expect(psql("SELECT id, username, attributes::text FROM users ORDER BY id")).toBe(before);
            });

            test("restic 0.17+'s exit codes: 10 creates a remote repository once, 12 is a wrong password, anything else is no reason to create one; a probe gives up after its time", () => {
                const bin = fs.mkdtempSync(path.join(root, "restic-"));
                const log = path.join(bin, "calls.log");
                // What restic 0.18 answers for `cat config` (cmd/restic/global.go, exit codes 10 and 12), as set by the test.
                fs.writeFileSync(
                    path.join(bin, "restic"),
                    `#!/bin/sh\necho "$*" >>"${log}"\ncase "$1" in\ncat) [ -n "$FAKE_SLEEP" ] && sleep "$FAKE_SLEEP"; echo "Fatal: $FAKE_MESSAGE" >&2; exit "$FAKE_CODE" ;;\ninit) exit 0 ;;\nesac\nexit 0\n`,
                    { mode: 0o755 },
                );
                const remote = { RESTIC: path.join(bin, "restic"), OFFSITE_ENV_FILE: "", RESTIC_REPOSITORY: "s3:s3.example.com/bucket/authentik", RESTIC_PASSWORD: PASSWORD };
                const probe = (env: Record<string, string>) => {
                    fs.rmSync(log, { force: true });
                    const result = backup(["startup"], { ...remote, FAKE_SLEEP: "", ...env });
                    return { ...result, calls: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [] };
                };
                const missing = probe({ FAKE_CODE: "10", FAKE_MESSAGE: "repository does not exist: unable to open config file" });
                expect(missing.calls).toEqual(["cat config", "init"]);
                expect(missing.stderr).toContain("initialising the off-site repository");
                // Proven now: the same answer later means the repository is gone, and nothing is created.
                const gone = probe({ FAKE_CODE: "10", FAKE_MESSAGE: "repository does not exist" });
                expect(gone.calls).toEqual(["cat config"]);
                expect(fs.readFileSync(path.join(stateDir, "offsite-last-error"), "utf8")).toContain("the repository this stack used before is gone");
                fs.rmSync(path.join(stateDir, "offsite-proven"));
                const wrong = probe({ FAKE_CODE: "12", FAKE_MESSAGE: "wrong password or no key found" });
                expect(wrong.calls).toEqual(["cat config"]);
                expect(fs.readFileSync(path.join(stateDir, "offsite-last-error"), "utf8")).toContain("wrong password for the repository");
                const unreachable = probe({ FAKE_CODE: "1", FAKE_MESSAGE: "unable to open config file: Get https://s3.example.com: dial tcp: i/o timeout\nIs there a repository at the following location?" });
                expect(unreachable.calls).toEqual(["cat config"]);
                expect(fs.readFileSync(path.join(stateDir, "offsite-last-error"), "utf8")).toContain("the repository cannot be opened (restic exit 1");
                const slow = probe({ FAKE_CODE: "0", FAKE_MESSAGE: "", FAKE_SLEEP: "5", OFFSITE_PROBE_SECONDS: "1" });
                expect(slow.status).toBe(0);
                expect(fs.readFileSync(path.join(stateDir, "offsite-last-error"), "utf8")).toContain("did not answer within 1 s");
            });

            test("the start only probes: a pre-upgrade backup is queued, and pushed by the loop once the container counts as started", () => {
                expect(backup(["startup"], { AUTHENTIK_VERSION: "2026.5.6" }).status).toBe(0);
                const upgrade = backup(["startup"], { AUTHENTIK_VERSION: "2026.8.3" });
                expect(upgrade.status).toBe(0);
                expect(upgrade.stderr).toContain("is queued for the off-site copy, right after the container has started");
                expect(pending()).toEqual([expect.stringMatching(/^\d{8}T\d{6}Z-pre-upgrade-2026\.5\.6-to-2026\.8\.3$/)]);
                expect(snapshots()).toEqual([]);
                expect(backup(["offsite-push"]).status).toBe(0);
                expect(snapshots().map((snapshot) => snapshot.tags.filter((tag) => tag === "pre-upgrade"))).toEqual([["pre-upgrade"]]);
            });

            test("without a repository the off-site commands refuse, and local backups work as before", () => {
                const none = { OFFSITE_ENV_FILE: "" };
                expect(backup(["run"], none).status).toBe(0);
                expect(pending()).toEqual([]);
                for (const command of ["offsite-check", "offsite-snapshots", "offsite-fetch"]) {
                    const result = backup([command], none);
                    expect(result.status).toBe(1);
                    expect(result.stderr).toContain("off-site backups are not configured");
                }
            });
        });
    },
    available,
);
