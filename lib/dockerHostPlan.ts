/** How the stack reaches a Docker daemon over SSH and decides that it is ready. */

/**
 * Waits for cloud-init to finish, for Docker to answer and for the SSH user to be in the docker group.
 * `cloud-init status --wait` exits 2 for "done with recoverable errors", which still leaves a working host.
 */
export function readinessScript(timeoutSeconds: number): string {
    return [
        "set -u",
        `timeout ${timeoutSeconds} cloud-init status --wait >/dev/null; status=$?`,
        'if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then',
        "    cloud-init status --long >&2",
        '    echo "--- last lines of /var/log/cloud-init-output.log:" >&2',
        "    sudo -n tail -n 40 /var/log/cloud-init-output.log >&2",
        '    echo "cloud-init did not finish (exit $status)" >&2',
        "    exit 1",
        "fi",
        "for attempt in $(seq 1 30); do",
        "  if sudo -n docker info >/dev/null 2>&1; then break; fi",
        '  if [ "$attempt" -eq 30 ]; then echo "docker did not answer after cloud-init finished" >&2; exit 1; fi',
        "  sleep 5",
        "done",
        // The Docker provider runs docker without sudo in a new session: the user must be in the docker group.
        'if ! getent group docker | cut -d: -f4 | tr "," "\\n" | grep -qx "$(id -un)"; then echo "$(id -un) is not in the docker group" >&2; exit 1; fi',
        "echo ready",
    ].join("\n");
}

export interface SshTarget {
    /** Address the client connects to, as written in the Docker host URL. */
    readonly address: string;
    /** The host's public key, "ssh-ed25519 AAAA…": the only key the client accepts. */
    readonly hostPublicKey: string;
    /** More options from authentik-sso:docker.sshOpts, appended as given. */
    readonly extra?: readonly string[];
}

/**
 * Options for the ssh client the Docker provider runs (each element one argument, no shell: docker/cli's
 * connhelper). The host key is pinned, not learnt: KnownHostsCommand (OpenSSH 8.5+) hands ssh exactly the VM's
 * key, the known_hosts files are left out so no stale entry of an earlier VM at the same address interferes, and
 * any other key is refused.
 */
export function sshOptions(target: SshTarget): string[] {
    return [
        "-o", "ConnectTimeout=10",
        "-o", "ConnectionAttempts=6",
        "-o", "ServerAliveInterval=15",
        "-o", "ServerAliveCountMax=4",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", `KnownHostsCommand=/bin/echo ${target.address} ${target.hostPublicKey}`,
        "-o", "BatchMode=yes",
        ...(target.extra ?? []),
    ];
}
