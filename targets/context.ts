import * as pulumi from "@pulumi/pulumi";
import { CloudflareTunnel } from "../components/shared/cloudflareTunnel";
import { IdentitySecrets } from "../components/shared/identitySecrets";
import { AuthentikSecrets } from "../components/shared/secrets";
import { SecretRef } from "../lib/authentikPlan";
import type { StackConfig } from "../lib/config";

/** What both targets share: the validated config and the resources made before either target (secrets, tunnel). */
export interface TargetContext {
    readonly config: StackConfig;
    readonly stack: string;
    readonly secrets: AuthentikSecrets;
    readonly identitySecrets?: IdentitySecrets;
    readonly tunnel?: CloudflareTunnel;
}

/** The stack's secrets by reference, as server, worker and the blueprints read them. */
export function secretValues(context: TargetContext): Partial<Record<SecretRef, pulumi.Input<string>>> {
    const smtpPassword = context.config.smtp?.password;
    return {
        ...context.identitySecrets?.values,
        postgresPassword: context.secrets.postgresPassword,
        secretKey: context.secrets.secretKey,
        bootstrapPassword: context.secrets.bootstrapPassword,
        bootstrapToken: context.secrets.bootstrapToken,
        ...(smtpPassword !== undefined ? { smtpPassword: pulumi.secret(smtpPassword) } : {}),
    };
}
