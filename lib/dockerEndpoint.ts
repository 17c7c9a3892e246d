/**
 * Which Docker engine "the local engine" is. The docker CLI follows DOCKER_HOST, then DOCKER_CONTEXT, then the
 * current context in ~/.docker/config.json (what rootless Docker, Docker Desktop on Linux and Colima select). The
 * Docker provider reads DOCKER_HOST and DOCKER_CONTEXT but never the current context (terraform-provider-docker
 * internal/provider/provider.go): left alone, it would talk to /var/run/docker.sock while the program's gates and
 * jobs, which run the CLI, talk to the context's engine. So the program asks the CLI once and gives both the answer.
 */

/** Runs a command; the docker CLI here. */
export type CommandRunner = (command: string, args: readonly string[]) => { status: number | null; stdout: string };

/** The provider's own default: no need to set it. */
export const DEFAULT_DOCKER_SOCKET = "unix:///var/run/docker.sock";

export interface LocalEndpoint {
    /** The engine's address, when it is not the provider's default (unset: the provider and the CLI agree already). */
    readonly host?: string;
    /** Where it came from, for messages. */
    readonly source: "docker.host" | "DOCKER_HOST" | "docker context" | "default socket";
}

export function localDockerEndpoint(configuredHost: string | undefined, env: Readonly<Record<string, string | undefined>>, run: CommandRunner): LocalEndpoint {
    if (configuredHost !== undefined) {
        return { host: configuredHost, source: "docker.host" };
    }
    if (env.DOCKER_HOST) {
        // The provider reads it by itself, and the commands inherit it.
        return { source: "DOCKER_HOST" };
    }
    const answer = run("docker", ["context", "inspect", "--format", "{{.Endpoints.docker.Host}}"]);
    const endpoint = answer.status === 0 ? answer.stdout.trim() : "";
    if (endpoint === "" || endpoint === DEFAULT_DOCKER_SOCKET) {
        return { source: "default socket" };
    }
    return { host: endpoint, source: "docker context" };
}
