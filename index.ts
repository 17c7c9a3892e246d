/**
 * authentik-sso: reads and validates the stack's config, wires the components together in dependency order and
 * exports the stack outputs. All logic lives in lib/ (pure) and components/ (resources).
 */
import { spawnSync } from "child_process";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { Authentik } from "./components/authentik";
import { AuthentikData } from "./components/authentikData";
import { Backup } from "./components/backup";
import { Blueprints } from "./components/blueprints";
import { CloudflareTunnel } from "./components/cloudflareTunnel";
import { Cloudflared } from "./components/cloudflared";
import { DockerTarget, LocalDockerHost, SshDockerHost } from "./components/dockerHost";
import { ProxmoxVm } from "./components/proxmoxVm";
import { IdentitySecrets } from "./components/identitySecrets";
import { AuthentikSecrets } from "./components/secrets";
import { AuthentikPlan, planAuthentik, stackImages } from "./lib/authentikPlan";
import { planBackup } from "./lib/backupPlan";
import { CommandRunner, localDockerEndpoint } from "./lib/dockerEndpoint";
import { PROJECT, StackConfig, configWarnings } from "./lib/config";
import { readDeployedVersions } from "./lib/deployedVersions";
import { loadStackConfig, loadUserBlueprints } from "./lib/loadConfig";
import { planConnectors, planIngress, tunnelName } from "./lib/tunnelPlan";
import { assertSafeUpgrade } from "./lib/upgradeGuard";

export default async function main(): Promise<Record<string, unknown>> {
    // Everything is validated before the first resource is registered: a bad stack creates nothing.
    const config = loadStackConfig();
    for (const warning of configWarnings(config)) {
        void pulumi.log.warn(warning);
    }
    const stack = pulumi.getStack();
    const plan = planAuthentik(config, loadUserBlueprints(config));
    // Upgrades go one authentik release line at a time, never back, PostgreSQL majors only when allowed, and the VM
    // disk never shrinks.
    assertSafeUpgrade(await readDeployedVersions(), config);

    const secrets = new AuthentikSecrets("authentik", {
        protectSecretKey: config.protect.secretKey,
        protectPostgresPassword: config.protect.database,
        ...(config.authentik.secretKey !== undefined ? { secretKey: pulumi.secret(config.authentik.secretKey) } : {}),
    });

    // Cloudflare first and independent of the VM: tunnel, ingress and DNS are created while the VM boots.
    const tunnel = config.cloudflare
        ? new CloudflareTunnel("cloudflare", {
              accountId: config.cloudflare.accountId,
              zoneId: config.cloudflare.zoneId ?? zoneIdByName(config.cloudflare.zone),
              tunnelName: tunnelName(PROJECT, stack),
              hostname: config.domain,
              applicationHostnames: plan.identity?.proxyHosts ?? [],
              ingress: planIngress(config.domain, plan.internalUrl, plan.identity?.proxyHosts),
              comment: `authentik-sso (${stack}): Cloudflare Tunnel to authentik`,
              ...cloudflareApiToken(),
          })
        : undefined;

    const { target, vm } = dockerTarget(config, stack, plan);

    const identitySecrets = plan.identity ? new IdentitySecrets("identity", { plan: plan.identity }) : undefined;
    const smtpPassword = config.smtp?.password;
    const secretValues = {
        ...identitySecrets?.values,
        postgresPassword: secrets.postgresPassword,
        secretKey: secrets.secretKey,
        bootstrapPassword: secrets.bootstrapPassword,
        bootstrapToken: secrets.bootstrapToken,
        ...(smtpPassword !== undefined ? { smtpPassword: pulumi.secret(smtpPassword) } : {}),
    };
    const data = new AuthentikData("authentik", { plan, secrets: secretValues, protectData: config.protect.database, target });
    const backupPlan = planBackup(config, plan, stack);
    const offsite = config.backup.offsite;
    const backup = new Backup("backup", {
        plan: backupPlan,
        data,
        postgresPassword: secrets.postgresPassword,
        target,
        ...(offsite
            ? {
                  offsite: {
                      credentials: Object.fromEntries(Object.entries(offsite.env).map(([key, value]) => [key, pulumi.secret(value)])),
                      ...(offsite.password !== undefined ? { password: pulumi.secret(offsite.password) } : {}),
                      secretKey: secrets.secretKey,
                  },
              }
            : {}),
    });
    const authentik = new Authentik(
        "authentik",
        // startAfter: a version change replaces the backup container first, and its gate passes only after the
        // pre-upgrade dump.
        { plan, data, secrets: secretValues, startAfter: [backup.ready], backupContainerName: backupPlan.containerName, target },
    );

    if (plan.blueprints.length > 0) {
        new Blueprints("identity", { files: plan.blueprints, worker: authentik.worker, workerName: authentik.workerName, target });
    }

    if (tunnel && config.cloudflare) {
        new Cloudflared("cloudflared", {
            plan: planConnectors(config.docker.namePrefix, config.cloudflare.connectors),
            image: config.docker.images.cloudflared,
            token: tunnel.token,
            networkName: data.networkName,
            memoryMb: config.docker.memoryLimitsMb.cloudflared,
            startAfter: [tunnel.config, tunnel.connectionsCleanup, authentik.server.ready],
            target,
        });
    }

    return {
        url: plan.url,
        // Only once server and worker reported healthy, so a failed upgrade does not count as deployed.
        authentikVersion: authentik.runningVersion,
        postgresImage: config.docker.images.postgresql,
        adminUser: plan.adminUser,
        bootstrapPassword: secrets.bootstrapPassword,
        bootstrapToken: secrets.bootstrapToken,
        networkName: data.networkName,
        containerNames: authentik.containerNames,
        backupFolder: backup.hostPath,
        ...(backup.offsitePassword ? { offsitePassword: backup.offsitePassword, offsiteRepository: pulumi.secret(backupPlan.offsite?.repository ?? "") } : {}),
        dockerHost: target.host,
        ...(vm && config.proxmox ? { vmId: vm.vmId, vmAddress: vm.address, vmDiskGb: config.proxmox.diskGb, vmHostKey: vm.hostPublicKey } : {}),
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

const runCommand: CommandRunner = (command, args) => {
    const result = spawnSync(command, args, { encoding: "utf8", timeout: 10_000, env: process.env });
    return { status: result.status, stdout: result.stdout ?? "" };
};

/** The Docker engine to deploy to: a new Proxmox VM when configured, otherwise docker.host or the local engine. */
function dockerTarget(config: StackConfig, stack: string, plan: AuthentikPlan): { target: DockerTarget; vm?: ProxmoxVm } {
    if (!config.proxmox) {
        const endpoint = localDockerEndpoint(config.docker.host, process.env, runCommand);
        return { target: new LocalDockerHost("docker", { ...(endpoint.host !== undefined ? { host: endpoint.host } : {}), sshOpts: config.docker.sshOpts }) };
    }
    const vmName = config.proxmox.name ?? `authentik-${stack}`;
    const vm = new ProxmoxVm("authentik", {
        proxmox: config.proxmox,
        vmName,
        bootstrap: {
            hostname: vmName,
            distro: config.proxmox.image.distro,
            adminUser: config.proxmox.sshUser,
            sshPublicKeys: config.proxmox.sshPublicKeys,
            folders: [config.backup.hostPath],
            prePull: stackImages(config, plan),
        },
        protect: config.protect.vm,
        managedBy: `${PROJECT}/${stack}`,
    });
    const target = new SshDockerHost(
        "vm",
        {
            address: vm.address,
            user: config.proxmox.sshUser,
            hostPublicKey: vm.hostPublicKey,
            ...(config.sshPrivateKey !== undefined ? { privateKey: pulumi.secret(config.sshPrivateKey) } : {}),
            sshOpts: config.docker.sshOpts,
            readyTimeoutSeconds: config.proxmox.readyTimeoutSeconds,
            hostIdentity: vm.nicMacAddress,
        },
        // dependsOn the whole VM component: the firewall must let SSH in before the readiness check dials.
        { dependsOn: [vm] },
    );
    return { target, vm };
}
