import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { SecretRef, ServicePlan, VolumeMountPlan, VolumeRole, renderEnv, secretRefsOf } from "../lib/authentikPlan";
import { containerHardening, healthcheckArgs } from "../lib/containerDefaults";

export type SecretValues = Readonly<Partial<Record<SecretRef, pulumi.Input<string>>>>;

export interface ServiceContainerArgs {
    service: ServicePlan;
    image: docker.RemoteImage;
    networkName: pulumi.Input<string>;
    volumes: Readonly<Partial<Record<VolumeRole, docker.Volume>>>;
    secrets: SecretValues;
}

/** One planned service as a Docker container; shared by the Data and Authentik components. */
export function serviceContainer(
    resourceName: string,
    { service, image, networkName, volumes, secrets }: ServiceContainerArgs,
    opts: pulumi.CustomResourceOptions,
): docker.Container {
    return new docker.Container(
        resourceName,
        {
            name: service.containerName,
            image: image.imageId,
            command: service.command ? [...service.command] : undefined,
            envs: environment(service, secrets),
            ...(service.user !== undefined ? { user: service.user } : {}),
            ...(service.shmSizeMb !== undefined ? { shmSize: service.shmSizeMb } : {}),
            memory: service.memoryMb,
            networksAdvanced: [{ name: networkName, aliases: [service.alias] }],
            ports: service.publish ? [{ internal: service.publish.internal, external: service.publish.port, ip: service.publish.ip }] : [],
            volumes: service.mounts.map((mount) => volumeArgs(mount, volumes)),
            healthcheck: healthcheckArgs(service.healthcheck),
            // wait: dependsOn alone only orders creation; waiting for "healthy" is what makes the database ready
            // before authentik and makes `pulumi up` end with a working authentik.
            wait: true,
            waitTimeout: service.waitTimeoutSeconds,
            ...containerHardening(),
        },
        // The container name is fixed, so the old container must go before its replacement starts.
        { deleteBeforeReplace: true, ...opts },
    );
}

/** A RemoteImage that keeps the image on the host when replaced, so a rollback needs no download. */
export function pinnedImage(resourceName: string, reference: string, opts: pulumi.CustomResourceOptions): docker.RemoteImage {
    return new docker.RemoteImage(resourceName, { name: reference, keepLocally: true }, opts);
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
