/**
 * renovate.json: valid against Renovate's published schema (of the pinned Renovate release, fetched by
 * scripts/fetch-renovate-schema.sh), its custom version-matching patterns tried on the real files (each pinned value
 * found, nothing else), and its authentik rules in step with the program's release-line ladder.
 */
import * as fs from "fs";
import * as path from "path";
import Ajv, { type ValidateFunction } from "ajv";
import { DEFAULT_AUTHENTIK_VERSION, DEFAULT_IMAGES } from "../lib/config";
import { SUPPORTED_RELEASE_LINES } from "../lib/versions";
import { BARMAN_CLOUD_PLUGIN, CNPG_OPERATOR_CHART, CNPG_POSTGRES_IMAGE } from "../lib/kubernetes/plan";
import { REPO_ROOT, loadStackFile, stackNames } from "./harness";
import { describeWithTool } from "./tools";

interface CustomManager {
    customType: string;
    description: string;
    managerFilePatterns: string[];
    matchStrings: string[];
    depNameTemplate?: string;
    datasourceTemplate: string;
}
interface PackageRule {
    description: string;
    matchDepNames?: string[];
    matchPackageNames?: string[];
    matchManagers?: string[];
    matchUpdateTypes?: string[];
    matchDepTypes?: string[];
    schedule?: string[];
    matchCurrentVersion?: string;
    allowedVersions?: string;
    enabled?: boolean;
    groupName?: string;
    rangeStrategy?: string;
    pinDigests?: boolean;
}
interface RenovateConfig {
    customManagers: CustomManager[];
    packageRules: PackageRule[];
    [key: string]: unknown;
}

const config = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "renovate.json"), "utf8")) as RenovateConfig;
const SCHEMA = path.join(REPO_ROOT, ".cache", "renovate-schema.json");

/** A Renovate "/…/" pattern as a JavaScript RegExp. */
function slashRegExp(pattern: string): RegExp {
    const match = /^\/(.*)\/([a-z]*)$/.exec(pattern);
    if (!match) {
        throw new Error(`not a /regex/ pattern: ${pattern}`);
    }
    return new RegExp(match[1] as string, match[2]);
}

function repositoryFiles(dir = REPO_ROOT, prefix = ""): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        if ([".git", "node_modules", ".cache", "plan-out"].includes(entry.name)) {
            return [];
        }
        const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
        return entry.isDirectory() ? repositoryFiles(path.join(dir, entry.name), relative) : [relative];
    });
}

/** What a custom manager extracts, as Renovate applies it: every matchString, globally, on every matching file. */
function extract(manager: CustomManager, files: Record<string, string>): { file: string; depName: string; currentValue: string; currentDigest?: string }[] {
    const patterns = manager.managerFilePatterns.map(slashRegExp);
    return Object.entries(files)
        .filter(([file]) => patterns.some((pattern) => pattern.test(file)))
        .flatMap(([file, text]) =>
            manager.matchStrings.flatMap((matchString) =>
                [...text.matchAll(new RegExp(matchString, "g"))].map((match) => ({
                    file,
                    depName: match.groups?.depName ?? manager.depNameTemplate ?? "",
                    currentValue: match.groups?.currentValue ?? "",
                    ...(match.groups?.currentDigest !== undefined ? { currentDigest: match.groups.currentDigest } : {}),
                })),
            ),
        );
}

const realFiles = Object.fromEntries(repositoryFiles().map((file) => [file, fs.readFileSync(path.join(REPO_ROOT, file), "utf8")]));
const manager = (description: string) => {
    const found = config.customManagers.find((item) => item.description === description);
    if (!found) {
        throw new Error(`no custom manager "${description}"`);
    }
    return found;
};

describeWithTool(
    "renovate-schema",
    "Renovate's schema",
    () => {
        type Schema = { properties: Record<string, unknown>; definitions: Record<string, { items?: { properties?: Record<string, unknown>; allOf?: { properties?: Record<string, unknown> }[] } }> };
        // Read in beforeAll, not here: Jest runs a skipped describe's body too, and the schema is absent on a fresh clone.
        let schema: Schema;
        let validate: ValidateFunction;
        beforeAll(() => {
            schema = JSON.parse(fs.readFileSync(SCHEMA, "utf8")) as Schema;
            validate = new Ajv({ strict: false, allErrors: true, logger: false }).compile(schema);
        });

        test("renovate.json is valid", () => {
            expect(validate(config) ? [] : validate.errors).toEqual([]);
        });

        test("every key is one the schema knows (it does not refuse unknown keys by itself)", () => {
            const unknown = (keys: string[], known: Record<string, unknown> | undefined, where: string) => keys.filter((key) => !(key in (known ?? {}))).map((key) => `${where}.${key}`);
            // A package rule takes its match* keys and any configuration option.
            const packageRuleKeys = { ...schema.properties, ...schema.definitions.packageRules?.items?.allOf?.[0]?.properties };
            const customManagerKeys = schema.definitions.customManagers?.items?.allOf?.[0]?.properties;
            expect([
                ...unknown(Object.keys(config), { $schema: true, ...schema.properties }, "renovate.json"),
                ...config.packageRules.flatMap((rule, index) => unknown(Object.keys(rule), packageRuleKeys, `packageRules[${index}]`)),
                ...config.customManagers.flatMap((item, index) => unknown(Object.keys(item), customManagerKeys, `customManagers[${index}]`)),
            ]).toEqual([]);
        });

        test("the schema itself refuses a broken config", () => {
            expect(validate({ ...config, separateMultipleMinor: "yes" })).toBe(false);
            expect(validate({ ...config, packageRules: [{ enabled: "no" }] })).toBe(false);
        });
    },
    fs.existsSync(SCHEMA),
);

const STACK_VERSION = "authentik.version in the stack files (with authentik.digest on the next line, both)";

describe("the custom managers find every pinned value, and nothing else", () => {
    test("authentik.version in every stack file", () => {
        const found = extract(manager(STACK_VERSION), realFiles);
        expect(found.map((item) => [item.file, item.currentValue]).sort()).toEqual(
            stackNames()
                .map((stack) => [`Pulumi.${stack}.yaml`, String((loadStackFile(stack).config["authentik-sso:authentik"] as { version: string }).version)])
                .sort(),
        );
        expect(new Set(found.map((item) => item.depName))).toEqual(new Set(["ghcr.io/goauthentik/server"]));
    });

    test("the default authentik version in the code", () => {
        expect(extract(manager("the authentik version a new stack starts with"), realFiles)).toEqual([{ file: "lib/config.ts", depName: "ghcr.io/goauthentik/server", currentValue: DEFAULT_AUTHENTIK_VERSION }]);
    });

    test("the default images in the code", () => {
        const found = extract(manager("the default images (PostgreSQL, Redis, cloudflared, restic)"), realFiles);
        expect(found.map((item) => `${item.depName}:${item.currentValue}`).sort()).toEqual(Object.values(DEFAULT_IMAGES).sort());
    });

    test("image overrides in a stack file, with and without a digest, and only those", () => {
        const digest = `sha256:${"ab".repeat(32)}`;
        const stackFile = [
            "config:",
            "  authentik-sso:authentik:",
            '    version: "2026.8.3"',
            "    image: ghcr.io/goauthentik/server",
            "  authentik-sso:docker:",
            "    images:",
            "      postgresql: docker.io/library/postgres:16.14-alpine",
            `      cloudflared: docker.io/cloudflare/cloudflared:2026.8.3@${digest}`,
            "    host: ssh://deploy@docker.lan",
            "",
        ].join("\n");
        const found = extract(manager("docker.images overrides in the stack files"), { "Pulumi.example.yaml": stackFile });
        expect(found).toEqual([
            { file: "Pulumi.example.yaml", depName: "docker.io/library/postgres", currentValue: "16.14-alpine" },
            { file: "Pulumi.example.yaml", depName: "docker.io/cloudflare/cloudflared", currentValue: "2026.8.3", currentDigest: digest },
        ]);
        // The same file's authentik version is the other manager's, once.
        expect(extract(manager(STACK_VERSION), { "Pulumi.example.yaml": stackFile }).map((item) => item.currentValue)).toEqual(["2026.8.3"]);
    });

    test("authentik.version as `pulumi config set` writes it (unquoted), and a digest on the next line with it", () => {
        const digest = `sha256:${"cd".repeat(32)}`;
        const unquoted = ["config:", "  authentik-sso:authentik:", "    bootstrapEmail: a@example.com", "    version: 2026.8.3", "  authentik-sso:domain: auth.example.com", ""].join("\n");
        expect(extract(manager(STACK_VERSION), { "Pulumi.a.yaml": unquoted })).toEqual([{ file: "Pulumi.a.yaml", depName: "ghcr.io/goauthentik/server", currentValue: "2026.8.3" }]);
        // Renovate moves the digest with the version, so a pinned stack never runs the old image under the new version.
        const pinned = ["config:", "  authentik-sso:authentik:", '    version: "2026.8.3"', `    digest: ${digest}`, ""].join("\n");
        expect(extract(manager(STACK_VERSION), { "Pulumi.b.yaml": pinned })).toEqual([{ file: "Pulumi.b.yaml", depName: "ghcr.io/goauthentik/server", currentValue: "2026.8.3", currentDigest: digest }]);
    });

    test("the Kubernetes target's pins: the operator's chart (with its repository), the cluster's PostgreSQL, the Barman Cloud plugin", () => {
        const chart = manager("the CloudNativePG operator's chart (Kubernetes target)");
        expect(extract(chart, realFiles)).toEqual([{ file: "lib/kubernetes/plan.ts", depName: CNPG_OPERATOR_CHART.name, currentValue: CNPG_OPERATOR_CHART.version }]);
        expect(new RegExp(chart.matchStrings[0] as string).exec(realFiles["lib/kubernetes/plan.ts"] as string)?.groups?.registryUrl).toBe(CNPG_OPERATOR_CHART.repository);
        const [repository, tag] = CNPG_POSTGRES_IMAGE.split(":");
        expect(extract(manager("the CloudNativePG cluster's PostgreSQL image (Kubernetes target)"), realFiles)).toEqual([{ file: "lib/kubernetes/plan.ts", depName: repository, currentValue: tag }]);
        expect(extract(manager("the Barman Cloud plugin (Kubernetes target)"), realFiles)).toEqual([{ file: "lib/kubernetes/plan.ts", depName: "cloudnative-pg/plugin-barman-cloud", currentValue: BARMAN_CLOUD_PLUGIN.version }]);
        // The manifest follows the version Renovate moves.
        expect(BARMAN_CLOUD_PLUGIN.manifest).toBe(`https://github.com/cloudnative-pg/plugin-barman-cloud/releases/download/v${BARMAN_CLOUD_PLUGIN.version}/manifest.yaml`);
    });

    test("the Renovate release whose schema CI checks against", () => {
        const [found] = extract(manager("the Renovate version whose JSON schema CI validates this file against"), realFiles);
        expect(found).toMatchObject({ file: "scripts/fetch-renovate-schema.sh", depName: "renovate", currentValue: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    });

    test("file patterns match only what they should", () => {
        const matched = (description: string) => Object.keys(realFiles).filter((file) => manager(description).managerFilePatterns.map(slashRegExp).some((pattern) => pattern.test(file)));
        expect(matched(STACK_VERSION).sort()).toEqual(stackNames().map((stack) => `Pulumi.${stack}.yaml`).sort());
        expect(matched("the default images (PostgreSQL, Redis, cloudflared, restic)")).toEqual(["lib/config.ts"]);
    });

    test("the patterns use nothing RE2 lacks (Renovate's regex engine): no lookaround, no backreference", () => {
        for (const item of config.customManagers) {
            for (const pattern of item.matchStrings) {
                expect({ pattern, re2: !/\(\?<?[=!]|\\[1-9]/.test(pattern) }).toEqual({ pattern, re2: true });
            }
        }
    });
});

describe("authentik: one release line per pull request, in order", () => {
    const lineRules = config.packageRules.filter((rule) => rule.matchDepNames?.includes("ghcr.io/goauthentik/server") && rule.matchCurrentVersion !== undefined);

    test("one rule per supported line, in the ladder's order", () => {
        expect(lineRules.map((rule) => slashRegExp(rule.matchCurrentVersion as string).source)).toEqual(SUPPORTED_RELEASE_LINES.map((line) => `^${line.replace(".", "\\.")}\\.\\d+$`));
    });

    test.each(SUPPORTED_RELEASE_LINES.map((line, index) => [line, SUPPORTED_RELEASE_LINES[index + 1]] as const))("from %s: its patches and %s only", (line, next) => {
        const rule = lineRules.find((item) => slashRegExp(item.matchCurrentVersion as string).test(`${line}.3`));
        const allowed = slashRegExp(rule?.allowedVersions ?? "/(?!)/");
        expect(allowed.test(`${line}.9`)).toBe(true);
        for (const other of SUPPORTED_RELEASE_LINES.filter((item) => item !== line && item !== next)) {
            expect({ other, allowed: allowed.test(`${other}.1`) }).toEqual({ other, allowed: false });
        }
        if (next !== undefined) {
            expect(allowed.test(`${next}.1`)).toBe(true);
        }
        // A line the program does not know yet is never proposed.
        expect(allowed.test("2026.11.0")).toBe(false);
        expect(allowed.test(`${line}.3-rc1`)).toBe(false);
    });

    test("lines in separate pull requests, across a year too; patches apart from lines", () => {
        expect(config.packageRules.find((rule) => rule.matchDepNames?.includes("ghcr.io/goauthentik/server") && rule.matchCurrentVersion === undefined)).toMatchObject({
            separateMinorPatch: true,
            separateMultipleMajor: true,
            separateMultipleMinor: true,
        });
        // Not for everything: at the top level they would split the Pulumi group into one pull request per minor release.
        expect(config).not.toHaveProperty("separateMultipleMinor");
        expect(config).not.toHaveProperty("separateMultipleMajor");
    });
});

describe("the other pins", () => {
    const rule = (description: RegExp) => {
        const found = config.packageRules.find((item) => description.test(item.description));
        if (!found) {
            throw new Error(`no rule ${description}`);
        }
        return found;
    };

    test("PostgreSQL: no major release by pull request", () => {
        expect(rule(/^PostgreSQL/)).toMatchObject({ matchDepNames: ["docker.io/library/postgres", "ghcr.io/cloudnative-pg/postgresql"], matchUpdateTypes: ["major"], enabled: false });
        // The rule names the image the cluster really runs.
        expect(CNPG_POSTGRES_IMAGE.startsWith("ghcr.io/cloudnative-pg/postgresql:")).toBe(true);
    });

    test("npm: Pulumi grouped, everything pinned exactly, @pulumi/pulumi below the release that needs Node.js 22", () => {
        expect(rule(/^Pulumi's SDK and providers/)).toMatchObject({ groupName: "Pulumi SDK and providers", rangeStrategy: "pin" });
        expect(rule(/Node.js 22/)).toMatchObject({ matchPackageNames: ["@pulumi/pulumi"], allowedVersions: "<3.249.0" });
        const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
        for (const [name, version] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) {
            expect({ name, exact: /^\d+\.\d+\.\d+$/.test(version) }).toEqual({ name, exact: true });
        }
    });

    test("engines.node stays a range; Node.js in the workflows stays on its major; Renovate's own pin moves monthly", () => {
        const rules = config.packageRules;
        const pinAll = rules.findIndex((item) => /^every npm dependency pinned/.test(item.description));
        const engines = rules.findIndex((item) => item.matchDepTypes?.includes("engines"));
        // Later rules win: the engines rule must come after "pin everything".
        expect(engines).toBeGreaterThan(pinAll);
        expect(rules[engines]).toMatchObject({ rangeStrategy: "auto" });
        expect(rule(/^Node.js in the workflows/)).toMatchObject({ matchManagers: ["github-actions"], matchDepNames: ["node"], matchUpdateTypes: ["major"], enabled: false });
        expect(rule(/^Renovate publishes/)).toMatchObject({ matchDepNames: ["renovate"], schedule: ["* 0-5 1 * *"] });
    });

    test("GitHub Actions stay pinned by digest", () => {
        expect(config.extends).toContain("helpers:pinGitHubActionDigests");
        expect(rule(/secrets stay pinned/)).toMatchObject({ matchManagers: ["github-actions"], pinDigests: true });
    });
});
