/** The tunnel's ingress rules and the connector containers, planned as plain data. */
import type { HealthcheckPlan } from "./authentikPlan";

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
 * `domain` goes to authentik's server on the Docker network; everything else gets a 404. Time-outs are in
 * seconds and generous: authentik's outposts hold WebSocket connections open for long periods, and cloudflared
 * passes WebSockets through for http:// services.
 */
export function planIngress(domain: string, serviceUrl: string): IngressRule[] {
    return [
        {
            hostname: domain,
            service: serviceUrl,
            originRequest: { connectTimeout: 30, keepAliveTimeout: 300, keepAliveConnections: 100, tcpKeepAlive: 30 },
        },
        // The catch-all must be last: cloudflared refuses a configuration without one.
        { service: "http_status:404" },
    ];
}

export function tunnelName(project: string, stack: string): string {
    // The stack in the name: a replaced tunnel can linger, and a second stack must not collide (pulumi-cloudflare#1440).
    return `${project}-${stack}`;
}

export function cnameTarget(tunnelId: string): string {
    return `${tunnelId}.cfargotunnel.com`;
}

export const CLOUDFLARED_METRICS_ADDRESS = "127.0.0.1:20241";

export interface ConnectorPlan {
    readonly containerNames: readonly string[];
    readonly command: readonly string[];
    readonly healthcheck: HealthcheckPlan;
}

export function planConnectors(namePrefix: string, replicas: number): ConnectorPlan {
    return {
        containerNames: Array.from({ length: replicas }, (_, index) => `${namePrefix}-cloudflared-${index + 1}`),
        // The token comes from TUNNEL_TOKEN, never the command line (which `docker inspect` and ps show to everyone).
        command: ["tunnel", "--no-autoupdate", "--metrics", CLOUDFLARED_METRICS_ADDRESS, "run"],
        // The image is distroless (no shell, no curl): cloudflared itself asks its /ready endpoint.
        healthcheck: {
            tests: ["CMD", "cloudflared", "tunnel", "--metrics", CLOUDFLARED_METRICS_ADDRESS, "ready"],
            intervalSeconds: 30,
            timeoutSeconds: 10,
            retries: 3,
            startPeriodSeconds: 30,
        },
    };
}
