/**
 * What one `pulumi up` does after a config change, from two runs under mocks and the provider model: which
 * resources are created, deleted, replaced or updated in place, including the replacements the engine cascades
 * (delete-before-replace dependents, replaceWith).
 */
import { ProgramRun, RecordedResource } from "./harness";
import { changedPaths, stepFor } from "./providerModel";

export interface BlastRadius {
    created: string[];
    deleted: string[];
    replaced: string[];
    updated: string[];
}

const nameOf = (urn: string) => urn.split("::").pop() as string;

export function blastRadius(before: ProgramRun, after: ProgramRun): BlastRadius {
    const old = new Map(before.resources.filter((resource) => resource.custom).map((resource) => [resource.urn, resource]));
    const next = new Map(after.resources.filter((resource) => resource.custom).map((resource) => [resource.urn, resource]));
    const created = [...next.keys()].filter((urn) => !old.has(urn));
    const deleted = [...old.keys()].filter((urn) => !next.has(urn));
    const replaced = new Set<string>();
    const updated = new Set<string>();
    for (const [urn, resource] of next) {
        const previous = old.get(urn);
        if (!previous) {
            continue;
        }
        const step = stepFor(resource.type, changedPaths(previous.inputs, resource.inputs), resource);
        if (step === "replace") {
            replaced.add(urn);
        } else if (step === "update") {
            updated.add(urn);
        }
    }
    cascade(next, replaced, updated);
    return {
        created: created.map(nameOf).sort(),
        deleted: deleted.map(nameOf).sort(),
        replaced: [...replaced].map(nameOf).sort(),
        updated: [...updated].map(nameOf).sort(),
    };
}

/**
 * The engine's own replacements on top of the providers' (pulumi/pulumi step_generator.go): a resource listed in
 * another's replaceWith takes it along; a delete-before-replace resource first deletes (and so replaces) the
 * dependents whose replace-forcing inputs come from it; and a command whose triggers take a replaced resource's id
 * runs again.
 */
function cascade(resources: Map<string, RecordedResource>, replaced: Set<string>, updated: Set<string>): void {
    let grew = true;
    while (grew) {
        grew = false;
        for (const [urn, resource] of resources) {
            if (replaced.has(urn)) {
                continue;
            }
            const withReplaced = resource.replaceWith.some((other) => replaced.has(other));
            // A replaced resource has a new id, and the commands take ids as their triggers.
            const triggeredByNewId = (resource.propertyDependencies.triggers ?? []).some((source) => replaced.has(source));
            const fedByDeletedFirst = Object.entries(resource.propertyDependencies).some(
                ([property, sources]) =>
                    sources.some((source) => replaced.has(source) && resources.get(source)?.deleteBeforeReplace === true) && stepFor(resource.type, [property], resource) === "replace",
            );
            if (withReplaced || triggeredByNewId || fedByDeletedFirst) {
                replaced.add(urn);
                updated.delete(urn);
                grew = true;
            }
        }
    }
}
