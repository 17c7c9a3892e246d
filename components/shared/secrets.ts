import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

export interface AuthentikSecretsArgs {
    /**
     * Protect AUTHENTIK_SECRET_KEY from deletion and replacement. Changing the key logs every user out and
     * invalidates signed values, so production stacks should set this.
     */
    protectSecretKey: boolean;
    /**
     * Protect the PostgreSQL password: PostgreSQL takes it only when the database is first created, so a new
     * value would lock authentik and the backups out of the existing database. Goes with protect.database.
     */
    protectPostgresPassword: boolean;
    /** authentik.secretKey: the key of a backup being recovered into a new stack; otherwise one is generated. */
    secretKey?: pulumi.Input<string>;
}

/**
 * The generated secrets of one authentik installation. Every value is a Pulumi secret; RandomPassword keeps its
 * result encrypted in state (RandomId or RandomString would not).
 */
export class AuthentikSecrets extends pulumi.ComponentResource {
    public readonly postgresPassword: pulumi.Output<string>;
    /** AUTHENTIK_SECRET_KEY: 64 characters (authentik needs at least 50). Must never change after the first up. */
    public readonly secretKey: pulumi.Output<string>;
    /** Password of the bootstrap admin, akadmin. */
    public readonly bootstrapPassword: pulumi.Output<string>;
    /** API token of the bootstrap admin, for automation against authentik's API. */
    public readonly bootstrapToken: pulumi.Output<string>;

    constructor(name: string, args: AuthentikSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:authentik:Secrets", name, {}, opts);

        // Letters and digits only: these values end up in URLs, env files and shell commands.
        const alphanumeric = (role: string, length: number, extra?: pulumi.CustomResourceOptions) =>
            new random.RandomPassword(`${name}-${role}`, { length, special: false, minLower: 2, minUpper: 2, minNumeric: 2 }, { parent: this, ...extra });

        this.postgresPassword = pulumi.secret(alphanumeric("postgres-password", 32, { protect: args.protectPostgresPassword }).result);
        // protect: replacing the key would log everyone out and break signed values (pulumi-random#258 is why
        // provider upgrades are reviewed in preview before they reach prod).
        this.secretKey =
            args.secretKey !== undefined ? pulumi.secret(pulumi.output(args.secretKey)) : pulumi.secret(alphanumeric("secret-key", 64, { protect: args.protectSecretKey }).result);
        this.bootstrapPassword = pulumi.secret(alphanumeric("bootstrap-password", 32).result);
        this.bootstrapToken = pulumi.secret(alphanumeric("bootstrap-token", 64).result);

        this.registerOutputs({
            postgresPassword: this.postgresPassword,
            secretKey: this.secretKey,
            bootstrapPassword: this.bootstrapPassword,
            bootstrapToken: this.bootstrapToken,
        });
    }
}
