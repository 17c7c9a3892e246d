/** The readiness check the Docker provider waits for, run against stand-ins for cloud-init, sudo and getent. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readinessScript, sshOptions } from "../lib/dockerHostPlan";

function host({ cloudInitExit = 0, dockerGroup = "docker:x:999:authentik" }: { cloudInitExit?: number; dockerGroup?: string }) {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-vm-"));
    const tool = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    tool("cloud-init", `[ "$2" = "--long" ] && echo "status: error"; exit ${cloudInitExit}`);
    tool("sudo", 'shift; exec "$@"');
    tool("docker", "exit 0");
    tool("getent", `echo "${dockerGroup}"`);
    tool("id", "echo authentik");
    tool("timeout", 'shift; exec "$@"');
    return spawnSync("sh", ["-c", readinessScript(900)], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
}

test("ready once cloud-init is done, docker answers and the user is in the docker group", () => {
    const result = host({});
    expect(result.stdout.trim()).toBe("ready");
    expect(result.status).toBe(0);
});

test("cloud-init done with recoverable errors (exit 2) still counts as done", () => {
    expect(host({ cloudInitExit: 2 }).status).toBe(0);
});

test("a failed cloud-init fails the check with its status", () => {
    const result = host({ cloudInitExit: 1 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("cloud-init did not finish (exit 1)");
    expect(result.stderr).toContain("status: error");
});

test("a user outside the docker group fails the check: the provider runs docker without sudo", () => {
    const result = host({ dockerGroup: "docker:x:999:someoneelse,authentikx" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("authentik is not in the docker group");
});

test("ssh options: time-outs, keep-alives, no prompts, host keys trusted on first use only", () => {
    const options = sshOptions().filter((_, index) => index % 2 === 1);
    expect(options).toEqual(["ConnectTimeout=10", "ConnectionAttempts=6", "ServerAliveInterval=15", "ServerAliveCountMax=4", "StrictHostKeyChecking=accept-new", "BatchMode=yes"]);
});
