/**
 * Shell scripts the stack runs where `docker` reaches its engine (over SSH on the VM, or the local CLI), as command
 * resources: each one fails `pulumi up` with a message that says what is wrong, and, having failed, leaves no
 * state behind, so the next `pulumi up` runs it again. Pure: plain text from plain data; POSIX sh.
 */

/** Quotes a value for a POSIX shell. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'"'"'`)}'`;
}

export interface HealthGate {
    /** Container name. */
    readonly container: string;
    /** Seconds to wait for healthy (and the extra check) before failing. */
    readonly timeoutSeconds: number;
    /**
     * A further command that must succeed once the container is healthy, e.g. the backup container's `ready`. Its
     * exit code 2 means it never will (a misconfiguration): the gate fails at once with its output.
     */
    readonly alsoRequire?: string;
    /** A command that must succeed before any waiting: when it fails, the gate fails at once with its output. */
    readonly precondition?: string;
    /** Seconds between two looks; tests shorten it. */
    readonly pollSeconds?: number;
}

/**
 * Waits until Docker reports the container healthy (and `alsoRequire` succeeds), or fails with the container's
 * state, its last health-check output and its last log lines. The Docker provider's own `wait` cannot be retried:
 * it sets the container's id before it waits, so a timeout leaves a container that the next `pulumi up` only
 * "updates", without waiting again.
 */
export function healthGateScript(gate: HealthGate): string {
    const name = shellQuote(gate.container);
    const poll = gate.pollSeconds ?? 5;
    return [
        "set -u",
        `name=${name}`,
        ...(gate.precondition !== undefined ? [`if ! problem=$(${gate.precondition} 2>&1); then`, '    echo "$name: $problem" >&2', "    exit 1", "fi"] : []),
        `deadline=$(( $(date +%s) + ${gate.timeoutSeconds} ))`,
        "while :; do",
        "    if ! status=$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}without a health check{{end}}' \"$name\" 2>&1); then",
        '        echo "container $name: $status" >&2',
        "        exit 1",
        "    fi",
        ...(gate.alsoRequire !== undefined
            ? [
                  // Asked on every look, not only once healthy: exit code 2 says "never", and the gate stops at once.
                  `    extra=$(${gate.alsoRequire} 2>&1)`,
                  "    code=$?",
                  '    if [ "$code" -eq 2 ]; then',
                  '        echo "$name: $extra" >&2',
                  "        exit 1",
                  "    fi",
                  '    if [ "$status" = healthy ]; then',
                  '        if [ "$code" -eq 0 ]; then break; fi',
                  '        status="healthy, but: $extra"',
                  "    fi",
              ]
            : ['    if [ "$status" = healthy ]; then break; fi']),
        '    if [ "$(date +%s)" -ge "$deadline" ]; then',
        `        echo "$name is not ready after ${gate.timeoutSeconds} s: $status" >&2`,
        "        docker inspect --format 'state: {{.State.Status}}, exit code {{.State.ExitCode}}, restarts {{.RestartCount}}' \"$name\" >&2",
        '        echo "last health checks:" >&2',
        "        docker inspect --format '{{if .State.Health}}{{range .State.Health.Log}}{{.Output}}{{end}}{{end}}' \"$name\" | tail -n 20 >&2",
        '        echo "last log lines (docker logs $name):" >&2',
        '        docker logs --tail 30 "$name" >&2 2>&1',
        "        exit 1",
        "    fi",
        `    sleep ${poll}`,
        "done",
        'echo "$name is ready"',
        "",
    ].join("\n");
}

export interface NameGuard {
    /** Label every volume and network of this stack carries, with this stack instance's value. */
    readonly label: string;
    readonly value: string;
    readonly volumes: readonly string[];
    readonly networks: readonly string[];
}

/**
 * Refuses names that exist on the Docker host without this stack's label. Docker hands back an existing volume
 * when asked to create one of the same name (moby volume/service/store.go, create), so without this check a new
 * stack would adopt an old database whose password is not the one the stack generated.
 */
export function nameGuardScript(guard: NameGuard): string {
    const check = (kind: "volume" | "network", name: string) =>
        `check ${kind} ${shellQuote(name)}`;
    return [
        "set -u",
        `expected=${shellQuote(guard.value)}`,
        "problems=0",
        "check() {",
        `    if owner=$(docker "$1" inspect --format '{{index .Labels ${JSON.stringify(guard.label)}}}' "$2" 2>/dev/null); then`,
        '        if [ "$owner" != "$expected" ]; then',
        '            echo "a Docker $1 named $2 already exists on this host and was not created by this stack; using it would adopt its contents (a database volume keeps the password it was created with). Remove it (docker $1 rm $2), or choose another authentik-sso:docker.namePrefix." >&2',
        "            problems=$((problems + 1))",
        "        fi",
        "    fi",
        "}",
        ...guard.volumes.map((name) => check("volume", name)),
        ...guard.networks.map((name) => check("network", name)),
        'if [ "$problems" -gt 0 ]; then exit 1; fi',
        'echo "no foreign volume or network in the way"',
        "",
    ].join("\n");
}

export interface ImagePrune {
    /** Repository whose other images go, e.g. ghcr.io/goauthentik/server. */
    readonly repository: string;
    /** The image id in use ("sha256:…"), which stays. */
    readonly keepImageId: string;
}

/**
 * Removes the other images of a repository once the new version is up: every authentik upgrade leaves ~1 GB on a
 * 20 GB disk. Never fails the update: an image still in use is left with a note.
 */
export function pruneImagesScript(prune: ImagePrune): string {
    return [
        "set -u",
        `keep=${shellQuote(prune.keepImageId)}`,
        `docker image ls --no-trunc --quiet ${shellQuote(prune.repository)} | sort -u | while read -r id; do`,
        '    [ "$id" = "$keep" ] && continue',
        '    if docker image rm "$id" >/dev/null 2>&1; then echo "removed $id"; else echo "kept $id (still in use)"; fi',
        "done",
        "exit 0",
        "",
    ].join("\n");
}

export interface OneShotContainer {
    /** Image to run (an id or reference already on the host). */
    readonly image: string;
    /** Named volumes: volume name → mount path (":ro" suffix allowed on the path). */
    readonly volumes: Readonly<Record<string, string>>;
    /** Environment for the script. */
    readonly env: Readonly<Record<string, string>>;
    readonly memoryMb: number;
    /** The script, run by /bin/sh from stdin. */
    readonly script: string;
}

/** `docker run --rm` of a script as root, without network, fed on stdin: the one-off jobs the stack needs. */
export function oneShotScript(job: OneShotContainer): string {
    const marker = "AUTHENTIK_SSO_SCRIPT_END";
    if (job.script.includes(marker)) {
        throw new Error(`the script must not contain ${marker}`);
    }
    const args = [
        "docker run --rm -i --network none --user 0:0",
        `--memory ${job.memoryMb}m`,
        ...Object.entries(job.volumes).map(([volume, target]) => `--volume ${shellQuote(`${volume}:${target}`)}`),
        ...Object.entries(job.env).map(([name, value]) => `--env ${shellQuote(`${name}=${value}`)}`),
        "--entrypoint /bin/sh",
        shellQuote(job.image),
        "-s",
    ];
    return ["set -eu", `${args.join(" ")} <<'${marker}'`, job.script.trimEnd(), marker, ""].join("\n");
}

export interface BlueprintApply {
    /** The worker container: it holds the bootstrap token and the blueprints' secrets. */
    readonly worker: string;
    /** The server container: it runs the check (python3 of authentik's image, the API on 127.0.0.1:9000). */
    readonly server: string;
    /** Paths relative to /blueprints with the sha512 of their content, in order. */
    readonly files: readonly { readonly path: string; readonly sha512: string }[];
    /** The worker's variables the files read with !Env: each must be set, or authentik would read nothing. */
    readonly secretEnv: readonly string[];
    /** scripts/apply-blueprints.py. */
    readonly program: string;
}

/**
 * Proves the blueprints applied, through authentik's API from inside the server container (scripts/apply-blueprints.py):
 * no second Django process in the worker's memory limit, and authentik's own default blueprints first. The bootstrap
 * token goes from the worker's environment to the program's stdin, never onto a command line.
 */
export function applyBlueprintsScript(apply: BlueprintApply): string {
    const marker = "AUTHENTIK_SSO_APPLY_END";
    if (apply.program.includes(marker)) {
        throw new Error(`the program must not contain ${marker}`);
    }
    const files = JSON.stringify(apply.files.map((file) => [file.path, file.sha512]));
    return [
        "set -u",
        `worker=${shellQuote(apply.worker)}`,
        `server=${shellQuote(apply.server)}`,
        ...(apply.secretEnv.length > 0
            ? [
                  `for name in ${apply.secretEnv.map(shellQuote).join(" ")}; do`,
                  '    if [ -z "$(docker exec "$worker" printenv "$name" 2>/dev/null)" ]; then',
                  '        echo "$name is not set in $worker: the blueprints would read nothing for it" >&2',
                  "        exit 1",
                  "    fi",
                  "done",
              ]
            : []),
        'token=$(docker exec "$worker" printenv AUTHENTIK_BOOTSTRAP_TOKEN 2>/dev/null || true)',
        'if [ -z "$token" ]; then echo "$worker has no AUTHENTIK_BOOTSTRAP_TOKEN: the check needs it to ask authentik" >&2; exit 1; fi',
        `{ printf '%s\n' "$token"; printf '%s\n' ${shellQuote(`FILES = ${files}`)}; cat <<'${marker}'`,
        apply.program.trimEnd(),
        marker,
        `} | docker exec -i "$server" python3 -c 'import sys; TOKEN = sys.stdin.readline().strip(); exec(compile(sys.stdin.read(), "apply-blueprints.py", "exec"))'`,
        "",
    ].join("\n");
}
