import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { readinessScript, sshOptions } from "../../lib/dockerHostPlan";

/** A shell command on the Docker host, run by `pulumi up`: its create runs the script, a failure leaves no state. */
export type HostCommand = command.remote.Command | command.local.Command;

export interface HostCommandArgs {
    /** Runs where `docker` reaches the stack's engine. */
    create: pulumi.Input<string>;
    /** Any change re-runs the command (the command provider replaces it). */
    triggers: pulumi.Input<unknown>[];
}

/** Where the stack's Docker engine is, and how to reach it. */
export interface DockerTarget {
    readonly provider: docker.Provider;
    /**
     * What identifies the machine the engine runs on, when the stack creates that machine: the VM's network card MAC,
     * new with every VM. Undefined for an engine the stack does not own.
     */
    readonly hostIdentity?: pulumi.Output<string>;
    /** The Docker host as the provider sees it, for the outputs. */
    readonly host: pulumi.Output<string>;
    /** A command resource that runs a script against the engine (gates, guards, one-off jobs). */
    command(name: string, args: HostCommandArgs, opts: pulumi.CustomResourceOptions): HostCommand;
}

/** The label that ties a container, volume or network to the machine it lives on. */
export const HOST_LABEL = "io.authentik-sso.host";

export function dockerResourceOptions(target: DockerTarget): pulumi.CustomResourceOptions {
    return { provider: target.provider };
}

/**
 * The labels every container, volume and network carries so that a new VM replaces them all. The provider's host
 * string stays the same when the VM is replaced, so Pulumi would otherwise keep believing in containers and volumes
 * that went with the old disk. Labels force replacement in the provider, and they take the VM's MAC, which is
 * unknown while the VM is being replaced: the engine then replaces these resources with the VM, in dependency order
 * (containers before the volumes and the network they use), before it deletes the old VM. (replaceWith would
 * replace them too, but deletes them in no particular order, and a volume in use refuses to go.)
 */
export function hostLabels(target: DockerTarget): { label: string; value: pulumi.Input<string> }[] {
    return target.hostIdentity !== undefined ? [{ label: HOST_LABEL, value: target.hostIdentity }] : [];
}

/** The same for an image, whose triggers force its replacement: a new VM has none of the old one's images. */
export function hostTriggers(target: DockerTarget): { triggers?: pulumi.Input<Record<string, pulumi.Input<string>>> } {
    return target.hostIdentity !== undefined ? { triggers: { [HOST_LABEL]: target.hostIdentity } } : {};
}

export interface SshDockerHostArgs {
    /** Address of the machine that runs Docker. */
    address: string;
    /** SSH user with access to Docker (in the docker group). */
    user: string;
    /** The host's SSH public key ("ssh-ed25519 AAAA…"): the readiness check and the Docker provider accept no other. */
    hostPublicKey: pulumi.Input<string>;
    /** Private key for the commands (a secret); without it the ssh-agent at SSH_AUTH_SOCK is used. */
    privateKey?: pulumi.Input<string>;
    /** Extra ssh options for the Docker provider (authentik-sso:docker.sshOpts). */
    sshOpts: readonly string[];
    /** Seconds to wait for cloud-init and Docker. */
    readyTimeoutSeconds: number;
    /**
     * The MAC address of the VM's network card, new with every VM: it re-runs the readiness check, and every Docker
     * resource carries it (hostLabels, hostTriggers).
     */
    hostIdentity: pulumi.Output<string>;
}

/**
 * A Docker daemon reached over SSH, usable only once it is ready: the Docker provider pings the daemon when it is
 * configured, so it is created after a command that waits for cloud-init to finish and `docker info` to answer
 * (pulumi-docker#1293). Every SSH client of the stack pins the machine's host key.
 */
export class SshDockerHost extends pulumi.ComponentResource implements DockerTarget {
    public readonly ready: command.remote.Command;
    public readonly provider: docker.Provider;
    public readonly hostIdentity: pulumi.Output<string>;
    public readonly host: pulumi.Output<string>;
    private readonly connection: command.types.input.remote.ConnectionArgs;

    constructor(name: string, args: SshDockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:docker:Host", name, {}, opts);
        this.hostIdentity = args.hostIdentity;

        const dialSeconds = 10;
        this.connection = {
            host: args.address,
            user: args.user,
            // Without a key the provider uses the ssh-agent at SSH_AUTH_SOCK, like the Docker provider's ssh.
            ...(args.privateKey !== undefined ? { privateKey: args.privateKey } : {}),
            hostKey: args.hostPublicKey,
            perDialTimeout: dialSeconds,
        };
        this.ready = new command.remote.Command(
            `${name}-ready`,
            {
                // The VM is still booting: keep dialling for the whole readiness window.
                connection: { ...this.connection, dialErrorLimit: Math.ceil(args.readyTimeoutSeconds / dialSeconds) },
                create: readinessScript(args.readyTimeoutSeconds),
                // Not vm.macAddresses: the guest agent lists every Docker bridge and veth there, which change with
                // every container restart, so the check would run again after each refresh.
                triggers: [args.hostIdentity],
            },
            // The component's dependsOn (the VM with its firewall) must hold for the check itself: children do not
            // inherit it.
            { parent: this, dependsOn: opts?.dependsOn },
        );

        const dockerHost = `ssh://${args.user}@${args.address}`;
        this.provider = new docker.Provider(
            `${name}-docker`,
            {
                // Derived from the check's output, so the host stays unknown (and the provider unconfigured) until the
                // check has passed: dependsOn alone does not stop a provider from connecting (pulumi/pulumi#8917).
                // The command's outputs are secret (its connection is); the host string is not.
                host: pulumi.unsecret(this.ready.stdout.apply(() => dockerHost)),
                sshOpts: pulumi.output(args.hostPublicKey).apply((hostPublicKey) => sshOptions({ address: args.address, hostPublicKey, extra: args.sshOpts })),
            },
            { parent: this, dependsOn: [this.ready] },
        );
        this.host = this.provider.host.apply((host) => host ?? dockerHost);

        this.registerOutputs({ host: this.host });
    }

    command(name: string, args: HostCommandArgs, opts: pulumi.CustomResourceOptions): HostCommand {
        return new command.remote.Command(
            name,
            { connection: this.connection, create: args.create, triggers: args.triggers },
            // Over SSH only once the machine is ready.
            { ...opts, dependsOn: [this.ready, ...dependsOnList(opts.dependsOn)] },
        );
    }
}

export interface LocalDockerHostArgs {
    /** authentik-sso:docker.host; unset follows DOCKER_HOST like the docker CLI (rootless Docker, Colima, Podman). */
    host?: string;
    /** Extra ssh options for an ssh:// host. */
    sshOpts: readonly string[];
}

/**
 * A Docker engine the machine running Pulumi reaches by itself: the local one, or docker.host. The commands run the
 * local docker CLI against the same engine.
 */
export class LocalDockerHost extends pulumi.ComponentResource implements DockerTarget {
    public readonly provider: docker.Provider;
    public readonly host: pulumi.Output<string>;
    private readonly environment: Record<string, string>;

    constructor(name: string, args: LocalDockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:docker:LocalHost", name, {}, opts);
        this.provider = new docker.Provider(
            `${name}-docker`,
            {
                // Unset, the provider follows DOCKER_HOST and then the default socket, as the docker CLI does.
                ...(args.host !== undefined ? { host: args.host } : {}),
                ...(args.sshOpts.length > 0 ? { sshOpts: [...args.sshOpts] } : {}),
            },
            { parent: this },
        );
        this.environment = args.host !== undefined ? { DOCKER_HOST: args.host } : {};
        this.host = pulumi.output(args.host ?? process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock");
        this.registerOutputs({ host: this.host });
    }

    command(name: string, args: HostCommandArgs, opts: pulumi.CustomResourceOptions): HostCommand {
        return new command.local.Command(name, { create: args.create, triggers: args.triggers, environment: this.environment }, opts);
    }
}

function dependsOnList(dependsOn: pulumi.CustomResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
    if (dependsOn === undefined) {
        return [];
    }
    return Array.isArray(dependsOn) ? dependsOn : [dependsOn as pulumi.Input<pulumi.Resource>];
}
