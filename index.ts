/**
 * authentik-sso: reads and validates the stack's config, wires the components together in dependency order and
 * exports the stack outputs. All logic lives in lib/ (pure) and components/ (resources).
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Authentik } from "./components/authentik";
import { AuthentikData } from "./components/authentikData";
import { Backup } from "./components/backup";
import { AuthentikSecrets } from "./components/secrets";
import { planAuthentik } from "./lib/authentikPlan";
import { planBackup } from "./lib/backupPlan";
import { LOCAL_DOCKER_SOCKET } from "./lib/config";
import { readDeployedVersions } from "./lib/deployedVersions";
import { loadStackConfig } from "./lib/loadConfig";
import { assertSafeUpgrade } from "./lib/upgradeGuard";

export default async function main(): Promise<Record<string, unknown>> {
    // Everything is validated before the first resource is registered: a bad stack creates nothing.
    const config = loadStackConfig();
    const plan = planAuthentik(config);
    // Upgrades go one authentik release line at a time, never back, and PostgreSQL majors only when allowed.
    assertSafeUpgrade(await readDeployedVersions(), config);

    const secrets = new AuthentikSecrets("authentik", { protectSecretKey: config.protect.secretKey });

    const dockerProvider = new docker.Provider("docker", {
        host: config.docker.host ?? LOCAL_DOCKER_SOCKET,
        sshOpts: config.docker.sshOpts,
    });

    const smtpPassword = config.smtp?.password;
    const secretValues = {
        postgresPassword: secrets.postgresPassword,
        secretKey: secrets.secretKey,
        bootstrapPassword: secrets.bootstrapPassword,
        bootstrapToken: secrets.bootstrapToken,
        ...(smtpPassword !== undefined ? { smtpPassword: pulumi.secret(smtpPassword) } : {}),
    };
    const data = new AuthentikData("authentik", { plan, secrets: secretValues, protectData: config.protect.database }, { providers: [dockerProvider] });
    const backup = new Backup("backup", { plan: planBackup(config, plan), data, postgresPassword: secrets.postgresPassword }, { providers: [dockerProvider] });
    const authentik = new Authentik(
        "authentik",
        // startAfter: a version change replaces the backup container first, and its start takes the pre-upgrade dump.
        { plan, data, secrets: secretValues, startAfter: [backup.container] },
        { providers: [dockerProvider] },
    );

    return {
        url: plan.url,
        authentikVersion: plan.version,
        postgresImage: config.docker.images.postgresql,
        adminUser: plan.adminUser,
        bootstrapPassword: secrets.bootstrapPassword,
        bootstrapToken: secrets.bootstrapToken,
        networkName: data.networkName,
        backupFolder: backup.hostPath,
        containerNames: authentik.containerNames,
    };
}
