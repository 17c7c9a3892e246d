/**
 * .ci/run leaves a workstation as it was: run here against stand-ins for apt, dpkg and npm, with the system's files
 * in a scratch folder.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "./harness";

function ci({ installedBefore, existingPolicy = false, uid = 0, sudoUser }: { installedBefore: string[]; existingPolicy?: boolean; uid?: number; sudoUser?: string }) {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "ci-run-"));
    const root = path.join(scratch, "root");
    const bin = path.join(scratch, "bin");
    const log = path.join(scratch, "calls.log");
    fs.mkdirSync(path.join(root, "usr", "sbin"), { recursive: true });
    fs.mkdirSync(bin);
    if (existingPolicy) {
        fs.writeFileSync(path.join(root, "usr", "sbin", "policy-rc.d"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    }
    const stub = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    stub("id", `echo ${uid}`);
    stub("dpkg-query", `case " ${installedBefore.join(" ")} " in *" $3 "*) printf 'install ok installed' ;; *) exit 1 ;; esac`);
    // apt-get records whether services were blocked and whether postgresql would create a cluster while it installs.
    stub(
        "apt-get",
        `echo "apt-get $*" >>"${log}"; [ "$1" = install ] || exit 0
policy="${root}/usr/sbin/policy-rc.d"
if [ -x "$policy" ] && ! "$policy"; then echo "services blocked" >>"${log}"; fi
if grep -qs 'create_main_cluster = false' "${root}"/etc/postgresql-common/createcluster.d/*.conf; then echo "no main cluster" >>"${log}"; fi`,
    );
    // npm pack of Renovate: a package whose schema names its version, as the real one does.
    stub(
        "npm",
        `echo "npm $*" >>"${log}"
if [ "$1" = pack ]; then
    version=\${3#renovate@}
    mkdir -p package && printf '{"x-renovate-version": "%s"}\\n' "$version" >package/renovate-schema.json && tar -czf "renovate-$version.tgz" package
fi`,
    );
    stub("node", "echo v20.0.0");
    stub("sudo", `echo "sudo $1 $2" >>"${log}"; shift 2; exec "$@"`);
    const result = spawnSync("bash", [path.join(REPO_ROOT, ".ci", "run")], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, CI_SYSTEM_ROOT: root, RENOVATE_SCHEMA_TARGET: path.join(scratch, "renovate-schema.json"), SUDO_USER: sudoUser ?? "" } });
    const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
    return { result, calls, root, schema: path.join(scratch, "renovate-schema.json") };
}

test("a fresh machine: no service starts during the install, no PostgreSQL cluster, cloud-init disabled, policy removed", () => {
    const { result, calls, root, schema } = ci({ installedBefore: [] });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    // Renovate's schema comes from the pinned package, whatever the machine had cached.
    expect(calls).toContain(`npm pack --silent renovate@${/RENOVATE_VERSION=(\S+)/.exec(fs.readFileSync(path.join(REPO_ROOT, "scripts", "fetch-renovate-schema.sh"), "utf8"))?.[1]}`);
    expect(JSON.parse(fs.readFileSync(schema, "utf8"))).toHaveProperty("x-renovate-version");
    expect(calls).toEqual(
        expect.arrayContaining(["services blocked", "no main cluster", "npm ci --no-audit --no-fund", "npm run lint", "npm test"]),
    );
    expect(calls.indexOf("services blocked")).toBeLessThan(calls.indexOf("npm ci --no-audit --no-fund"));
    expect(fs.existsSync(path.join(root, "etc", "cloud", "cloud-init.disabled"))).toBe(true);
    expect(fs.existsSync(path.join(root, "usr", "sbin", "policy-rc.d"))).toBe(false);
    // The no-cluster setting held for this install only: a later PostgreSQL install of your own gets the defaults.
    expect(fs.readdirSync(path.join(root, "etc", "postgresql-common", "createcluster.d"))).toEqual([]);
    expect(fs.existsSync(path.join(root, "etc", "postgresql-common", "createcluster.conf"))).toBe(false);
    // Installed packages are not upgraded on the way.
    expect(calls.find((call) => call.startsWith("apt-get install"))).toContain("--no-upgrade");
});

test("a machine that already had cloud-init and PostgreSQL keeps them as they were", () => {
    const { result, calls, root } = ci({ installedBefore: ["cloud-init", "postgresql-common"] });
    expect(result.status).toBe(0);
    expect(fs.existsSync(path.join(root, "etc", "cloud", "cloud-init.disabled"))).toBe(false);
    expect(fs.existsSync(path.join(root, "etc", "postgresql-common", "createcluster.conf"))).toBe(false);
    // A server package this install adds (postgresql-common was there without one) still gets no cluster.
    expect(calls).toContain("no main cluster");
    expect(fs.readdirSync(path.join(root, "etc", "postgresql-common", "createcluster.d"))).toEqual([]);
});

test("under sudo, npm runs as the user who called it: node_modules stays theirs", () => {
    const { result, calls } = ci({ installedBefore: [], sudoUser: "alice" });
    expect(result.status).toBe(0);
    const npmCalls = calls.filter((call) => (call.startsWith("npm ") && call !== "npm --version") || call.startsWith("sudo "));
    expect(npmCalls.slice(0, 2)).toEqual(["sudo -u alice", "npm ci --no-audit --no-fund"]);
    expect(npmCalls.filter((call) => call === "sudo -u alice")).toHaveLength(4);
});

test("an existing policy-rc.d is neither replaced nor removed", () => {
    const { result, root } = ci({ installedBefore: [], existingPolicy: true });
    expect(result.status).toBe(0);
    expect(fs.readFileSync(path.join(root, "usr", "sbin", "policy-rc.d"), "utf8")).toBe("#!/bin/sh\nexit 0\n");
});

test("without root it says so and changes nothing", () => {
    const { result, calls } = ci({ installedBefore: [], uid: 1000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("run it as root (sudo bash .ci/run)");
    expect(calls).toEqual([]);
});
