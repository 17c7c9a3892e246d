import * as crypto from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { applyBlueprintsScript } from "../../lib/hostScripts";
import { BlueprintFile } from "../../lib/identityPlan";
import { DockerTarget, HostCommand } from "./dockerHost";

export interface BlueprintsArgs {
    files: readonly BlueprintFile[];
    worker: { container: docker.Container; ready: HostCommand };
    workerName: string;
    target: DockerTarget;
}

/** The sha256 of every file's path and content: what the apply command's trigger follows. */
export function blueprintsDigest(files: readonly BlueprintFile[]): string {
    const hash = crypto.createHash("sha256");
    for (const file of files) {
        hash.update(`${file.path}\0${file.content}\0`);
    }
    return hash.digest("hex");
}

/**
 * Proves the blueprints applied: once the worker is healthy, authentik's own `ak apply_blueprint` runs for each file in
 * the worker, and `pulumi up` fails with the file's name and authentik's message when one does not validate or apply.
 * Runs again when a file changes (the digest) or the worker is replaced (its id: a new version, a new VM).
 */
export class Blueprints extends pulumi.ComponentResource {
    public readonly applied: HostCommand;

    constructor(name: string, args: BlueprintsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:authentik:Blueprints", name, {}, opts);
        this.applied = args.target.command(
            `${name}-apply`,
            {
                create: applyBlueprintsScript({ container: args.workerName, paths: args.files.map((file) => file.path) }),
                triggers: [blueprintsDigest(args.files), args.worker.container.id],
            },
            { parent: this, dependsOn: [args.worker.ready] },
        );
        this.registerOutputs({ digest: blueprintsDigest(args.files) });
    }
}
