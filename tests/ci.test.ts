/**
 * .ci/run leaves a workstation as it was: run here against stand-ins for apt, dpkg and npm, with the system's files
 * in a scratch folder.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "./harness";

function ci({ installedBefore, existingPolicy = false, uid = 0 }: { installedBefore: string[]; existingPolicy?: boolean; uid?: number }) {
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
if grep -q 'create_main_cluster = false' "${root}/etc/postgresql-common/createcluster.conf" 2>/dev/null; then echo "no main cluster" >>"${log}"; fi`,
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
    const result = spawnSync("bash", [path.join(REPO_ROOT, ".ci", "run")], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, CI_SYSTEM_ROOT: root, RENOVATE_SCHEMA_TARGET: path.join(scratch, "renovate-schema.json") } });
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
});

test("a machine that already had cloud-init and PostgreSQL keeps them as they were", () => {
    const { result, calls, root } = ci({ installedBefore: ["cloud-init", "postgresql-common"] });
    expect(result.status).toBe(0);
    expect(fs.existsSync(path.join(root, "etc", "cloud", "cloud-init.disabled"))).toBe(false);
    expect(fs.existsSync(path.join(root, "etc", "postgresql-common", "createcluster.conf"))).toBe(false);
    expect(calls).not.toContain("no main cluster");
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
