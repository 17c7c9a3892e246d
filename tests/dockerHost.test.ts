/** The readiness check the Docker provider waits for, run against stand-ins for cloud-init, sudo and getent; ssh options. */
import { execFile, execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { Server } from "ssh2";
import { readinessScript, sshOptions } from "../lib/dockerHostPlan";
import { describeWithTool } from "./tools";

/** `dockerAnswersAt`: the attempt at which `docker info` first succeeds (Infinity: never). Pauses go to `<bin>/sleeps`. */
function host({ cloudInitExit = 0, dockerGroup = "docker:x:999:authentik", dockerAnswersAt = 1 }: { cloudInitExit?: number; dockerGroup?: string; dockerAnswersAt?: number }) {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-vm-"));
    const tool = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    tool("cloud-init", `[ "$2" = "--long" ] && echo "status: error"; exit ${cloudInitExit}`);
    tool("sudo", 'shift; exec "$@"');
    tool("tail", 'echo "E: Unable to locate package docker-ce"');
    const attempts = path.join(bin, "docker-attempts");
    const answerAt = Number.isFinite(dockerAnswersAt) ? dockerAnswersAt : 1_000_000;
    tool("docker", `echo x >> "${attempts}"; [ "$(wc -l < "${attempts}")" -ge ${answerAt} ]`);
    tool("sleep", `echo "$1" >> "${path.join(bin, "sleeps")}"`);
    tool("getent", `echo "${dockerGroup}"`);
    tool("id", "echo authentik");
    tool("timeout", 'shift; exec "$@"');
    const result = spawnSync("sh", ["-c", readinessScript(900)], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    const lines = (file: string) => (fs.existsSync(path.join(bin, file)) ? fs.readFileSync(path.join(bin, file), "utf8").split("\n").filter(Boolean) : []);
    return { ...result, dockerAttempts: lines("docker-attempts").length, sleeps: lines("sleeps") };
}

test("ready once cloud-init is done, docker answers and the user is in the docker group", () => {
    const result = host({});
    expect(result.stdout.trim()).toBe("ready");
    expect(result.status).toBe(0);
});

test("cloud-init done with recoverable errors (exit 2) still counts as done", () => {
    expect(host({ cloudInitExit: 2 }).status).toBe(0);
});

test("a failed cloud-init fails the check with its status and the end of its output log", () => {
    const result = host({ cloudInitExit: 1 });
    expect(result.status).toBe(1);
    expect(result.stderr.split("\n").filter(Boolean)).toEqual([
        "status: error",
        "--- last lines of /var/log/cloud-init-output.log:",
        "E: Unable to locate package docker-ce",
        "cloud-init did not finish (exit 1)",
    ]);
    expect(result.dockerAttempts).toBe(0);
});

test("docker is asked again every 5 s until it answers", () => {
    const result = host({ dockerAnswersAt: 3 });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe("ready");
    expect(result.dockerAttempts).toBe(3);
    expect(result.sleeps).toEqual(["5", "5"]);
});

test("docker that never answers fails the check after 30 attempts, 29 pauses of 5 s apart", () => {
    const result = host({ dockerAnswersAt: Infinity });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.trim()).toBe("docker did not answer after cloud-init finished");
    expect(result.dockerAttempts).toBe(30);
    expect(result.sleeps).toEqual(Array(29).fill("5"));
});

test("a user outside the docker group fails the check: the provider runs docker without sudo", () => {
    const result = host({ dockerGroup: "docker:x:999:someoneelse,authentikx" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("authentik is not in the docker group");
});

test("ssh options: time-outs, keep-alives, no prompts, only the pinned host key, extra options last", () => {
    const options = sshOptions({ address: "192.0.2.10", hostPublicKey: "ssh-ed25519 AAAAkey", extra: ["-o", "ProxyJump=jump"] });
    expect(options.filter((_, index) => index % 2 === 0).every((flag) => flag === "-o")).toBe(true);
    expect(options.filter((_, index) => index % 2 === 1)).toEqual([
        "ConnectTimeout=10",
        "ConnectionAttempts=6",
        "ServerAliveInterval=15",
        "ServerAliveCountMax=4",
        "StrictHostKeyChecking=yes",
        "UserKnownHostsFile=/dev/null",
        "GlobalKnownHostsFile=/dev/null",
        "KnownHostsCommand=/bin/echo 192.0.2.10 ssh-ed25519 AAAAkey",
        "BatchMode=yes",
        "ProxyJump=jump",
    ]);
});

describeWithTool("ssh-keygen", "OpenSSH with these options against an SSH server on 127.0.0.1", () => {
    let dir: string;
    let server: Server;
    let port: number;
    let hostPublicKey: string;
    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pinned-host-key-"));
        for (const name of ["host", "other", "client"]) {
            execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path.join(dir, name)]);
        }
        hostPublicKey = fs.readFileSync(path.join(dir, "host.pub"), "utf8").trim();
        server = new Server({ hostKeys: [fs.readFileSync(path.join(dir, "host"))] }, (client) => {
            client.on("authentication", (context) => context.accept());
            client.on("ready", () => {
                client.on("session", (accept) => {
                    accept().once("exec", (acceptExec) => {
                        const stream = acceptExec();
                        stream.write("connected\n");
                        stream.exit(0);
                        stream.end();
                    });
                });
            });
            client.on("error", () => undefined);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        port = (server.address() as AddressInfo).port;
    });
    afterAll(() => server?.close());

    /** ssh as the Docker provider runs it: our options, each one argument, then the host. */
    function connect(pinnedKey: string, home: string = dir): Promise<{ code: number; stdout: string; stderr: string }> {
        const options = sshOptions({ address: `[127.0.0.1]:${port}`, hostPublicKey: pinnedKey });
        const args = [...options, "-p", String(port), "-i", path.join(dir, "client"), "-o", "IdentitiesOnly=yes", "authentik@127.0.0.1", "docker system dial-stdio"];
        return new Promise((resolve) => {
            execFile("ssh", args, { env: { PATH: process.env.PATH ?? "", HOME: home }, timeout: 20000 }, (error, stdout, stderr) =>
                resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
            );
        });
    }

    test("connects when the server presents the pinned key", async () => {
        const result = await connect(hostPublicKey);
        expect(result.stdout).toBe("connected\n");
        expect(result.code).toBe(0);
    });

    test("refuses any other key: no trust on first use", async () => {
        const result = await connect(fs.readFileSync(path.join(dir, "other.pub"), "utf8").trim());
        expect(result.code).toBe(255);
        expect(result.stderr).toContain("Host key verification failed");
        expect(result.stdout).toBe("");
    });

    test("a stale known_hosts entry for the address (an earlier VM) does not get in the way", async () => {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "stale-home-"));
        fs.mkdirSync(path.join(home, ".ssh"));
        fs.writeFileSync(path.join(home, ".ssh", "known_hosts"), `[127.0.0.1]:${port} ${fs.readFileSync(path.join(dir, "other.pub"), "utf8")}`);
        const result = await connect(hostPublicKey, home);
        expect(result.stdout).toBe("connected\n");
        expect(result.code).toBe(0);
    });
});
