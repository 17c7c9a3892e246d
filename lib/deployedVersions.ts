import * as pulumi from "@pulumi/pulumi";
import type { DeployedVersions } from "./upgradeGuard";

/**
 * Reads the versions this stack exported after its last update, through a StackReference to itself. A new stack
 * has no outputs yet and returns nothing.
 */
export async function readDeployedVersions(): Promise<DeployedVersions> {
    const self = new pulumi.StackReference("deployed", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
    const [authentik, postgres] = await Promise.all([self.getOutputDetails("authentikVersion"), self.getOutputDetails("postgresImage")]);
    const asString = (value: unknown) => (typeof value === "string" ? value : undefined);
    const deployed: DeployedVersions = {};
    const authentikVersion = asString(authentik.value);
    const postgresImage = asString(postgres.value);
    if (authentikVersion !== undefined) {
        deployed.authentikVersion = authentikVersion;
    }
    if (postgresImage !== undefined) {
        deployed.postgresImage = postgresImage;
    }
    return deployed;
}
