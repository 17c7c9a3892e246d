/** A throwaway PostgreSQL server from Debian's packages, on loopback, for the backup and restore tests. */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export interface TestPostgres {
    env: Record<string, string>;
    superuserEnv: Record<string, string>;
    binDir: string;
    stop(): void;
}

export function findPostgresBinDir(): string | undefined {
    const root = "/usr/lib/postgresql";
    if (!fs.existsSync(root)) {
        return undefined;
    }
    const versions = fs
        .readdirSync(root)
        .filter((version) => fs.existsSync(path.join(root, version, "bin", "pg_ctl")))
        .sort((a, b) => Number(b) - Number(a));
    return versions[0] !== undefined ? path.join(root, versions[0], "bin") : undefined;
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address() as net.AddressInfo;
            server.close(() => resolve(address.port));
        });
    });
}

/** initdb refuses to run as root: run the server as the postgres user then. */
function serverCommand(binDir: string, tool: string, args: string[]): [string, string[]] {
    const binary = path.join(binDir, tool);
    return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", binary, ...args]] : [binary, args];
}

function run(binDir: string, tool: string, args: string[]): void {
    const [command, commandArgs] = serverCommand(binDir, tool, args);
    execFileSync(command, commandArgs, { stdio: "pipe" });
}

export async function startPostgres(): Promise<TestPostgres> {
    const binDir = findPostgresBinDir();
    if (!binDir) {
        throw new Error("no PostgreSQL server under /usr/lib/postgresql");
    }
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "authentik-pg-"));
    fs.chmodSync(root, 0o755);
    const dataDir = path.join(root, "data");
    const socketDir = path.join(root, "socket");
    fs.mkdirSync(dataDir, { mode: 0o700 });
    fs.mkdirSync(socketDir, { mode: 0o755 });
    const superPassword = "superuser-password-for-tests";
    const pwFile = path.join(root, "pwfile");
    fs.writeFileSync(pwFile, `${superPassword}\n`, { mode: 0o644 });
    if (process.getuid?.() === 0) {
        const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
        const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
        for (const item of [root, dataDir, socketDir, pwFile]) {
            fs.chownSync(item, uid, gid);
        }
    }
    run(binDir, "initdb", ["-D", dataDir, "-U", "postgres", "--auth=scram-sha-256", `--pwfile=${pwFile}`, "-E", "UTF8", "--no-locale"]);
    const port = await freePort();
    run(binDir, "pg_ctl", ["-D", dataDir, "-w", "-l", path.join(root, "server.log"), "-o", `-k ${socketDir} -p ${port} -c listen_addresses=127.0.0.1`, "start"]);

    const superuserEnv = { PGHOST: "127.0.0.1", PGPORT: String(port), PGUSER: "postgres", PGPASSWORD: superPassword, PGDATABASE: "postgres" };
    const appPassword = "authentik-password-for-tests";
    const psql = (sql: string) => execFileSync(path.join(binDir, "psql"), ["-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], { env: { ...process.env, ...superuserEnv }, encoding: "utf8" });
    psql(`CREATE ROLE authentik LOGIN PASSWORD '${appPassword}'`);
    psql("CREATE DATABASE authentik OWNER authentik ENCODING 'UTF8'");

    return {
        binDir,
        superuserEnv,
        env: { PGHOST: "127.0.0.1", PGPORT: String(port), PGUSER: "authentik", PGPASSWORD: appPassword, PGDATABASE: "authentik" },
        stop: () => {
            const [command, args] = serverCommand(binDir, "pg_ctl", ["-D", dataDir, "-m", "immediate", "stop"]);
            spawnSync(command, args, { stdio: "pipe" });
            fs.rmSync(root, { recursive: true, force: true });
        },
    };
}
