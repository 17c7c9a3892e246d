import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { SecretRef } from "../../lib/authentikPlan";
import { IdentityPlan } from "../../lib/identityPlan";

export interface OidcClientOutput {
    clientId: string;
    /** Secret; absent for a public client. */
    clientSecret?: pulumi.Output<string>;
    issuerUrl: string;
    discoveryUrl: string;
}

/**
 * The secrets authentik's configuration needs (OIDC client secrets, the break-glass password): generated once, kept
 * only as Pulumi secrets, and handed to the worker as environment variables that the blueprints read.
 */
export class IdentitySecrets extends pulumi.ComponentResource {
    /** By the worker's secret references (`identity:<key>`). */
    public readonly values: Readonly<Record<SecretRef, pulumi.Output<string>>>;
    public readonly oidcClients: Readonly<Record<string, OidcClientOutput>>;
    public readonly breakGlassPassword?: pulumi.Output<string>;

    constructor(name: string, args: { plan: IdentityPlan }, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:authentik:IdentitySecrets", name, {}, opts);
        const values: Record<string, pulumi.Output<string>> = {};
        for (const secret of args.plan.secrets) {
            // Letters and digits only: safe in any client's configuration file and in an environment variable.
            const generated = new random.RandomPassword(`${name}-${secret.key}`, { length: secret.kind === "oidc-client-secret" ? 64 : 32, special: false }, { parent: this });
            values[`identity:${secret.key}`] = pulumi.secret(generated.result);
        }
        this.values = values as Record<SecretRef, pulumi.Output<string>>;
        this.oidcClients = Object.fromEntries(
            args.plan.oidcClients.map((client) => {
                const secret = args.plan.secrets.find((item) => item.envName === client.secretEnv);
                const value = secret ? values[`identity:${secret.key}`] : undefined;
                return [client.slug, { clientId: client.clientId, issuerUrl: client.issuerUrl, discoveryUrl: client.discoveryUrl, ...(value ? { clientSecret: value } : {}) }];
            }),
        );
        const breakGlass = args.plan.secrets.find((secret) => secret.kind === "break-glass-password");
        if (breakGlass) {
            this.breakGlassPassword = values[`identity:${breakGlass.key}`];
        }
        this.registerOutputs({ oidcClients: this.oidcClients, ...(this.breakGlassPassword ? { breakGlassPassword: this.breakGlassPassword } : {}) });
    }
}
