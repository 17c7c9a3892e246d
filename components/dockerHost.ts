import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { readinessScript, sshOptions } from "../lib/dockerHostPlan";

export interface DockerHostArgs {
    /** Address of the machine that runs Docker. */
    address: pulumi.Input<string>;
    /** SSH user with access to Docker. */
    user: string;
    /** Private key for the readiness check (a secret); without it the ssh-agent at SSH_AUTH_SOCK is used. */
    privateKey?: pulumi.Input<string>;
    /** Seconds to wait for cloud-init and Docker. */
    readyTimeoutSeconds: number;
    /** Changing any of these re-runs the readiness check, e.g. the VM's MAC addresses after a replacement. */
    triggers: pulumi.Input<unknown>[];
}

/**
 * A Docker daemon reached over SSH, usable only once it is ready: the Docker provider pings the daemon when it is
 * configured, so it is created after a command that waits for cloud-init to finish and `docker info` to answer
 * (pulumi-docker#1293).
 */
export class DockerHost extends pulumi.ComponentResource {
    public readonly ready: command.remote.Command;
    public readonly provider: docker.Provider;

    constructor(name: string, args: DockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:docker:Host", name, {}, opts);

        const dialSeconds = 10;
        this.ready = new command.remote.Command(
            `${name}-ready`,
            {
                connection: {
                    host: args.address,
                    user: args.user,
                    // Without a key the provider uses the ssh-agent at SSH_AUTH_SOCK, like the Docker provider's ssh.
                    ...(args.privateKey !== undefined ? { privateKey: args.privateKey } : {}),
                    // The VM is still booting: keep dialling for the whole readiness window.
                    perDialTimeout: dialSeconds,
                    dialErrorLimit: Math.ceil(args.readyTimeoutSeconds / dialSeconds),
                },
                create: readinessScript(args.readyTimeoutSeconds),
                triggers: args.triggers,
            },
            // The component's dependsOn (the VM with its firewall) must hold for the check itself: children do not
            // inherit it.
            { parent: this, dependsOn: opts?.dependsOn },
        );

        this.provider = new docker.Provider(
            `${name}-docker`,
            // The host is derived from the check's output, so it stays unknown (and the provider unconfigured) until
            // the check has passed: dependsOn alone does not stop a provider from connecting (pulumi/pulumi#8917).
            { host: pulumi.all([this.ready.stdout, args.address]).apply(([, address]) => `ssh://${args.user}@${address}`), sshOpts: sshOptions() },
            // dependsOn: the provider connects as soon as it exists, so it must wait for a ready daemon.
            { parent: this, dependsOn: [this.ready] },
        );

        this.registerOutputs({ host: this.provider.host });
    }
}
