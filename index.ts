/**
 * authentik-sso: reads and validates the stack's config, makes what both targets share (secrets, the tunnel), then
 * deploys to the Docker target (a Proxmox VM, docker.host or the local engine) or the Kubernetes target, and exports
 * the stack outputs. All logic lives in lib/ (pure), components/ (resources, by platform) and targets/ (wiring).
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { CloudflareTunnel } from "./components/shared/cloudflareTunnel";
import { IdentitySecrets } from "./components/shared/identitySecrets";
import { AuthentikSecrets } from "./components/shared/secrets";
import { ADMIN_USER, planAuthentik, publicUrl } from "./lib/authentikPlan";
import { PROJECT, configWarnings } from "./lib/config";
import { readDeployedVersions } from "./lib/deployedVersions";
import { identityFor } from "./lib/identityPlan";
import { planKubernetes } from "./lib/kubernetes/plan";
import { loadStackConfig, loadUserBlueprints } from "./lib/loadConfig";
import { planIngress, tunnelName } from "./lib/tunnelPlan";
import { assertSafeUpgrade } from "./lib/upgradeGuard";
import { deployToDocker } from "./targets/docker";
import { deployToKubernetes } from "./targets/kubernetes";

export default async function main(): Promise<Record<string, unknown>> {
    // Everything is validated before the first resource is registered: a bad stack creates nothing.
    const config = loadStackConfig();
    for (const warning of configWarnings(config)) {
        void pulumi.log.warn(warning);
    }
    const stack = pulumi.getStack();
    const userBlueprints = loadUserBlueprints(config);
    const identity = identityFor(config);
    const dockerPlan = config.kubernetes ? undefined : planAuthentik(config, userBlueprints);
    const kubernetesPlan = config.kubernetes ? planKubernetes(config, config.kubernetes, identity, [...(identity?.files ?? []), ...userBlueprints]) : undefined;
    // Upgrades go one authentik release line at a time, never back, PostgreSQL majors only when allowed, and the VM
    // disk never shrinks.
    assertSafeUpgrade(await readDeployedVersions(), config);

    const secrets = new AuthentikSecrets("authentik", {
        protectSecretKey: config.protect.secretKey,
        protectPostgresPassword: config.protect.database,
        ...(config.authentik.secretKey !== undefined ? { secretKey: pulumi.secret(config.authentik.secretKey) } : {}),
    });
    const identitySecrets = identity ? new IdentitySecrets("identity", { plan: identity }) : undefined;

    // Cloudflare first and independent of the VM or cluster: tunnel, ingress and DNS are created meanwhile.
    const proxyHosts = identity?.proxyHosts ?? [];
    const tunnel = config.cloudflare
        ? new CloudflareTunnel("cloudflare", {
              accountId: config.cloudflare.accountId,
              zoneId: config.cloudflare.zoneId ?? zoneIdByName(config.cloudflare.zone),
              tunnelName: tunnelName(PROJECT, stack),
              hostname: config.domain,
              applicationHostnames: proxyHosts,
              ingress: planIngress(config.domain, kubernetesPlan?.serviceUrl ?? dockerPlan?.internalUrl ?? "", proxyHosts),
              comment: `authentik-sso (${stack}): Cloudflare Tunnel to authentik`,
              ...cloudflareApiToken(),
          })
        : undefined;

    const context = { config, stack, secrets, ...(identitySecrets ? { identitySecrets } : {}), ...(tunnel ? { tunnel } : {}) };
    const targetOutputs =
        kubernetesPlan && config.kubernetes ? deployToKubernetes(context, kubernetesPlan, config.kubernetes) : deployToDocker(context, dockerPlan as NonNullable<typeof dockerPlan>);

    return {
        url: publicUrl(config),
        adminUser: ADMIN_USER,
        bootstrapPassword: secrets.bootstrapPassword,
        bootstrapToken: secrets.bootstrapToken,
        ...targetOutputs,
        ...(tunnel ? { tunnelId: tunnel.tunnelId, tunnelName: tunnelName(PROJECT, stack) } : {}),
        ...(identitySecrets ? { oidcClients: identitySecrets.oidcClients } : {}),
        ...(identitySecrets?.breakGlassPassword ? { breakGlassPassword: identitySecrets.breakGlassPassword } : {}),
    };
}

/** zone_id is what the provider documents for a lookup; older provider builds filled in only id. */
function zoneIdByName(zone: string): pulumi.Output<string> {
    return cloudflare.getZoneOutput({ filter: { name: zone } }).apply((found) => found.zoneId || found.id);
}

/** The token from the stack's config, when it is set there rather than in CLOUDFLARE_API_TOKEN. */
function cloudflareApiToken(): { apiToken?: pulumi.Output<string> } {
    const token = new pulumi.Config("cloudflare").getSecret("apiToken");
    return token !== undefined ? { apiToken: token } : {};
}

