import * as cloudflare from "@pulumi/cloudflare";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { IngressRule, cnameTarget, connectionsCleanupScript, connectorToken } from "../../lib/tunnelPlan";

export interface CloudflareTunnelArgs {
    accountId: string;
    /** Zone id; resolve a zone name with cloudflare.getZoneOutput first. */
    zoneId: pulumi.Input<string>;
    tunnelName: string;
    /** Public hostname, e.g. auth.example.com: gets a proxied CNAME to the tunnel. */
    hostname: string;
    /** Hostnames of applications behind authentik's proxy: each gets a proxied CNAME to the tunnel too. */
    applicationHostnames: readonly string[];
    /** Ingress rules from `planIngress`, catch-all last. */
    ingress: IngressRule[];
    /** Shown on the DNS record in Cloudflare's dashboard. */
    comment: string;
    /** The stack's cloudflare:apiToken, if set there, for the connections cleanup before the tunnel is deleted. */
    apiToken?: pulumi.Input<string>;
}

/**
 * A remotely managed Cloudflare Tunnel, its ingress configuration and the proxied DNS record that points the
 * public hostname at it. Nothing here depends on the Docker host, so it is all created while the VM boots.
 */
export class CloudflareTunnel extends pulumi.ComponentResource {
    public readonly tunnel: cloudflare.ZeroTrustTunnelCloudflared;
    public readonly config: cloudflare.ZeroTrustTunnelCloudflaredConfig;
    public readonly dnsRecord: cloudflare.DnsRecord;
    /** By hostname: the records of the proxy applications. */
    public readonly applicationRecords: Readonly<Record<string, cloudflare.DnsRecord>>;
    public readonly tunnelId: pulumi.Output<string>;
    /** The connector token (secret). */
    public readonly token: pulumi.Output<string>;
    /**
     * Cleans up the tunnel's connections when it is deleted. Connectors depend on it, so they are gone before it runs
     * and the tunnel is deleted after it.
     */
    public readonly connectionsCleanup: command.local.Command;

    constructor(name: string, args: CloudflareTunnelArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:cloudflare:Tunnel", name, {}, opts);

        // Generated once and kept in state as a secret: the tunnel secret is write-only and changing it replaces
        // the tunnel.
        const secret = new random.RandomBytes(`${name}-secret`, { length: 32 }, { parent: this });

        this.tunnel = new cloudflare.ZeroTrustTunnelCloudflared(
            `${name}-tunnel`,
            { accountId: args.accountId, name: args.tunnelName, configSrc: "cloudflare", tunnelSecret: pulumi.secret(secret.base64) },
            // The name is unique per account (a second create fails with 409, code 1013): delete before replace.
            { parent: this, deleteBeforeReplace: true },
        );
        this.tunnelId = this.tunnel.id;

        this.connectionsCleanup = new command.local.Command(
            `${name}-connections-cleanup`,
            {
                delete: connectionsCleanupScript(),
                environment: {
                    ACCOUNT_ID: args.accountId,
                    TUNNEL_ID: this.tunnel.id,
                    ...(args.apiToken !== undefined ? { STACK_API_TOKEN: pulumi.secret(args.apiToken) } : {}),
                },
                triggers: [this.tunnel.id],
            },
            { parent: this },
        );

        this.config = new cloudflare.ZeroTrustTunnelCloudflaredConfig(
            `${name}-config`,
            { accountId: args.accountId, tunnelId: this.tunnel.id, config: { ingresses: args.ingress } },
            { parent: this },
        );

        const record = (resourceName: string, hostname: string) =>
            new cloudflare.DnsRecord(
                resourceName,
                {
                    zoneId: args.zoneId,
                    name: hostname,
                    type: "CNAME",
                    content: this.tunnel.id.apply(cnameTarget),
                    proxied: true,
                    // 1 means automatic, the only TTL Cloudflare allows for proxied records.
                    ttl: 1,
                    comment: args.comment,
                },
                { parent: this },
            );
        this.dnsRecord = record(`${name}-dns`, args.hostname);
        // Named by hostname, so adding or removing one application touches its record only.
        this.applicationRecords = Object.fromEntries(args.applicationHostnames.map((hostname) => [hostname, record(`${name}-dns-${hostname}`, hostname)]));

        // Made from the tunnel's own parts (connectorToken): no API call, so previews need no write permission. It
        // lets anyone run connectors for this tunnel.
        this.token = pulumi.secret(pulumi.all([this.tunnel.id, secret.base64]).apply(([tunnelId, tunnelSecret]) => connectorToken(args.accountId, tunnelId, tunnelSecret)));

        this.registerOutputs({ tunnelId: this.tunnelId, hostname: this.dnsRecord.name });
    }
}
