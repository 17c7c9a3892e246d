/**
 * authentik blueprints as data: entries whose values may be authentik's YAML tags (!KeyOf, !Find, !Env, …), written
 * to YAML and read back with the same tags. Pure; the `yaml` library does the YAML.
 */
import { Document, Scalar, YAMLMap, YAMLSeq, isSeq, parseDocument } from "yaml";
import type { CollectionTag, ScalarTag } from "yaml";

/** Tags every supported line (2025.6 and later) knows; !File, !FindObject and !ParseJSON only from 2025.8. */
export const BLUEPRINT_TAGS = ["!KeyOf", "!Find", "!Context", "!Format", "!Env", "!If", "!Condition", "!Enumerate", "!Index", "!Value", "!AtIndex", "!File", "!FindObject", "!ParseJSON"] as const;
export type BlueprintTagName = (typeof BLUEPRINT_TAGS)[number];
/** Tags a 2025.6 worker cannot parse. */
export const TAGS_FROM_2025_8: readonly BlueprintTagName[] = ["!File", "!FindObject", "!ParseJSON"];

/** A value authentik resolves when it applies the blueprint. */
export class Tag {
    constructor(
        readonly name: BlueprintTagName,
        readonly value: unknown,
    ) {}
}

/** The object an entry with `id: name` created in the same file. */
export const keyOf = (id: string) => new Tag("!KeyOf", id);
/** The primary key of an existing object, looked up by fields. */
export const find = (model: string, ...fields: [string, unknown][]) => new Tag("!Find", [model, ...fields]);
/** An environment variable of the worker: how secrets reach a blueprint without being in it. */
export const env = (name: string) => new Tag("!Env", name);

export type BlueprintState = "present" | "created" | "must_created" | "absent";

export interface BlueprintEntry {
    readonly model: string;
    readonly identifiers: Readonly<Record<string, unknown>>;
    readonly attrs?: Readonly<Record<string, unknown>>;
    /** For !KeyOf in the same file. */
    readonly id?: string;
    readonly state?: BlueprintState;
}

export interface Blueprint {
    readonly version: 1;
    readonly metadata: { readonly name: string; readonly labels?: Readonly<Record<string, string>> };
    readonly entries: readonly BlueprintEntry[];
}

function toNode(document: Document, value: unknown): unknown {
    if (value instanceof Tag) {
        const node = toNode(document, value.value) as Scalar | YAMLSeq | YAMLMap;
        node.tag = value.name;
        if (isSeq(node)) {
            // authentik's own blueprints write a tag's list on one line: !Find [model, [field, value]].
            node.flow = true;
        }
        return node;
    }
    if (Array.isArray(value)) {
        const sequence = new YAMLSeq();
        sequence.items = value.map((item) => toNode(document, item));
        return sequence;
    }
    if (value !== null && typeof value === "object") {
        const map = new YAMLMap();
        for (const [key, item] of Object.entries(value)) {
            if (item !== undefined) {
                map.set(key, toNode(document, item));
            }
        }
        return map;
    }
    return document.createNode(value);
}

/** The blueprint as authentik reads it: tags written as tags, keys in the order given, nothing undefined. */
export function stringifyBlueprint(blueprint: Blueprint): string {
    const document = new Document();
    document.contents = toNode(document, blueprint) as YAMLMap;
    return document.toString({ lineWidth: 0 });
}

function tagsForParsing(): (ScalarTag | CollectionTag)[] {
    return BLUEPRINT_TAGS.flatMap((name): (ScalarTag | CollectionTag)[] => [
        { tag: name, resolve: (text: string) => new Tag(name, text) },
        { tag: name, collection: "seq", resolve: (sequence) => new Tag(name, (sequence as YAMLSeq).toJSON()) },
        { tag: name, collection: "map", resolve: (map) => new Tag(name, (map as YAMLMap).toJSON()) },
    ]);
}

/** Reads a blueprint file: authentik's tags become Tag values; a YAML error or an unknown tag throws. */
export function parseBlueprint(text: string): unknown {
    const document = parseDocument(text, { customTags: tagsForParsing(), uniqueKeys: true });
    const problems = [...document.errors, ...document.warnings];
    if (problems.length > 0) {
        throw new Error(problems.map((problem) => problem.message).join("; "));
    }
    return document.toJS();
}

/** Every tag in a value, with its path (JSON pointer), e.g. for tags a release line does not know. */
export function tagsIn(value: unknown, at = ""): { path: string; tag: Tag }[] {
    if (value instanceof Tag) {
        return [{ path: at, tag: value }, ...tagsIn(value.value, at)];
    }
    // A list too: its keys are its indexes.
    if (value !== null && typeof value === "object") {
        return Object.entries(value).flatMap(([key, item]) => tagsIn(item, `${at}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`));
    }
    return [];
}
