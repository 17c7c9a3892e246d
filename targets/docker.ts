/**
 * The Docker target: a Proxmox VM (or docker.host, or the local engine) with authentik's containers, backups and the
 * tunnel's connectors.
 */
import { spawnSync } from "child_process";
import * as pulumi from "@pulumi/pulumi";
import { Authentik } from "../components/docker/authentik";
import { AuthentikData } from "../components/docker/authentikData";
import { Backup } from "../components/docker/backup";
import { Blueprints } from "../components/docker/blueprints";
import { Cloudflared } from "../components/docker/cloudflared";
import { DockerTarget, LocalDockerHost, SshDockerHost } from "../components/docker/dockerHost";
import { ProxmoxVm } from "../components/docker/proxmoxVm";
import { AuthentikPlan, stackImages } from "../lib/authentikPlan";
import { planBackup } from "../lib/backupPlan";
import { PROJECT, StackConfig } from "../lib/config";
import { CommandRunner, localDockerEndpoint } from "../lib/dockerEndpoint";
import { planConnectors } from "../lib/tunnelPlan";
import { TargetContext, secretValues } from "./context";

export function deployToDocker(context: TargetContext, plan: AuthentikPlan): Record<string, unknown> {
    const { config, stack, secrets, tunnel } = context;
    const { target, vm } = dockerTarget(config, stack, plan);

    const secretsByRef = secretValues(context);
    const data = new AuthentikData("authentik", { plan, secrets: secretsByRef, protectData: config.protect.database, target });
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
        { plan, data, secrets: secretsByRef, startAfter: [backup.ready], backupContainerName: backupPlan.containerName, target },
    );

    if (plan.blueprints.length > 0) {
        new Blueprints("identity", {
            files: plan.blueprints,
            worker: authentik.worker,
            workerName: authentik.workerName,
            serverName: authentik.serverName,
            serverReady: authentik.server.ready,
            secretEnv: (plan.identity?.secrets ?? []).map((secret) => secret.envName),
            target,
        });
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
        // Only once server and worker reported healthy, so a failed upgrade does not count as deployed.
        authentikVersion: authentik.runningVersion,
        postgresImage: config.docker.images.postgresql,
        networkName: data.networkName,
        containerNames: authentik.containerNames,
        backupFolder: backup.hostPath,
        ...(backup.offsitePassword ? { offsitePassword: backup.offsitePassword, offsiteRepository: pulumi.secret(backupPlan.offsite?.repository ?? "") } : {}),
        dockerHost: target.host,
        ...(vm && config.proxmox ? { vmId: vm.vmId, vmAddress: vm.address, vmDiskGb: config.proxmox.diskGb, vmHostKey: vm.hostPublicKey } : {}),
    };
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
