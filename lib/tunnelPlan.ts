/** The tunnel's ingress rules and the connector containers, planned as plain data. */
import type { HealthcheckPlan } from "./containerDefaults";

export interface IngressRule {
    hostname?: string;
    service: string;
    originRequest?: {
        connectTimeout: number;
        keepAliveTimeout: number;
        keepAliveConnections: number;
        tcpKeepAlive: number;
    };
}

/**
 * `domain` goes to authentik's server on the Docker network, and so does each application behind authentik's proxy
 * (the embedded outpost in the server answers for the application's hostname, which cloudflared passes on as the Host
 * header); everything else gets a 404. Time-outs are in seconds and generous: authentik's outposts hold WebSocket
 * connections open for long periods, and cloudflared passes WebSockets through for http:// services.
 */
export function planIngress(domain: string, serviceUrl: string, applicationHostnames: readonly string[] = []): IngressRule[] {
    return [
        ...[domain, ...applicationHostnames].map((hostname) => ({
            hostname,
            service: serviceUrl,
            originRequest: { connectTimeout: 30, keepAliveTimeout: 300, keepAliveConnections: 100, tcpKeepAlive: 30 },
        })),
        // The catch-all must be last: cloudflared refuses a configuration without one.
        { service: "http_status:404" },
    ];
}

export function tunnelName(project: string, stack: string): string {
    // The stack in the name: a replaced tunnel can linger, and a second stack must not collide (pulumi-cloudflare#1440).
    return `${project}-${stack}`;
}

/**
 * The token a connector runs a remotely managed tunnel with, made from what the stack already holds: cloudflared's
 * TunnelToken (connection/connection.go: {"a": account tag, "s": tunnel secret, "t": tunnel id}, JSON, then
 * standard base64). Cloudflare's API hands out the same token, but only to an API token with Tunnel *write*
 * permission, and a lookup runs during every preview: made here, previews and drift checks need read access only.
 */
export function connectorToken(accountId: string, tunnelId: string, tunnelSecretBase64: string): string {
    // Go encodes []byte as standard base64 in JSON: the secret goes in as the tunnel was given it.
    return Buffer.from(JSON.stringify({ a: accountId, s: tunnelSecretBase64, t: tunnelId }), "utf8").toString("base64");
}

export function cnameTarget(tunnelId: string): string {
    return `${tunnelId}.cfargotunnel.com`;
}

export const CLOUDFLARED_METRICS_ADDRESS = "127.0.0.1:20241";

/** Where the connector token is written inside a cloudflared container. */
export const CLOUDFLARED_TOKEN_FILE = "/etc/cloudflared/token";

export interface ConnectorPlan {
    readonly containerNames: readonly string[];
    readonly command: readonly string[];
    readonly healthcheck: HealthcheckPlan;
    /** The token is a file in the container (--token-file, cloudflared 2025.4.0+). */
    readonly tokenFile: string;
    readonly readyTimeoutSeconds: number;
    /** cloudflared drains its connections for up to 30 s after SIGTERM (its --grace-period). */
    readonly stopGraceSeconds: number;
}

export function planConnectors(namePrefix: string, replicas: number): ConnectorPlan {
    return {
        containerNames: Array.from({ length: replicas }, (_, index) => `${namePrefix}-cloudflared-${index + 1}`),
        // The token is read from a file, never the command line or the environment, which `docker inspect` shows
        // to everyone with access to the Docker API (and ps to everyone on the host).
        command: ["tunnel", "--no-autoupdate", "--metrics", CLOUDFLARED_METRICS_ADDRESS, "run", "--token-file", CLOUDFLARED_TOKEN_FILE],
        // The image is distroless (no shell, no curl): cloudflared itself asks its /ready endpoint.
        healthcheck: {
            tests: ["CMD", "cloudflared", "tunnel", "--metrics", CLOUDFLARED_METRICS_ADDRESS, "ready"],
            intervalSeconds: 30,
            timeoutSeconds: 10,
            retries: 3,
            startPeriodSeconds: 30,
        },
        tokenFile: CLOUDFLARED_TOKEN_FILE,
        readyTimeoutSeconds: 120,
        stopGraceSeconds: 35,
    };
}

/** Cloudflare's API, overridable for tests. */
export const CLOUDFLARE_API_BASE = "https://api.cloudflare.com/client/v4";

/**
 * Run just before the tunnel is deleted (after the connectors are gone): Cloudflare refuses to delete a tunnel that
 * still lists connections ("Cannot delete tunnel because it has active connections", code 1022) and keeps listing
 * stopped connectors for several minutes; the Terraform provider's v5 delete no longer cleans them up first. The
 * token comes from CLOUDFLARE_API_TOKEN as `pulumi destroy` runs, else from the stack's cloudflare:apiToken. Never
 * fails for want of a token, curl or a willing API: the tunnel delete still gets its chance (an unset id, a bug, stops it).
 * Environment: ACCOUNT_ID, TUNNEL_ID, CLOUDFLARE_API_TOKEN or STACK_API_TOKEN, CLOUDFLARE_API_BASE.
 */
export function connectionsCleanupScript(): string {
    return [
        "set -u",
        'token=${CLOUDFLARE_API_TOKEN:-${STACK_API_TOKEN:-}}',
        `base=\${CLOUDFLARE_API_BASE:-${CLOUDFLARE_API_BASE}}`,
        'if [ -z "$token" ]; then',
        '    echo "warning: no Cloudflare API token (CLOUDFLARE_API_TOKEN) to clean up the connections of tunnel $TUNNEL_ID; if its delete fails with \\"active connections\\", run pulumi destroy again in a few minutes" >&2',
        "    exit 0",
        "fi",
        "if ! command -v curl >/dev/null 2>&1; then",
        '    echo "warning: curl is not installed: the connections of tunnel $TUNNEL_ID were not cleaned up" >&2',
        "    exit 0",
        "fi",
        'url="$base/accounts/$ACCOUNT_ID/cfd_tunnel/$TUNNEL_ID/connections"',
        "for attempt in 1 2 3 4 5; do",
        // The header comes on stdin: a token on the command line is visible to every user of the machine.
        '    if printf "Authorization: Bearer %s\\n" "$token" | curl -fsS -X DELETE -H @- "$url" >/dev/null; then',
        '        echo "cleaned up the connections of tunnel $TUNNEL_ID"',
        "        exit 0",
        "    fi",
        '    [ "$attempt" -lt 5 ] && sleep "${RETRY_SECONDS:-5}"',
        "done",
        'echo "warning: could not clean up the connections of tunnel $TUNNEL_ID" >&2',
        "exit 0",
        "",
    ].join("\n");
}
