/**
 * Rules for changing what is deployed: authentik one release line at a time and never backwards, PostgreSQL
 * major versions only when explicitly allowed (they need a dump and restore).
 */
import type { StackConfig } from "./config";
import { postgresMajorVersion } from "./postgresImage";
import { checkUpgrade, compareVersions, parseAuthentikVersion } from "./versions";

/** What the stack's last successful update exported. */
export interface DeployedVersions {
    authentikVersion?: string;
    postgresImage?: string;
    /** Size of the VM's disk in GB. */
    vmDiskGb?: number;
}

export class UpgradeError extends Error {
    /** Marks this as a Pulumi RunError (checked by duck typing), so `pulumi up` prints the message without a stack trace. */
    readonly __pulumiRunError = true;

    constructor(readonly problems: readonly string[]) {
        super(`Refusing this change (nothing was created or replaced):\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
        this.name = "UpgradeError";
    }
}

export function upgradeProblems(deployed: DeployedVersions, config: StackConfig): string[] {
    const problems: string[] = [];
    const from = deployed.authentikVersion !== undefined ? parseAuthentikVersion(deployed.authentikVersion) : undefined;
    const to = parseAuthentikVersion(config.authentik.version);
    if (from && to) {
        const check = checkUpgrade(from, to);
        const isDowngrade = compareVersions(to, from) < 0;
        if (!check.ok && !(isDowngrade && config.upgrades.allowDowngrade)) {
            problems.push(
                `authentik-sso:authentik.version: got "${to.tag}" while ${from.tag} is deployed; ${check.reason}. Steps: ${check.steps
                    .map((step, index) => `(${index + 1}) ${step}`)
                    .join(" ")}`,
            );
        }
    }
    const oldMajor = deployed.postgresImage !== undefined ? postgresMajorVersion(deployed.postgresImage) : undefined;
    // Config validation refuses an image whose major cannot be read, so only an old stack's export can lack one.
    const newMajor = postgresMajorVersion(config.docker.images.postgresql);
    if (oldMajor !== undefined && oldMajor !== newMajor && !config.upgrades.allowPostgresMajorChange) {
        problems.push(
            `authentik-sso:docker.images.postgresql: got "${config.docker.images.postgresql}" while PostgreSQL ${oldMajor} (${deployed.postgresImage}) is deployed; a major version change needs a dump and restore (README, "PostgreSQL major upgrade"), then set authentik-sso:upgrades.allowPostgresMajorChange to true for that one update`,
        );
    }
    if (deployed.vmDiskGb !== undefined && config.proxmox && config.proxmox.diskGb < deployed.vmDiskGb) {
        problems.push(
            `authentik-sso:proxmox.diskGb: got ${config.proxmox.diskGb} while the VM's disk has ${deployed.vmDiskGb} GB; Proxmox cannot shrink a disk ("Cannot shrink … it is not supported!"), so keep ${deployed.vmDiskGb} or more (a smaller disk means a new VM: back up, replace the VM, restore)`,
        );
    }
    return problems;
}

export function assertSafeUpgrade(deployed: DeployedVersions, config: StackConfig): void {
    const problems = upgradeProblems(deployed, config);
    if (problems.length > 0) {
        throw new UpgradeError(problems);
    }
}
