import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { SecretRef, ServicePlan, VolumeMountPlan, VolumeRole, renderEnv, secretRefsOf } from "../../lib/authentikPlan";
import { CONTAINER_REPLACE_ON_CHANGES, containerBase, healthcheckArgs } from "../../lib/containerDefaults";
import { healthGateScript } from "../../lib/hostScripts";
import { DockerTarget, HostCommand, dockerResourceOptions, hostLabels, hostTriggers } from "./dockerHost";

export type SecretValues = Readonly<Partial<Record<SecretRef, pulumi.Input<string>>>>;

/** A container and the gate that says it is up: everything that needs the container waits for the gate. */
export interface GatedContainer {
    readonly container: docker.Container;
    /** Passes once the container reports healthy; fails `pulumi up` otherwise, and runs again on the next one. */
    readonly ready: HostCommand;
}

export interface ContainerGateArgs {
    /** Container name on the host. */
    name: string;
    /** Seconds to wait for healthy. */
    timeoutSeconds: number;
    /** A further command that must succeed once healthy. */
    alsoRequire?: string;
    /** A command that must succeed before the gate waits at all. */
    precondition?: string;
}

/**
 * The gate of a container: a command that waits for "healthy" and is re-created whenever the container is (its id
 * is the trigger). The container itself does not wait (no `wait`): the provider's wait happens after it has stored
 * the container, so a time-out there would leave a container that the next `pulumi up` accepts unchecked.
 */
export function containerGate(
    target: DockerTarget,
    resourceName: string,
    container: docker.Container,
    args: ContainerGateArgs,
    opts: pulumi.CustomResourceOptions,
): HostCommand {
    return target.command(
        resourceName,
        {
            create: healthGateScript({
                container: args.name,
                timeoutSeconds: args.timeoutSeconds,
                ...(args.alsoRequire !== undefined ? { alsoRequire: args.alsoRequire } : {}),
                ...(args.precondition !== undefined ? { precondition: args.precondition } : {}),
            }),
            triggers: [container.id],
        },
        { ...opts, dependsOn: [container] },
    );
}

export interface ServiceContainerArgs {
    service: ServicePlan;
    image: docker.RemoteImage;
    networkName: pulumi.Input<string>;
    volumes: Readonly<Partial<Record<VolumeRole, docker.Volume>>>;
    secrets: SecretValues;
    target: DockerTarget;
    /** Checked once before the gate waits (see containerGate). */
    gatePrecondition?: string;
}

/** One planned service as a Docker container with its gate; shared by the Data and Authentik components. */
export function serviceContainer(
    resourceName: string,
    { service, image, networkName, volumes, secrets, target, gatePrecondition }: ServiceContainerArgs,
    opts: pulumi.CustomResourceOptions,
): GatedContainer {
    const container = new docker.Container(
        resourceName,
        {
            name: service.containerName,
            image: image.imageId,
            command: service.command ? [...service.command] : undefined,
            envs: environment(service, secrets),
            ...(service.user !== undefined ? { user: service.user } : {}),
            ...(service.shmSizeMb !== undefined ? { shmSize: service.shmSizeMb } : {}),
            networksAdvanced: [{ name: networkName, aliases: [service.alias] }],
            ports: service.publish ? [{ internal: service.publish.internal, external: service.publish.port, ip: service.publish.ip }] : [],
            volumes: service.mounts.map((mount) => volumeArgs(mount, volumes)),
            healthcheck: healthcheckArgs(service.healthcheck),
            labels: hostLabels(target),
            ...(service.uploads !== undefined ? { uploads: service.uploads.map((upload) => ({ file: upload.file, content: upload.content })) } : {}),
            ...containerBase(service.memoryMb, service.stopGraceSeconds),
        },
        // The container name is fixed, so the old container must go before its replacement starts.
        { deleteBeforeReplace: true, replaceOnChanges: [...CONTAINER_REPLACE_ON_CHANGES], ...dockerResourceOptions(target), ...opts },
    );
    const ready = containerGate(
        target,
        `${resourceName}-ready`,
        container,
        { name: service.containerName, timeoutSeconds: service.readyTimeoutSeconds, ...(gatePrecondition !== undefined ? { precondition: gatePrecondition } : {}) },
        { parent: opts.parent },
    );
    return { container, ready };
}

/**
 * A RemoteImage that keeps the image on the host when replaced (old authentik images are pruned after an upgrade),
 * and is pulled again on a new VM.
 */
export function pinnedImage(resourceName: string, reference: string, target: DockerTarget, opts: pulumi.CustomResourceOptions): docker.RemoteImage {
    return new docker.RemoteImage(resourceName, { name: reference, keepLocally: true, ...hostTriggers(target) }, { ...dockerResourceOptions(target), ...opts });
}

function environment(service: ServicePlan, secrets: SecretValues): pulumi.Input<string[]> {
    const refs = secretRefsOf(service.env);
    if (refs.length === 0) {
        return renderEnv(service.env, {});
    }
    const values = Object.fromEntries(
        refs.map((ref) => {
            const value = secrets[ref];
            if (value === undefined) {
                throw new Error(`the ${service.role} container needs the secret ${ref}, which was not provided`);
            }
            return [ref, value];
        }),
    );
    // The whole list is secret: it holds passwords and the secret key, and Docker's envs is one property.
    return pulumi.secret(pulumi.all(values).apply((resolved) => renderEnv(service.env, resolved)));
}

/** A planned mount as Docker's volume argument: a named volume of the plan, or a host path. */
export function volumeArgs(mount: VolumeMountPlan, volumes: Readonly<Partial<Record<VolumeRole, docker.Volume>>>): docker.types.input.ContainerVolume {
    if (mount.volume !== undefined) {
        const volume = volumes[mount.volume];
        if (!volume) {
            throw new Error(`volume ${mount.volume} is mounted but not planned`);
        }
        return { volumeName: volume.name, containerPath: mount.containerPath, readOnly: mount.readOnly ?? false };
    }
    return { hostPath: mount.hostPath, containerPath: mount.containerPath, readOnly: mount.readOnly ?? false };
}
