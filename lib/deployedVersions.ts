import * as pulumi from "@pulumi/pulumi";
import type { DeployedVersions } from "./upgradeGuard";

/**
 * Reads what this stack exported after its last successful update, through a StackReference to itself. A new
 * stack has no outputs yet and returns nothing.
 */
export async function readDeployedVersions(): Promise<DeployedVersions> {
    const self = new pulumi.StackReference("deployed", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
    const [authentik, postgres, disk] = await Promise.all([
        self.getOutputDetails("authentikVersion"),
        self.getOutputDetails("postgresImage"),
        self.getOutputDetails("vmDiskGb"),
    ]);
    const deployed: DeployedVersions = {};
    if (typeof authentik.value === "string") {
        deployed.authentikVersion = authentik.value;
    }
    if (typeof postgres.value === "string") {
        deployed.postgresImage = postgres.value;
    }
    if (typeof disk.value === "number") {
        deployed.vmDiskGb = disk.value;
    }
    return deployed;
}
