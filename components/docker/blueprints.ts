import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { applyBlueprintsScript } from "../../lib/hostScripts";
import { BlueprintFile } from "../../lib/identityPlan";
import { DockerTarget, HostCommand } from "./dockerHost";

export const APPLY_PROGRAM = path.join(__dirname, "..", "..", "scripts", "apply-blueprints.py");

export interface BlueprintsArgs {
    files: readonly BlueprintFile[];
    worker: { container: docker.Container; ready: HostCommand };
    workerName: string;
    /** The server container, which runs the check against authentik's API. */
    serverName: string;
    /** The server's gate: the API must answer. */
    serverReady: HostCommand;
    /** The worker's variables the files read with !Env. */
    secretEnv: readonly string[];
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
 * Proves the blueprints applied: once server and worker are healthy, a check asks authentik's API (from inside the
 * server container) until every file is applied with its current content, asking for an apply where the worker has
 * not done it by itself, and `pulumi up` fails with each file that does not get there. Runs again when a file changes
 * (the digest) or the worker is replaced (its id: a new version, a new VM).
 */
export class Blueprints extends pulumi.ComponentResource {
    public readonly applied: HostCommand;

    constructor(name: string, args: BlueprintsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:authentik:Blueprints", name, {}, opts);
        this.applied = args.target.command(
            `${name}-apply`,
            {
                create: applyBlueprintsScript({
                    worker: args.workerName,
                    server: args.serverName,
                    files: args.files.map((file) => ({ path: file.path, sha512: crypto.createHash("sha512").update(file.content, "utf8").digest("hex") })),
                    secretEnv: args.secretEnv,
                    program: fs.readFileSync(APPLY_PROGRAM, "utf8"),
                }),
                triggers: [blueprintsDigest(args.files), args.worker.container.id],
            },
            { parent: this, dependsOn: [args.worker.ready, args.serverReady] },
        );
        this.registerOutputs({ digest: blueprintsDigest(args.files) });
    }
}
