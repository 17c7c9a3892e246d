/**
 * The user's own blueprints (identity.blueprints): every *.yaml under the folder, checked against authentik's schema
 * of the stack's release line before anything is created, and shipped to the worker as they are.
 */
import * as fs from "fs";
import * as path from "path";
import { blueprintValidator, formatProblems } from "./blueprintSchema";
import { parseBlueprint } from "./blueprintYaml";
import { STACK_BLUEPRINTS_DIR } from "./identityPlan";
import type { BlueprintFile } from "./identityPlan";
import { ReleaseLine } from "./versions";

/** Where the user's files go in the worker, below the stack's folder. */
export const USER_BLUEPRINTS_DIR = `${STACK_BLUEPRINTS_DIR}/user`;

function yamlFiles(folder: string, relative = ""): string[] {
    return fs
        .readdirSync(path.join(folder, relative), { withFileTypes: true })
        .filter((entry) => !entry.name.startsWith("."))
        .sort((a, b) => a.name.localeCompare(b.name))
        .flatMap((entry) => {
            const name = relative === "" ? entry.name : `${relative}/${entry.name}`;
            return entry.isDirectory() ? yamlFiles(folder, name) : [name];
        });
}

export interface UserBlueprintsResult {
    readonly files: readonly BlueprintFile[];
    /** One line per problem, naming the file and the entry; empty when every file is valid. */
    readonly problems: readonly string[];
}

export function readUserBlueprints(folder: string, projectDir: string, line: ReleaseLine): UserBlueprintsResult {
    const key = "authentik-sso:identity.blueprints";
    const absolute = path.resolve(projectDir, folder);
    if (!fs.existsSync(absolute) || !fs.statSync(absolute).isDirectory()) {
        return { files: [], problems: [`${key}: got "${folder}"; is not a folder (relative to ${projectDir})`] };
    }
    const problems: string[] = [];
    const files: BlueprintFile[] = [];
    const names = new Map<string, string>();
    for (const name of yamlFiles(absolute)) {
        if (name.endsWith(".yml")) {
            problems.push(`${key}: ${folder}/${name}: authentik reads only *.yaml and would ignore it; rename it`);
            continue;
        }
        if (!name.endsWith(".yaml")) {
            continue;
        }
        // LF only: authentik stores the hash of the text as Python reads it (universal newlines) but compares the file's
        // bytes, so a CRLF file would never match and be applied again on every discovery.
        const content = fs.readFileSync(path.join(absolute, name), "utf8").replace(/\r\n?/g, "\n");
        let document: unknown;
        try {
            document = parseBlueprint(content);
        } catch (error) {
            problems.push(`${key}: ${folder}/${name}: is not YAML authentik can read: ${(error as Error).message}`);
            continue;
        }
        const found = blueprintValidator(line).validate(document);
        problems.push(...formatProblems(`${key}: ${folder}/${name}`, found));
        const blueprintName = (document as { metadata?: { name?: unknown } } | null)?.metadata?.name;
        if (typeof blueprintName === "string") {
            // authentik keeps one instance per name: a second file of the same name stops its discovery of the rest.
            const first = names.get(blueprintName);
            if (first !== undefined) {
                problems.push(`${key}: ${folder}/${name}: its metadata.name "${blueprintName}" is the name of ${first} too; authentik needs each name once`);
            } else if (blueprintName.startsWith("authentik-sso ") || blueprintName.startsWith("Default - ") || blueprintName.startsWith("System - ")) {
                problems.push(`${key}: ${folder}/${name}: its metadata.name "${blueprintName}" is taken by the stack's or authentik's own blueprints; choose another`);
            }
            names.set(blueprintName, `${folder}/${name}`);
        }
        files.push({ path: `${USER_BLUEPRINTS_DIR}/${name}`, content });
    }
    if (files.length === 0 && problems.length === 0) {
        problems.push(`${key}: ${folder} holds no *.yaml file`);
    }
    return { files, problems };
}
