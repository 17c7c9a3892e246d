/**
 * authentik-sso: reads and validates the stack's config, wires the components together in dependency order and
 * exports the stack outputs. All logic lives in lib/ (pure) and components/ (resources).
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Authentik } from "./components/authentik";
import { AuthentikData } from "./components/authentikData";
import { Backup } from "./components/backup";
import { CloudflareTunnel } from "./components/cloudflareTunnel";
import { Cloudflared } from "./components/cloudflared";
import { DockerHost } from "./components/dockerHost";
import { ProxmoxVm } from "./components/proxmoxVm";
import { AuthentikSecrets } from "./components/secrets";
import { planAuthentik } from "./lib/authentikPlan";
import { planBackup } from "./lib/backupPlan";
import { renderCloudInit } from "./lib/cloudInit";
import { LOCAL_DOCKER_SOCKET, PROJECT, StackConfig } from "./lib/config";
import { readDeployedVersions } from "./lib/deployedVersions";
import { loadStackConfig } from "./lib/loadConfig";
import { planConnectors, planIngress, tunnelName } from "./lib/tunnelPlan";
import { assertSafeUpgrade } from "./lib/upgradeGuard";

export default async function main(): Promise<Record<string, unknown>> {
    // Everything is validated before the first resource is registered: a bad stack creates nothing.
    const config = loadStackConfig();
    const stack = pulumi.getStack();
    const plan = planAuthentik(config);
    // Upgrades go one authentik release line at a time, never back, and PostgreSQL majors only when allowed.
    assertSafeUpgrade(await readDeployedVersions(), config);

    const secrets = new AuthentikSecrets("authentik", { protectSecretKey: config.protect.secretKey, protectPostgresPassword: config.protect.database });

    // Cloudflare first and independent of the VM: tunnel, ingress and DNS are created while the VM boots.
    const tunnel = config.cloudflare
        ? new CloudflareTunnel("cloudflare", {
              accountId: config.cloudflare.accountId,
              zoneId: config.cloudflare.zoneId ?? zoneIdByName(config.cloudflare.zone),
              tunnelName: tunnelName(PROJECT, stack),
              hostname: config.domain,
              ingress: planIngress(config.domain, plan.internalUrl),
              comment: `authentik-sso (${stack}): Cloudflare Tunnel to authentik`,
          })
        : undefined;

    const host = dockerHost(config, stack);
    const providers = { providers: [host.provider] };

    const smtpPassword = config.smtp?.password;
    const secretValues = {
        postgresPassword: secrets.postgresPassword,
        secretKey: secrets.secretKey,
        bootstrapPassword: secrets.bootstrapPassword,
        bootstrapToken: secrets.bootstrapToken,
        ...(smtpPassword !== undefined ? { smtpPassword: pulumi.secret(smtpPassword) } : {}),
    };
    const data = new AuthentikData("authentik", { plan, secrets: secretValues, protectData: config.protect.database }, providers);
    const backup = new Backup("backup", { plan: planBackup(config, plan), data, postgresPassword: secrets.postgresPassword }, providers);
    const authentik = new Authentik(
        "authentik",
        // startAfter: a version change replaces the backup container first, and its start takes the pre-upgrade dump.
        { plan, data, secrets: secretValues, startAfter: [backup.container] },
        providers,
    );

    if (tunnel && config.cloudflare) {
        new Cloudflared(
            "cloudflared",
            {
                plan: planConnectors(config.docker.namePrefix, config.cloudflare.connectors),
                image: config.docker.images.cloudflared,
                token: tunnel.token,
                networkName: data.networkName,
                memoryMb: config.docker.memoryLimitsMb.cloudflared,
                startAfter: [tunnel.tunnel, tunnel.config, authentik.server],
            },
            providers,
        );
    }

    return {
        url: plan.url,
        // Exported only once server and worker are up, so a failed upgrade does not count as deployed.
        authentikVersion: pulumi.all([authentik.server.id, authentik.worker.id]).apply(() => plan.version),
        postgresImage: config.docker.images.postgresql,
        adminUser: plan.adminUser,
        bootstrapPassword: secrets.bootstrapPassword,
        bootstrapToken: secrets.bootstrapToken,
        networkName: data.networkName,
        containerNames: authentik.containerNames,
        backupFolder: backup.hostPath,
        dockerHost: host.provider.host,
        ...(host.vm ? { vmId: host.vm.vmId, vmAddress: host.vm.address } : {}),
        ...(tunnel ? { tunnelId: tunnel.tunnelId, tunnelName: tunnelName(PROJECT, stack) } : {}),
    };
}

/** zone_id is what the provider documents for a lookup; older provider builds filled in only id. */
function zoneIdByName(zone: string): pulumi.Output<string> {
    return cloudflare.getZoneOutput({ filter: { name: zone } }).apply((found) => found.zoneId || found.id);
}

/** The Docker daemon to deploy to: a new Proxmox VM when configured, otherwise docker.host. */
function dockerHost(config: StackConfig, stack: string): { provider: docker.Provider; vm?: ProxmoxVm } {
    if (!config.proxmox) {
        return { provider: new docker.Provider("docker", { host: config.docker.host ?? LOCAL_DOCKER_SOCKET, sshOpts: config.docker.sshOpts }) };
    }
    const vmName = config.proxmox.name ?? `authentik-${stack}`;
    const vm = new ProxmoxVm("authentik", {
        proxmox: config.proxmox,
        vmName,
        userData: renderCloudInit({
            hostname: vmName,
            distro: config.proxmox.image.distro,
            adminUser: config.proxmox.sshUser,
            sshPublicKeys: config.proxmox.sshPublicKeys,
            folders: [config.backup.hostPath],
        }),
        protect: config.protect.vm,
        managedBy: `${PROJECT}/${stack}`,
    });
    const host = new DockerHost(
        "vm",
        {
            address: vm.address,
            user: config.proxmox.sshUser,
            ...(config.sshPrivateKey !== undefined ? { privateKey: pulumi.secret(config.sshPrivateKey) } : {}),
            readyTimeoutSeconds: config.proxmox.readyTimeoutSeconds,
            // A replaced VM keeps its vmId but gets new MAC addresses: check readiness again.
            triggers: [vm.vmId, vm.vm.macAddresses],
        },
        // dependsOn the whole VM component: the firewall must let SSH in before the readiness check dials.
        { dependsOn: [vm] },
    );
    return { provider: host.provider, vm };
}
