/**
 * Checks blueprints against authentik's own blueprint JSON schema of a release line (vendored, see
 * vendor/authentik-blueprint-schema/SOURCES.md), entry by entry against the branch of its model, with one change:
 * an attribute the model does not have is an error. authentik drops unknown attributes silently, so a misspelt or
 * renamed field would otherwise be a setting that quietly does nothing. Values that are tags (!Find, !Env, …) are
 * resolved only when authentik applies the file: nothing is checked at or inside them.
 */
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import Ajv, { ErrorObject, ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { TAGS_FROM_2025_8, tagsIn } from "./blueprintYaml";
import { ReleaseLine } from "./versions";

export const SCHEMA_DIR = path.join(__dirname, "..", "vendor", "authentik-blueprint-schema");

interface EntrySchema {
    properties?: { model?: { const?: string } };
}

export interface BlueprintSchemaDocument {
    title?: string;
    properties: { entries: { items?: { oneOf?: EntrySchema[] } } };
    $defs: Record<string, { properties?: Record<string, unknown>; additionalProperties?: boolean; oneOf?: EntrySchema[] }>;
}

const FLOW_REFERENCE = { type: "string", format: "uuid" };
const GRANT_TYPES = ["authorization_code", "implicit", "hybrid", "refresh_token", "client_credentials", "password", "urn:ietf:params:oauth:grant-type:device_code"];

/**
 * Fields the real releases have and the stand-in schemas of 2026.5 and 2026.8 (a 2026.5.0-rc1 snapshot of main: no
 * release schema is public) lack, from the OpenAPI schema in @goauthentik/api 2026.5.6 and 2026.8.3
 * (vendor/authentik-blueprint-schema/SOURCES.md). Only additions: nothing the snapshot has is loosened.
 */
export const STAND_IN_ADDITIONS: Partial<Record<ReleaseLine, Record<string, Record<string, object>>>> = {
    "2026.5": {
        "model_authentik_providers_oauth2.oauth2provider": { grant_types: { type: "array", items: { type: "string", enum: GRANT_TYPES } } },
        "model_authentik_brands.brand": { flow_lockdown: FLOW_REFERENCE },
        "model_authentik_core.application": { meta_hide: { type: "boolean" } },
    },
    "2026.8": {
        "model_authentik_providers_oauth2.oauth2provider": {
            grant_types: { type: "array", items: { type: "string", enum: [...GRANT_TYPES, "urn:ietf:params:oauth:grant-type:token-exchange"] } },
        },
        "model_authentik_brands.brand": { flow_lockdown: FLOW_REFERENCE, flow_request: FLOW_REFERENCE, flow_user_switch: FLOW_REFERENCE, branding_map_tiles: { type: "string" } },
        "model_authentik_core.application": { meta_hide: { type: "boolean" } },
    },
};

export interface SchemaProblem {
    /** 0-based index of the entry, or undefined for the document. */
    readonly entry?: number;
    readonly model?: string;
    readonly message: string;
}

export class BlueprintValidator {
    readonly title: string;
    private readonly validators = new Map<string, ValidateFunction>();
    private readonly ajv: Ajv;

    constructor(
        readonly line: ReleaseLine,
        schema: BlueprintSchemaDocument,
    ) {
        this.title = schema.title ?? `authentik ${line} blueprint schema`;
        for (const [definition, properties] of Object.entries(STAND_IN_ADDITIONS[line] ?? {})) {
            const target = schema.$defs[definition];
            if (target?.properties === undefined) {
                throw new Error(`${definition} is not in the ${line} schema`);
            }
            for (const [name, property] of Object.entries(properties)) {
                target.properties[name] ??= property;
            }
        }
        // Unknown attributes become errors: authentik drops them without a word. Every definition with fields is a
        // model's (a model's permissions are a list); one without fields is a free-form mapping and stays open.
        for (const definition of Object.values(schema.$defs)) {
            if (definition.properties !== undefined) {
                definition.additionalProperties = false;
            }
        }
        const branches = schema.$defs.blueprint_entry?.oneOf ?? schema.properties.entries.items?.oneOf ?? [];
        // An entry's own keys too (model, identifiers, attrs, id, state, conditions, permissions): authentik ignores a
        // misspelt one (attr:) without a word.
        for (const branch of branches) {
            (branch as { additionalProperties?: boolean }).additionalProperties = false;
        }
        this.ajv = new Ajv({ strict: false, allErrors: true, logger: false, verbose: true });
        addFormats(this.ajv);
        this.ajv.addSchema(schema, "blueprint");
        branches.forEach((branch, index) => {
            const model = branch.properties?.model?.const;
            if (model !== undefined) {
                const pointer = schema.$defs.blueprint_entry?.oneOf ? `/$defs/blueprint_entry/oneOf/${index}` : `/properties/entries/items/oneOf/${index}`;
                this.validators.set(model, this.lazy(pointer));
            }
        });
    }

    private lazy(pointer: string): ValidateFunction {
        let compiled: ValidateFunction | undefined;
        const validate = ((data: unknown) => {
            compiled ??= this.ajv.getSchema(`blueprint#${pointer}`) as ValidateFunction;
            const ok = compiled(data);
            validate.errors = compiled.errors;
            return ok;
        }) as ValidateFunction;
        return validate;
    }

    /** Every problem of a parsed blueprint (tags as Tag values). */
    validate(document: unknown): SchemaProblem[] {
        if (document === null || typeof document !== "object" || Array.isArray(document)) {
            return [{ message: "is not a blueprint (a YAML mapping with version and entries)" }];
        }
        const blueprint = document as { version?: unknown; metadata?: { name?: unknown }; entries?: unknown };
        const problems: SchemaProblem[] = [];
        if (blueprint.version !== 1) {
            problems.push({ message: `version must be 1 (authentik ignores anything else), got ${JSON.stringify(blueprint.version)}` });
        }
        if (blueprint.metadata !== undefined && typeof blueprint.metadata?.name !== "string") {
            problems.push({ message: "metadata needs a name" });
        }
        let entries: unknown[];
        if (Array.isArray(blueprint.entries)) {
            entries = blueprint.entries;
        } else if (blueprint.entries !== null && typeof blueprint.entries === "object" && this.line !== "2025.6") {
            // From 2025.8 entries may be a map of named lists.
            entries = Object.values(blueprint.entries as Record<string, unknown>).flatMap((list): unknown[] => (Array.isArray(list) ? (list as unknown[]) : [list]));
        } else {
            return [...problems, { message: this.line === "2025.6" ? "entries must be a list (a map of lists needs 2025.8)" : "entries must be a list, or a map of lists" }];
        }
        if (this.line === "2025.6") {
            for (const { path: at, tag } of tagsIn(document)) {
                if (TAGS_FROM_2025_8.includes(tag.name)) {
                    problems.push({ message: `${tag.name} at ${at} needs authentik 2025.8 or later; a 2025.6 worker cannot read the file` });
                }
            }
        }
        entries.forEach((entry, index) => problems.push(...this.validateEntry(entry, index)));
        return problems;
    }

    private validateEntry(entry: unknown, index: number): SchemaProblem[] {
        const model = (entry as { model?: unknown } | null)?.model;
        if (typeof model !== "string") {
            return [{ entry: index, message: "has no model" }];
        }
        const validate = this.validators.get(model);
        if (!validate) {
            return [{ entry: index, model, message: `model ${model} does not exist in ${this.title}` }];
        }
        if (model === "authentik_blueprints.metaapplyblueprint" && (this.line === "2025.8" || this.line === "2025.10")) {
            // Applied inline, it asks for the running task, which `ak apply_blueprint` does not have (fixed in 2025.12).
            return [{ entry: index, model, message: `fails under ak apply_blueprint on ${this.line} (it needs a worker task; fixed in 2025.12): put the entries into one file instead` }];
        }
        if (validate(entry)) {
            return [];
        }
        const tagPaths = tagsIn(entry).map((found) => found.path);
        const insideTag = (pointer: string) => tagPaths.some((tagPath) => pointer === tagPath || pointer.startsWith(`${tagPath}/`));
        return (
            (validate.errors ?? [])
                // What a tag resolves to is known only when authentik applies the file; a field whose value is a tag is
                // still a field, and refused when the model has none of that name.
                .filter((error) => !insideTag(error.instancePath))
                // A reference to another object may be null (unlinked): the schema gives these only as uuid strings.
                .filter((error) => !(error.keyword === "type" && error.data === null && (error.parentSchema as { format?: string } | undefined)?.format === "uuid"))
                .map((error) => ({ entry: index, model, message: describe(error) }))
        );
    }
}

function describe(error: ErrorObject): string {
    const at = error.instancePath || "/";
    if (error.keyword === "additionalProperties") {
        return `${at}: ${String(error.params.additionalProperty)} is not a field of this model (authentik would drop it silently)`;
    }
    if (error.keyword === "enum") {
        return `${at}: ${error.message ?? "is not allowed"} (${(error.params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(", ")})`;
    }
    return `${at}: ${error.message ?? error.keyword}`;
}

const cache = new Map<ReleaseLine, BlueprintValidator>();

/** The validator of a release line, from its vendored schema (read and compiled once). */
export function blueprintValidator(line: ReleaseLine): BlueprintValidator {
    let validator = cache.get(line);
    if (!validator) {
        const schema = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(SCHEMA_DIR, `${line}.json.gz`))).toString("utf8")) as BlueprintSchemaDocument;
        validator = new BlueprintValidator(line, schema);
        cache.set(line, validator);
    }
    return validator;
}

/** One line per problem, naming the file and the entry. */
export function formatProblems(file: string, problems: readonly SchemaProblem[]): string[] {
    return problems.map((problem) => `${file}${problem.entry !== undefined ? ` entry ${problem.entry + 1}${problem.model !== undefined ? ` (${problem.model})` : ""}` : ""}: ${problem.message}`);
}


