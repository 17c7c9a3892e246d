/**
 * scripts/authentik-backup.sh against a real PostgreSQL server: back up, destroy, restore and compare row by
 * row; retention; failing and truncated dumps; the pre-upgrade dump; the health check. Every case runs twice:
 * under dash with GNU tools, and under busybox, as in the Alpine-based PostgreSQL image the backup container uses.
 */
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "./harness";
import { TestPostgres, findPostgresBinDir, startPostgres } from "./postgres";
import { backupShells, shellPath } from "./shells";
import { describeWithTool, hasCommand } from "./tools";

const SCRIPT = path.join(REPO_ROOT, "scripts", "authentik-backup.sh");
const available = findPostgresBinDir() !== undefined && hasCommand("pg_dump") && hasCommand("pg_restore");

describeWithTool(
    "postgresql",
    "backup and restore against a real PostgreSQL",
    () => {
        let pg: TestPostgres;
        beforeAll(async () => {
            pg = await startPostgres();
        });
        afterAll(() => pg?.stop());

        const psql = (sql: string, env: Record<string, string> = pg.env) =>
            execFileSync(path.join(pg.binDir, "psql"), ["-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], { env: { ...process.env, ...env, PGOPTIONS: "-c client_min_messages=warning" }, encoding: "utf8" });

        describe.each(backupShells())("$name", (shell) => {
            let root: string;
            let backupDir: string;
            let filesRoot: string;
            let stateDir: string;
            let marker: string;

            beforeEach(() => {
                root = fs.mkdtempSync(path.join(os.tmpdir(), "authentik-backup-"));
                backupDir = path.join(root, "backups");
                filesRoot = path.join(root, "sources");
                stateDir = path.join(backupDir, ".state");
                marker = path.join(root, "started");
                for (const folder of ["media/public", "certs", "templates"]) {
                    fs.mkdirSync(path.join(filesRoot, folder), { recursive: true });
                }
                fs.writeFileSync(path.join(filesRoot, "media/public/logo.svg"), "<svg>original</svg>");
                fs.writeFileSync(path.join(filesRoot, "certs/tls.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n");
                fs.writeFileSync(path.join(filesRoot, "templates/login.html"), "<html>{{ custom }}</html>");
                psql("DROP TABLE IF EXISTS users, sessions CASCADE");
                psql("CREATE TABLE users (id serial PRIMARY KEY, username text NOT NULL UNIQUE, email text, attributes jsonb)");
                psql("CREATE TABLE sessions (key text PRIMARY KEY, user_id int REFERENCES users(id), expires timestamptz)");
                psql(
                    "INSERT INTO users (username, email, attributes) SELECT 'user' || i, 'user' || i || '@example.com', jsonb_build_object('n', i, 'name', 'Jürgen ' || i) FROM generate_series(1, 250) AS i",
                );
                psql("INSERT INTO sessions SELECT md5(i::text), i, '2030-01-01'::timestamptz + i * interval '1 minute' FROM generate_series(1, 100) AS i");
            });
            afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

            function backup(args: string[], env: Record<string, string> = {}) {
                const pathVar = shellPath(shell);
                const [binary, ...shellArgs] = shell.command as [string, ...string[]];
                return spawnSync(binary, [...shellArgs, SCRIPT, ...args], {
                    encoding: "utf8",
                    env: { ...process.env, ...pg.env, PATH: pathVar, BACKUP_DIR: backupDir, FILES_ROOT: filesRoot, STATE_DIR: stateDir, STARTED_MARKER: marker, RETENTION_DAYS: "7", ...env },
                });
            }

            function backups(): string[] {
                return fs.existsSync(backupDir) ? fs.readdirSync(backupDir).filter((name) => name.startsWith("authentik-")).sort() : [];
            }

            function snapshot(): string {
                return psql("SELECT u.id, u.username, u.email, u.attributes::text, s.key, s.expires FROM users u LEFT JOIN sessions s ON s.user_id = u.id ORDER BY u.id");
            }

            function digest(file: string): string {
                return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
            }

            test("back up, destroy, restore: every row and every file comes back", () => {
                const before = snapshot();
                const result = backup(["run"]);
                expect(result.stderr).toContain("done");
                expect(result.status).toBe(0);
                const [dump, archive] = [backups().find((name) => name.endsWith("-daily.dump")), backups().find((name) => name.endsWith("-daily.tar.gz"))];
                expect(dump).toMatch(/^authentik-db-\d{8}T\d{6}Z-daily\.dump$/);
                expect(archive).toMatch(/^authentik-files-\d{8}T\d{6}Z-daily\.tar\.gz$/);
                expect(fs.readdirSync(backupDir).filter((name) => name.startsWith(".partial"))).toEqual([]);
                expect(fs.statSync(path.join(backupDir, String(dump))).mode & 0o077).toBe(0);

                psql("DELETE FROM sessions WHERE user_id % 2 = 0");
                psql("UPDATE users SET email = 'attacker@example.com'");
                psql("DROP TABLE sessions");
                // What a failed migration might leave behind: it must not survive the restore.
                psql("CREATE TABLE migration_leftover (id int)");
                expect(psql("SELECT count(*) FROM users WHERE email = 'attacker@example.com'")).toBe("250\n");
                fs.writeFileSync(path.join(filesRoot, "media/public/logo.svg"), "<svg>defaced</svg>");
                fs.rmSync(path.join(filesRoot, "certs/tls.pem"));
                fs.writeFileSync(path.join(filesRoot, "templates/stray.html"), "not in the backup");

                const restoreDb = backup(["restore-db", path.join(backupDir, String(dump))]);
                expect(restoreDb.stderr).toContain("database restored");
                expect(restoreDb.status).toBe(0);
                const restoreFiles = backup(["restore-files", path.join(backupDir, String(archive))]);
                expect(restoreFiles.status).toBe(0);

                expect(snapshot()).toBe(before);
                expect(psql("SELECT count(*) FROM users")).toBe("250\n");
                expect(psql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'")).toBe("sessions,users\n");
                expect(fs.readFileSync(path.join(filesRoot, "media/public/logo.svg"), "utf8")).toBe("<svg>original</svg>");
                expect(fs.readFileSync(path.join(filesRoot, "certs/tls.pem"), "utf8")).toBe("-----BEGIN CERTIFICATE-----\nMIIB\n");
                expect(fs.existsSync(path.join(filesRoot, "templates/stray.html"))).toBe(false);
                // The sequence continues after the restored rows.
                expect(psql("INSERT INTO users (username) VALUES ('new') RETURNING id")).toBe("251\n");
            });

            test("a restore from an unreadable file changes nothing", () => {
                const before = snapshot();
                const bogus = path.join(root, "bogus.dump");
                fs.writeFileSync(bogus, "PGDMP but not really");
                const result = backup(["restore-db", bogus]);
                expect(result.status).not.toBe(0);
                expect(result.stderr).toContain("not a readable pg_dump archive");
                expect(snapshot()).toBe(before);
            });

            test("an archive that cannot be unpacked leaves the files as they were", () => {
                const broken = path.join(root, "authentik-files-broken.tar.gz");
                execFileSync("sh", ["-c", `printf 'not a tar archive' | gzip > ${broken}`]);
                const result = backup(["restore-files", broken]);
                expect(result.status).not.toBe(0);
                expect(result.stderr).toContain("the files were left as they were");
                expect(fs.readFileSync(path.join(filesRoot, "media/public/logo.svg"), "utf8")).toBe("<svg>original</svg>");
                expect(fs.readFileSync(path.join(filesRoot, "certs/tls.pem"), "utf8")).toContain("BEGIN CERTIFICATE");
            });

            test("a recorded failure is retried when the container starts, so it does not block the next deploy", () => {
                fs.mkdirSync(stateDir, { recursive: true });
                fs.writeFileSync(path.join(stateDir, "last-failure"), "1700000000");
                const started = backup(["startup"]);
                expect(started.stderr).toContain("the last backup failed; retrying now");
                expect(started.status).toBe(0);
                expect(backups().filter((name) => name.endsWith("-retry.dump"))).toHaveLength(1);
                expect(backup(["health"]).status).toBe(0);

                fs.writeFileSync(path.join(stateDir, "last-failure"), "1700000000");
                expect(backup(["startup"], { PGPASSWORD: "wrong-password" }).stderr).toContain("the retry failed too");
                expect(backup(["health"]).status).toBe(1);

                expect(backup(["startup"], { BACKUP_TIME: "off", PGPASSWORD: "wrong-password" }).status).toBe(0);
                expect(backup(["health"], { BACKUP_TIME: "off" }).status).toBe(0);
            });

            test("a failing dump leaves older backups untouched and is reported", () => {
                expect(backup(["run"]).status).toBe(0);
                const kept = backups();
                const digests = kept.map((name) => digest(path.join(backupDir, name)));
                const result = backup(["run"], { PGPASSWORD: "wrong-password" });
                expect(result.status).not.toBe(0);
                expect(result.stderr).toContain("FAILED: pg_dump exited with an error; older backups were left untouched");
                expect(backups()).toEqual(kept);
                expect(kept.map((name) => digest(path.join(backupDir, name)))).toEqual(digests);
                expect(fs.readdirSync(backupDir).filter((name) => name.startsWith(".partial"))).toEqual([]);
                fs.writeFileSync(marker, String(Math.floor(Date.now() / 1000)));
                const health = backup(["health"]);
                expect(health.status).toBe(1);
                expect(health.stdout).toContain("the last backup failed");
            });

            test("a dump cut short is refused, not kept", () => {
                expect(backup(["run"]).status).toBe(0);
                const kept = backups();
                // A pg_dump that writes half an archive and still exits 0.
                const fakeBin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-pg-dump-"));
                fs.writeFileSync(path.join(fakeBin, "pg_dump"), '#!/bin/sh\nfor a in "$@"; do case "$a" in --file=*) printf "PGDMP\\001\\016" > "${a#--file=}";; esac; done\nexit 0\n', { mode: 0o755 });
                const pathVar = shellPath(shell, fakeBin);
                const result = backup(["run"], { PATH: pathVar });
                expect(result.status).not.toBe(0);
                expect(result.stderr).toContain("the new dump is unreadable");
                expect(backups()).toEqual(kept);
            });

            test("retention deletes only backups older than RETENTION_DAYS, and never the newest one", () => {
                fs.mkdirSync(backupDir, { recursive: true });
                const make = (name: string, daysAgo: number) => {
                    const file = path.join(backupDir, name);
                    fs.writeFileSync(file, name);
                    const time = new Date(Date.now() - daysAgo * 86400 * 1000);
                    fs.utimesSync(file, time, time);
                };
                make("authentik-db-20250101T030000Z-daily.dump", 30);
                make("authentik-files-20250101T030000Z-daily.tar.gz", 30);
                make("authentik-db-20250110T030000Z-daily.dump", 8);
                make("authentik-db-20250112T030000Z-daily.dump", 6.9);
                make("authentik-files-20250112T030000Z-daily.tar.gz", 1);
                make("notes.txt", 400);
                expect(backup(["prune"]).status).toBe(0);
                expect(fs.readdirSync(backupDir).sort()).toEqual(["authentik-db-20250112T030000Z-daily.dump", "authentik-files-20250112T030000Z-daily.tar.gz", "notes.txt"]);

                // Only old backups left: the newest of each kind stays, whatever its age.
                fs.rmSync(path.join(backupDir, "authentik-db-20250112T030000Z-daily.dump"));
                make("authentik-db-20250105T030000Z-daily.dump", 20);
                make("authentik-db-20250106T030000Z-daily.dump", 19);
                expect(backup(["prune"]).status).toBe(0);
                expect(backups()).toEqual(["authentik-db-20250106T030000Z-daily.dump", "authentik-files-20250112T030000Z-daily.tar.gz"]);
            });

            test("a successful run prunes; a failed one does not", () => {
                fs.mkdirSync(backupDir, { recursive: true });
                const old = path.join(backupDir, "authentik-db-20240101T030000Z-daily.dump");
                fs.writeFileSync(old, "old");
                const time = new Date(Date.now() - 40 * 86400 * 1000);
                fs.utimesSync(old, time, time);
                const newerOld = path.join(backupDir, "authentik-db-20240102T030000Z-daily.dump");
                fs.writeFileSync(newerOld, "old too");
                fs.utimesSync(newerOld, time, time);
                expect(backup(["run"], { PGPASSWORD: "wrong-password" }).status).not.toBe(0);
                expect(fs.existsSync(old)).toBe(true);
                expect(backup(["run"]).status).toBe(0);
                expect(fs.existsSync(old)).toBe(false);
                expect(fs.existsSync(newerOld)).toBe(false);
            });

            test("startup takes a pre-upgrade dump when the version changes, once, and only then reports healthy", () => {
                const first = backup(["startup"], { AUTHENTIK_VERSION: "2025.6.3" });
                expect(first.status).toBe(0);
                expect(backups()).toEqual([]);
                expect(fs.readFileSync(path.join(stateDir, "authentik-version"), "utf8").trim()).toBe("2025.6.3");
                expect(backup(["health"]).status).toBe(0);

                const upgrade = backup(["startup"], { AUTHENTIK_VERSION: "2025.8.1" });
                expect(upgrade.status).toBe(0);
                expect(backups().filter((name) => name.includes("pre-upgrade-2025.6.3-to-2025.8.1"))).toHaveLength(2);
                expect(fs.readFileSync(path.join(stateDir, "authentik-version"), "utf8").trim()).toBe("2025.8.1");

                expect(backup(["startup"], { AUTHENTIK_VERSION: "2025.8.1" }).status).toBe(0);
                expect(backups().filter((name) => name.includes("pre-upgrade"))).toHaveLength(2);
            });

            test("a failed pre-upgrade dump keeps the container unhealthy and the recorded version", () => {
                expect(backup(["startup"], { AUTHENTIK_VERSION: "2025.6.3" }).status).toBe(0);
                const result = backup(["startup"], { AUTHENTIK_VERSION: "2025.8.1", PGPASSWORD: "wrong-password" });
                expect(result.status).not.toBe(0);
                expect(result.stderr).toContain("pre-upgrade dump failed; authentik stays at 2025.6.3");
                expect(fs.readFileSync(path.join(stateDir, "authentik-version"), "utf8").trim()).toBe("2025.6.3");
                const health = backup(["health"]);
                expect(health.status).toBe(1);
                expect(health.stdout).toContain("starting");
            });

            test("health: healthy after a recent success, unhealthy when the daily backup is overdue", () => {
                expect(backup(["startup"]).status).toBe(0);
                expect(backup(["health"]).stdout.trim()).toBe("ok");
                const dayAndMore = String(2 * 86400);
                fs.writeFileSync(marker, String(Math.floor(Date.now() / 1000) - Number(dayAndMore)));
                const overdue = backup(["health"], { MAX_AGE_SECONDS: "93600" });
                expect(overdue.status).toBe(1);
                expect(overdue.stdout).toContain("no successful backup");
                expect(backup(["run"]).status).toBe(0);
                expect(backup(["health"]).status).toBe(0);
                expect(backup(["health"], { BACKUP_TIME: "off" }).status).toBe(0);
            });

            test("ready VERSION: only once started for that version, i.e. after its pre-upgrade dump", () => {
                expect(backup(["ready", "2026.8.3"]).stdout).toContain("still starting");
                expect(backup(["startup"], { AUTHENTIK_VERSION: "2026.5.6" }).status).toBe(0);
                const older = backup(["ready", "2026.8.3"]);
                expect(older.status).toBe(1);
                expect(older.stdout).toContain("started for authentik 2026.5.6, not 2026.8.3");
                expect(backup(["startup"], { AUTHENTIK_VERSION: "2026.8.3" }).status).toBe(0);
                const ready = backup(["ready", "2026.8.3"]);
                expect(ready.stdout.trim()).toBe("ready for authentik 2026.8.3");
                expect(ready.status).toBe(0);
                // The pre-upgrade dump came first.
                expect(backups().filter((name) => name.includes("pre-upgrade-2026.5.6-to-2026.8.3"))).toHaveLength(2);
                // A failed pre-upgrade dump never makes it ready.
                const failed = backup(["startup"], { AUTHENTIK_VERSION: "2026.11.0", PGPASSWORD: "wrong-password" });
                expect(failed.status).not.toBe(0);
                expect(backup(["ready", "2026.11.0"]).status).toBe(1);
            });

            test("retention never deletes pre-upgrade or hand-labelled backups: a rollback needs them", () => {
                fs.mkdirSync(backupDir, { recursive: true });
                const make = (name: string, daysAgo: number) => {
                    const file = path.join(backupDir, name);
                    fs.writeFileSync(file, name);
                    const time = new Date(Date.now() - daysAgo * 86400 * 1000);
                    fs.utimesSync(file, time, time);
                };
                make("authentik-db-20250101T030000Z-pre-upgrade-2025.6.3-to-2025.8.1.dump", 60);
                make("authentik-files-20250101T030000Z-pre-upgrade-2025.6.3-to-2025.8.1.tar.gz", 60);
                make("authentik-db-20250102T030000Z-before-postgres-major.dump", 50);
                make("authentik-db-20250103T030000Z-retry.dump", 40);
                make("authentik-db-20250104T030000Z-daily.dump", 30);
                make("authentik-db-20250120T030000Z-daily.dump", 1);
                expect(backup(["prune"]).status).toBe(0);
                expect(backups()).toEqual([
                    "authentik-db-20250101T030000Z-pre-upgrade-2025.6.3-to-2025.8.1.dump",
                    "authentik-db-20250102T030000Z-before-postgres-major.dump",
                    "authentik-db-20250120T030000Z-daily.dump",
                    "authentik-files-20250101T030000Z-pre-upgrade-2025.6.3-to-2025.8.1.tar.gz",
                ]);
            });

            test("startup removes the partial files of a run that was killed", () => {
                fs.mkdirSync(backupDir, { recursive: true });
                fs.writeFileSync(path.join(backupDir, ".partial-20250101T030000Z.dump"), "half a dump");
                fs.writeFileSync(path.join(backupDir, ".partial-20250101T030000Z.tar.gz"), "half an archive");
                expect(backup(["startup"]).status).toBe(0);
                expect(fs.readdirSync(backupDir).filter((name) => name.startsWith(".partial"))).toEqual([]);
            });

            test("a files archive from before 2025.12 restores into data/media of a 2025.12+ layout", () => {
                expect(backup(["run"]).status).toBe(0);
                const archive = backups().find((name) => name.endsWith("-daily.tar.gz"));
                // The stack moved to 2025.12: the backup container now mounts the data root, not the media folder.
                fs.rmSync(path.join(filesRoot, "media"), { recursive: true });
                fs.mkdirSync(path.join(filesRoot, "data", "media"), { recursive: true });
                fs.mkdirSync(path.join(filesRoot, "data", "reports"));
                fs.writeFileSync(path.join(filesRoot, "data", "reports", "export.csv"), "a,b");
                const result = backup(["restore-files", path.join(backupDir, String(archive))]);
                expect(result.status).toBe(0);
                expect(fs.readFileSync(path.join(filesRoot, "data", "media", "public", "logo.svg"), "utf8")).toBe("<svg>original</svg>");
                expect(fs.existsSync(path.join(filesRoot, "media"))).toBe(false);
                // What the archive does not hold stays.
                expect(fs.readFileSync(path.join(filesRoot, "data", "reports", "export.csv"), "utf8")).toBe("a,b");
            });

            test("bad settings are refused with a message", () => {
                expect(backup(["prune"], { RETENTION_DAYS: "seven" }).stderr).toContain("RETENTION_DAYS must be a whole number of days, got 'seven'");
                expect(backup(["startup"], { BACKUP_TIME: "3am" }).stderr).toContain("BACKUP_TIME must be HH:MM or off, got '3am'");
                expect(backup(["run", "../escape"]).stderr).toContain("may hold only letters");
                expect(backup(["bogus"]).status).toBe(2);
            });
        });
    },
    available,
);
