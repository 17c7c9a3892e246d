/**
 * Which engine "the local Docker engine" is: the docker CLI follows its current context (rootless Docker, Docker
 * Desktop on Linux, Colima), the Docker provider does not; the program gives the provider what the CLI uses.
 */
import { DEFAULT_DOCKER_SOCKET, localDockerEndpoint } from "../lib/dockerEndpoint";
import { byName, loadStackFile, runProgram } from "./harness";

const answering = (stdout: string, status = 0) => {
    const calls: string[][] = [];
    const run = (command: string, args: readonly string[]) => {
        calls.push([command, ...args]);
        return { status, stdout };
    };
    return { run, calls };
};

describe("localDockerEndpoint", () => {
    test("docker.host wins, and the CLI is not asked", () => {
        const cli = answering("unix:///home/me/.colima/default/docker.sock\n");
        expect(localDockerEndpoint("ssh://deploy@docker.lan", {}, cli.run)).toEqual({ host: "ssh://deploy@docker.lan", source: "docker.host" });
        expect(cli.calls).toEqual([]);
    });

    test("DOCKER_HOST: provider and commands read it themselves", () => {
        const cli = answering("unix:///run/user/1000/docker.sock\n");
        expect(localDockerEndpoint(undefined, { DOCKER_HOST: "tcp://127.0.0.1:2375" }, cli.run)).toEqual({ source: "DOCKER_HOST" });
        expect(cli.calls).toEqual([]);
    });

    test("a current context (rootless Docker, Colima, Docker Desktop) becomes the provider's host", () => {
        const cli = answering("unix:///run/user/1000/docker.sock\n");
        expect(localDockerEndpoint(undefined, {}, cli.run)).toEqual({ host: "unix:///run/user/1000/docker.sock", source: "docker context" });
        expect(cli.calls).toEqual([["docker", "context", "inspect", "--format", "{{.Endpoints.docker.Host}}"]]);
    });

    test("the default context, or no docker CLI at all: nothing to set", () => {
        expect(localDockerEndpoint(undefined, {}, answering(`${DEFAULT_DOCKER_SOCKET}\n`).run)).toEqual({ source: "default socket" });
        expect(localDockerEndpoint(undefined, {}, answering("", 127).run)).toEqual({ source: "default socket" });
    });
});

describe("the local stack follows the CLI's context", () => {
    const local = loadStackFile("local");

    test("provider host and the commands' DOCKER_HOST are the context's engine", async () => {
        const run = await runProgram({ stack: "local", config: local, dockerContextEndpoint: "unix:///run/user/1000/docker.sock" });
        expect(byName(run, "docker-docker").inputs.host).toBe("unix:///run/user/1000/docker.sock");
        expect(byName(run, "authentik-postgresql-ready").inputs.environment).toEqual({ DOCKER_HOST: "unix:///run/user/1000/docker.sock" });
        expect(run.outputs.dockerHost?.value).toBe("unix:///run/user/1000/docker.sock");
    });

    test("with the default context nothing is set, so existing stacks see no change", async () => {
        const run = await runProgram({ stack: "local", config: local });
        expect(byName(run, "docker-docker").inputs.host).toBeUndefined();
        expect(byName(run, "authentik-postgresql-ready").inputs.environment).toEqual({});
    });
});
