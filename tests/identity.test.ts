/**
 * authentik configured as code (authentik-sso:identity): the files the stack renders, checked on every supported
 * release line against authentik's own blueprint schema of that line (unknown fields are errors), the models and
 * values they set, how they reach the worker and are applied, the tunnel for proxy applications, the secrets, the
 * config rules, and the user's own blueprints.
 */
import { execFileSync, spawn } from "child_process";
import * as http from "http";
import { AddressInfo } from "net";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BlueprintSchemaDocument, BlueprintValidator, STAND_IN_ADDITIONS, blueprintValidator, formatProblems } from "../lib/blueprintSchema";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { Tag, parseBlueprint, stringifyBlueprint, tagsIn } from "../lib/blueprintYaml";
import { ConfigError, parseStackConfig } from "../lib/config";
import { applyBlueprintsScript } from "../lib/hostScripts";
import { identitySchema } from "../lib/identityConfig";
import { ENROLLMENT_FLOW, RECOVERY_FLOW, emailDomainExpression, identityFor, planIdentity } from "../lib/identityPlan";
import { ReleaseLine, SUPPORTED_RELEASE_LINES, featuresOf, parseAuthentikVersion } from "../lib/versions";
import { readUserBlueprints } from "../lib/userBlueprints";
import { expectGolden } from "./golden";
import { describeWithTool } from "./tools";
import { ProgramRun, REPO_ROOT, byName, envOf, expectConfigRefused, findByName, lastRun, loadStackFile, runProgram, visibleInputs, withOverrides } from "./harness";

/** The issue's example. */
const EXAMPLE = {
    mfa: "optional",
    brand: { title: "Example SSO", logoUrl: "https://example.com/logo.svg", faviconUrl: "https://example.com/favicon.ico" },
    enrollment: { mode: "invitation", allowedEmailDomains: ["example.com"] },
    recovery: true,
    breakGlass: { username: "breakglass", email: "breakglass@example.com" },
    applications: [
        {
            slug: "grafana",
            name: "Grafana",
            launchUrl: "https://grafana.example.com",
            groups: ["grafana-users"],
            oidc: { redirectUris: ["https://grafana.example.com/login/generic_oauth"], public: false },
        },
        { slug: "books", name: "Calibre-Web", groups: ["family"], proxy: { externalHost: "https://books.example.com", internalHost: "http://192.168.1.60:8083" } },
    ],
};
const SMTP = { host: "smtp.example.com", from: "authentik@example.com" };

interface Entry {
    model: string;
    id?: string;
    state?: string;
    identifiers: Record<string, unknown>;
    attrs?: Record<string, unknown>;
}

const fileEntries = (content: string) => (parseBlueprint(content) as { entries: Entry[] }).entries;
const tagValue = (value: unknown) => (value instanceof Tag ? { tag: value.name, value: value.value } : value);

function planFor(line: string, identity: unknown = EXAMPLE) {
    const version = parseAuthentikVersion(`${line}.1`);
    if (!version) {
        throw new Error(line);
    }
    return planIdentity(identitySchema.parse(identity), { url: "https://auth.example.com", dialect: { oauthGrantTypes: featuresOf(version).oauthGrantTypes } });
}

describe.each(SUPPORTED_RELEASE_LINES)("the example on authentik %s", (line) => {
    const plan = planFor(line);
    const byPath = (name: string) => {
        const file = plan.files.find((item) => item.path === `authentik-sso/${name}.yaml`);
        if (!file) {
            throw new Error(`no file ${name}: ${plan.files.map((item) => item.path).join(", ")}`);
        }
        return fileEntries(file.content);
    };
    const entry = (entries: Entry[], model: string, predicate: (item: Entry) => boolean = () => true) => {
        const found = entries.find((item) => item.model === model && predicate(item));
        if (!found) {
            throw new Error(`no ${model}`);
        }
        return found;
    };

    test("one file per concern, all *.yaml under authentik-sso/, each valid against authentik's own schema of the line", () => {
        expect(plan.files.map((file) => file.path)).toEqual([
            "authentik-sso/application-grafana.yaml",
            "authentik-sso/proxy-applications.yaml",
            "authentik-sso/brand.yaml",
            "authentik-sso/enrollment.yaml",
            "authentik-sso/recovery.yaml",
            "authentik-sso/mfa.yaml",
            "authentik-sso/break-glass.yaml",
        ]);
        const validator = blueprintValidator(line);
        const problems = plan.files.flatMap((file) => formatProblems(file.path, validator.validate(parseBlueprint(file.content))));
        expect(problems).toEqual([]);
    });

    test("brand: title, logo and favicon on the default brand", () => {
        expect(entry(byPath("brand"), "authentik_brands.brand")).toEqual({
            model: "authentik_brands.brand",
            identifiers: { default: true },
            attrs: { branding_title: "Example SSO", branding_logo: "https://example.com/logo.svg", branding_favicon: "https://example.com/favicon.ico" },
        });
    });

    test("OIDC: a confidential provider with its redirect URI, the self-signed signing key, the secret from the worker's environment, bound to its group", () => {
        const entries = byPath("application-grafana");
        const provider = entry(entries, "authentik_providers_oauth2.oauth2provider");
        expect(provider.attrs?.client_type).toBe("confidential");
        expect(provider.attrs?.client_id).toBe("grafana");
        expect(provider.attrs?.redirect_uris).toEqual([{ matching_mode: "strict", url: "https://grafana.example.com/login/generic_oauth" }]);
        expect(tagValue(provider.attrs?.signing_key)).toEqual({ tag: "!Find", value: ["authentik_crypto.certificatekeypair", ["name", "authentik Self-signed Certificate"]] });
        expect(tagValue(provider.attrs?.client_secret)).toEqual({ tag: "!Env", value: "SSO_BLUEPRINT_OIDC_GRAFANA_CLIENT_SECRET" });
        expect((provider.attrs?.property_mappings as Tag[]).map((mapping) => (mapping.value as unknown[])[1])).toEqual([
            ["managed", "goauthentik.io/providers/oauth2/scope-openid"],
            ["managed", "goauthentik.io/providers/oauth2/scope-email"],
            ["managed", "goauthentik.io/providers/oauth2/scope-profile"],
        ]);
        // 2026.5 lets a provider use only the grant types it lists.
        expect(provider.attrs?.grant_types).toEqual(featuresOf(parseAuthentikVersion(`${line}.1`) as never).oauthGrantTypes ? ["authorization_code", "refresh_token"] : undefined);
        const application = entry(entries, "authentik_core.application");
        expect(application.identifiers).toEqual({ slug: "grafana" });
        expect(application.attrs).toMatchObject({ name: "Grafana", meta_launch_url: "https://grafana.example.com", policy_engine_mode: "any" });
        expect(tagValue(application.attrs?.provider)).toEqual({ tag: "!KeyOf", value: provider.id });
        expect(entry(entries, "authentik_core.group").identifiers).toEqual({ name: "grafana-users" });
        const binding = entry(entries, "authentik_policies.policybinding");
        expect(tagValue(binding.identifiers.target)).toEqual({ tag: "!KeyOf", value: application.id });
        expect(tagValue(binding.identifiers.group)).toEqual({ tag: "!Find", value: ["authentik_core.group", ["name", "grafana-users"]] });
    });

    test("proxy: a provider in proxy mode with both hosts, its application and group, and the embedded outpost serving it", () => {
        const entries = byPath("proxy-applications");
        const provider = entry(entries, "authentik_providers_proxy.proxyprovider");
        expect(provider.attrs).toMatchObject({ mode: "proxy", external_host: "https://books.example.com", internal_host: "http://192.168.1.60:8083" });
        expect(tagValue(entry(entries, "authentik_core.application").attrs?.provider)).toEqual({ tag: "!KeyOf", value: provider.id });
        expect(entry(entries, "authentik_core.group").identifiers).toEqual({ name: "family" });
        const outpost = entry(entries, "authentik_outposts.outpost");
        expect(outpost.identifiers).toEqual({ managed: "goauthentik.io/outposts/embedded" });
        // Where it sends browsers to log in: authentik leaves it empty until an admin opens the dashboard.
        expect(outpost.attrs?.config).toEqual({ authentik_host: "https://auth.example.com/" });
        // The whole list, from this file: authentik replaces it on every apply.
        expect((outpost.attrs?.providers as unknown[]).map(tagValue)).toEqual([{ tag: "!KeyOf", value: provider.id }]);
    });

    test("enrollment by invitation only, for addresses in the allowed domains, as internal users, not linked from the login page", () => {
        const entries = byPath("enrollment");
        expect(entry(entries, "authentik_flows.flow").attrs).toMatchObject({ designation: "enrollment" });
        expect(entry(entries, "authentik_flows.flow").identifiers).toEqual({ slug: ENROLLMENT_FLOW });
        expect(entry(entries, "authentik_stages_invitation.invitationstage").attrs).toEqual({ continue_flow_without_invitation: false });
        const policy = entry(entries, "authentik_policies_expression.expressionpolicy");
        expect(policy.attrs?.expression).toBe(emailDomainExpression(["example.com"]));
        const prompt = entry(entries, "authentik_stages_prompt.promptstage");
        expect((prompt.attrs?.validation_policies as unknown[]).map(tagValue)).toEqual([{ tag: "!KeyOf", value: policy.id }]);
        // The invitation comes first: nothing else of the flow runs without one. Bindings are known by flow and stage,
        // with a fixed place each, so a mode switch moves no binding.
        const bindings = entries.filter((item) => item.model === "authentik_flows.flowstagebinding");
        expect(bindings.map((binding) => [(binding.identifiers.stage as Tag).value, binding.attrs?.order, Object.keys(binding.identifiers).sort()])).toEqual([
            ["invitation", 5, ["stage", "target"]],
            ["prompt", 30, ["stage", "target"]],
            ["write", 40, ["stage", "target"]],
            ["login", 100, ["stage", "target"]],
        ]);
        // Internal users: external ones are refused authentik's own user interface.
        expect(entry(entries, "authentik_stages_user_write.userwritestage").attrs).toMatchObject({ user_type: "internal", user_path_template: "users" });
        // An invitation link is sent, not found on the login page (where "Sign up" would end in an error).
        expect(entry(entries, "authentik_stages_identification.identificationstage").attrs?.enrollment_flow).toBeNull();
    });

    test("recovery: an e-mail stage in a recovery flow, linked from the brand and the login page in the same file", () => {
        const entries = byPath("recovery");
        expect(entry(entries, "authentik_flows.flow").identifiers).toEqual({ slug: RECOVERY_FLOW });
        expect(entry(entries, "authentik_flows.flow").attrs).toMatchObject({ designation: "recovery" });
        expect(entry(entries, "authentik_stages_email.emailstage").attrs).toMatchObject({ use_global_settings: true, template: "email/password_reset.html" });
        expect(tagValue(entry(entries, "authentik_brands.brand").attrs?.flow_recovery)).toEqual({ tag: "!KeyOf", value: "flow" });
        const loginPage = entry(entries, "authentik_stages_identification.identificationstage", (item) => item.identifiers.name === "default-authentication-identification");
        expect(tagValue(loginPage.attrs?.recovery_flow)).toEqual({ tag: "!KeyOf", value: "flow" });
    });

    test("break-glass: a superuser group and the user in it, marked as the stack's, the password from the worker's environment", () => {
        const entries = byPath("break-glass");
        expect(entry(entries, "authentik_core.group").attrs).toMatchObject({ is_superuser: true });
        const user = entry(entries, "authentik_core.user");
        expect(user.identifiers).toEqual({ attributes: { "authentik-sso/role": "break-glass" } });
        expect(user.attrs).toMatchObject({ username: "breakglass", email: "breakglass@example.com", is_active: true, type: "internal" });
        expect(tagValue(user.attrs?.password)).toEqual({ tag: "!Env", value: "SSO_BLUEPRINT_BREAK_GLASS_PASSWORD" });
    });

    test("MFA as authentik's default: users with an authenticator use it", () => {
        expect(entry(byPath("mfa"), "authentik_stages_authenticator_validate.authenticatorvalidatestage")).toEqual({
            model: "authentik_stages_authenticator_validate.authenticatorvalidatestage",
            identifiers: { name: "default-authentication-mfa-validation" },
            attrs: { not_configured_action: "skip" },
        });
    });

    test("prompts are named per flow: enrollment and recovery never overwrite each other's", () => {
        const names = plan.files.flatMap((file) => fileEntries(file.content).filter((item) => item.model === "authentik_stages_prompt.prompt").map((item) => String(item.identifiers.name)));
        expect(new Set(names).size).toBe(names.length);
    });

    test("no file refers to an object another file creates: authentik applies them in no particular order", () => {
        for (const file of plan.files) {
            const entries = fileEntries(file.content);
            const ids = new Set(entries.map((item) => item.id).filter(Boolean));
            for (const { tag } of tagsIn(entries)) {
                if (tag.name === "!KeyOf") {
                    expect({ file: file.path, id: tag.value, known: ids.has(String(tag.value)) }).toEqual({ file: file.path, id: tag.value, known: true });
                }
            }
            expect(entries.some((item) => item.model === "authentik_blueprints.metaapplyblueprint")).toBe(false);
        }
    });
});

/**
 * What each variant writes, word for word, against files in tests/golden/identity/ that were read against authentik's
 * models: a change in what authentik gets shows there in review. `UPDATE_GOLDEN=1 npx jest tests/identity.test.ts`
 * rewrites them (never in CI).
 */
describe("the blueprints authentik gets, word for word (tests/golden/identity/)", () => {
    const variants: [name: string, line: ReleaseLine, identity: unknown][] = [
        ["the-example", "2026.8", EXAMPLE],
        ["nothing-configured", "2026.8", {}],
        [
            "open-enrollment-mfa-required-2026.2",
            "2026.2",
            {
                mfa: "required",
                brand: { title: "Home" },
                enrollment: { mode: "open" },
                recovery: true,
                applications: [
                    { slug: "immich", name: "Immich", oidc: { redirectUris: ["https://photos.example.com/auth/login", "https://photos.example.com/user-settings"], public: true } },
                    { slug: "books", name: "Calibre-Web", groups: ["family", "friends"], proxy: { externalHost: "https://books.example.com", internalHost: "http://192.168.1.60:8083" } },
                    { slug: "wiki", name: "Wiki", launchUrl: "https://wiki.example.com/start", proxy: { externalHost: "https://wiki.example.com", internalHost: "https://10.0.0.5" } },
                ],
            },
        ],
    ];

    test.each(variants)("%s (authentik %s)", (name, line, identity) => {
        const { files, ...plan } = planFor(line, identity);
        const text = [`# what the stack learns from the plan\n${stringifyYaml(plan)}`, ...files.map((file) => `# ${file.path}\n${file.content}`)].join("---\n");
        expectGolden(`identity/${name}.yaml`, text);
        const validator = blueprintValidator(line);
        expect(files.flatMap((file) => formatProblems(file.path, validator.validate(parseBlueprint(file.content))))).toEqual([]);
    });
});

describeWithTool("python3", "the enrollment domain rule, run as authentik runs an expression policy (Python, request and ak_message in scope)", () => {
    /** authentik wraps the expression in a function body (policies/expression/evaluator.py) and calls it per request. */
    const evaluate = (domains: string[], contexts: Record<string, unknown>[]) => {
        const harness = [
            "import json, sys",
            "source = sys.stdin.read()",
            'exec("def policy(request, ak_message):\\n" + "".join("    " + line + "\\n" for line in source.splitlines()), globals())',
            "class Request:",
            "    def __init__(self, context): self.context = context",
            "results = []",
            "for context in json.loads(sys.argv[1]):",
            "    messages = []",
            "    results.append([policy(Request(context), messages.append), messages])",
            "print(json.dumps(results))",
        ].join("\n");
        return JSON.parse(execFileSync("python3", ["-c", harness, JSON.stringify(contexts)], { input: emailDomainExpression(domains), encoding: "utf8" })) as [boolean, string[]][];
    };

    test("an address in an allowed domain passes, whatever its case; any other, or none, is refused with the domains named", () => {
        const prompt = (email: string) => ({ prompt_data: { email } });
        const refused = [false, ["Enrollment is open to addresses in example.com, family.example.org only."]];
        expect(evaluate(["example.com", "family.example.org"], [prompt("ann@example.com"), prompt("Bob@Family.Example.ORG"), prompt("eve@sub.example.com"), prompt("eve@example.com.evil.net"), prompt("no-at-sign"), {}, { prompt_data: null }])).toEqual([
            [true, []],
            [true, []],
            refused,
            refused,
            refused,
            refused,
            refused,
        ]);
    });
});

test("identityFor refuses a config whose version was never validated, instead of guessing its dialect", () => {
    const config = parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" }, identity: {} });
    expect(() => identityFor({ ...config, authentik: { ...config.authentik, version: "latest" } })).toThrow("authentik.version latest was not validated");
});

describe("turning a setting off undoes it in authentik", () => {
    const line = "2026.8";
    const validator = blueprintValidator(line);
    const entriesOf = (identity: unknown, name: string) => {
        const file = planFor(line, identity).files.find((item) => item.path === `authentik-sso/${name}.yaml`);
        expect(file).toBeDefined();
        expect(validator.validate(parseBlueprint(String(file?.content)))).toEqual([]);
        return fileEntries(String(file?.content));
    };

    test("enrollment closed: the flow is deleted (which unlinks it); open: no invitation stage, linked as Sign up", () => {
        expect(entriesOf({}, "enrollment")).toEqual([{ model: "authentik_flows.flow", identifiers: { slug: ENROLLMENT_FLOW }, state: "absent" }]);
        const open = entriesOf({ enrollment: { mode: "open" } }, "enrollment");
        expect(open.find((item) => item.model === "authentik_stages_invitation.invitationstage")).toEqual({
            model: "authentik_stages_invitation.invitationstage",
            id: "invitation",
            identifiers: { name: "authentik-sso-enrollment-invitation" },
            state: "absent",
        });
        expect(open.filter((item) => item.model === "authentik_flows.flowstagebinding").map((item) => (item.identifiers.stage as Tag).value)).toEqual(["prompt", "write", "login"]);
        expect(tagValue(open.find((item) => item.model === "authentik_stages_identification.identificationstage")?.attrs?.enrollment_flow)).toEqual({ tag: "!KeyOf", value: "flow" });
        // No domain rule: the policy goes too.
        expect(open.find((item) => item.model === "authentik_policies_expression.expressionpolicy")?.state).toBe("absent");
    });

    test("recovery off: the flow is deleted; break-glass taken out: the marked user and its group are deleted", () => {
        expect(entriesOf({}, "recovery")).toEqual([{ model: "authentik_flows.flow", identifiers: { slug: RECOVERY_FLOW }, state: "absent" }]);
        expect(entriesOf({}, "break-glass")).toEqual([
            { model: "authentik_core.user", identifiers: { attributes: { "authentik-sso/role": "break-glass" } }, state: "absent" },
            { model: "authentik_core.group", identifiers: { name: "authentik-sso break-glass admins" }, state: "absent" },
        ]);
    });

    test("mfa: required makes everyone set up TOTP or WebAuthn at the next login", () => {
        const [stage] = entriesOf({ mfa: "required" }, "mfa");
        expect(stage?.attrs?.not_configured_action).toBe("configure");
        expect((stage?.attrs?.configuration_stages as Tag[]).map((item) => item.value)).toEqual([
            ["authentik_flows.stage", ["name", "default-authenticator-totp-setup"]],
            ["authentik_flows.stage", ["name", "default-authenticator-webauthn-setup"]],
        ]);
    });

    test("the issuer follows authentik's public URL (http and a port on the local stack)", () => {
        const local = planIdentity(identitySchema.parse({ applications: [EXAMPLE.applications[0]] }), { url: "http://localhost:9000", dialect: { oauthGrantTypes: true } });
        expect(local.oidcClients[0]?.issuerUrl).toBe("http://localhost:9000/application/o/grafana/");
    });
});

describe("the blueprint checker itself", () => {
    test("refuses what authentik would drop or refuse: an unknown field, a wrong enum, a wrong shape, an unknown model", () => {
        const document = parseBlueprint(
            [
                "version: 1",
                "entries:",
                "  - model: authentik_core.application",
                "    identifiers: {slug: a}",
                "    attrs: {name: A, provider: !KeyOf p, launch_url: https://a.example.com, policy_engine_mode: sometimes}",
                "  - model: authentik_providers_oauth2.oauth2provider",
                "    identifiers: {name: p}",
                "    attrs: {redirect_uris: https://a.example.com/cb}",
                "  - model: authentik_core.gruop",
                "    identifiers: {name: g}",
            ].join("\n"),
        );
        expect(formatProblems("x.yaml", blueprintValidator("2026.2").validate(document))).toEqual([
            "x.yaml entry 1 (authentik_core.application): /attrs: launch_url is not a field of this model (authentik would drop it silently)",
            'x.yaml entry 1 (authentik_core.application): /attrs/policy_engine_mode: must be equal to one of the allowed values ("all", "any")',
            "x.yaml entry 2 (authentik_providers_oauth2.oauth2provider): /attrs/redirect_uris: must be array",
            "x.yaml entry 3 (authentik_core.gruop): model authentik_core.gruop does not exist in authentik 2026.2.2 Blueprint schema",
        ]);
    });

    test("knows the fields each line has: group parents from 2025.12, grant types from 2026.5, !File from 2025.8", () => {
        const group = parseBlueprint("version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: g}\n    attrs: {parents: []}\n");
        expect(blueprintValidator("2025.10").validate(group)).toEqual([expect.objectContaining({ message: "/attrs: parents is not a field of this model (authentik would drop it silently)" })]);
        expect(blueprintValidator("2025.12").validate(group)).toEqual([]);
        const grants = parseBlueprint("version: 1\nentries:\n  - model: authentik_providers_oauth2.oauth2provider\n    identifiers: {name: p}\n    attrs: {grant_types: [authorization_code]}\n");
        expect(blueprintValidator("2026.2").validate(grants)).toHaveLength(1);
        expect(blueprintValidator("2026.5").validate(grants)).toEqual([]);
        const file = parseBlueprint("version: 1\nentries:\n  - model: authentik_brands.brand\n    identifiers: {default: true}\n    attrs: {branding_title: !File /secrets/title}\n");
        expect(blueprintValidator("2025.6").validate(file)).toEqual([expect.objectContaining({ message: "!File at /entries/0/attrs/branding_title needs authentik 2025.8 or later; a 2025.6 worker cannot read the file" })]);
        expect(blueprintValidator("2025.8").validate(file)).toEqual([]);
    });

    test("a field the model lacks is refused even when its value is a tag; a tag's own value is not checked", () => {
        const group = parseBlueprint("version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: g}\n    attrs: {name: !Env GROUP, colour: !Env COLOUR}\n");
        expect(formatProblems("g.yaml", blueprintValidator("2026.8").validate(group))).toEqual(["g.yaml entry 1 (authentik_core.group): /attrs: colour is not a field of this model (authentik would drop it silently)"]);
    });

    test("the document's own shape: a mapping, version 1, a named metadata, entries as a list (or, from 2025.8, a map of lists), each with a model", () => {
        const v = blueprintValidator("2026.2");
        const group = { model: "authentik_core.group", identifiers: { name: "g" } };
        for (const document of [null, [], "x"]) {
            expect(v.validate(document)).toEqual([{ message: "is not a blueprint (a YAML mapping with version and entries)" }]);
        }
        expect(v.validate({ version: 2, metadata: {}, entries: [] })).toEqual([{ message: "version must be 1 (authentik ignores anything else), got 2" }, { message: "metadata needs a name" }]);
        expect(v.validate({ version: 1, metadata: { name: "m" }, entries: { groups: [group], more: group } })).toEqual([]);
        expect(v.validate({ version: 1 })).toEqual([{ message: "entries must be a list, or a map of lists" }]);
        expect(blueprintValidator("2025.6").validate({ version: 1, entries: { groups: [group] } })).toEqual([{ message: "entries must be a list (a map of lists needs 2025.8)" }]);
        expect(v.validate({ version: 1, entries: [null, { identifiers: {} }] })).toEqual([
            { entry: 0, message: "has no model" },
            { entry: 1, message: "has no model" },
        ]);
        expect(formatProblems("f.yaml", [{ message: "m" }, { entry: 0, message: "n" }, { entry: 1, model: "authentik_core.group", message: "o" }])).toEqual(["f.yaml: m", "f.yaml entry 1: n", "f.yaml entry 2 (authentik_core.group): o"]);
    });

    test("a blueprint that applies another fails under ak apply_blueprint on 2025.8 and 2025.10 only", () => {
        const meta = { version: 1, entries: [{ model: "authentik_blueprints.metaapplyblueprint", attrs: { identifiers: { name: "x" } } }] };
        for (const line of ["2025.8", "2025.10"] as const) {
            expect(blueprintValidator(line).validate(meta)).toEqual([
                { entry: 0, model: "authentik_blueprints.metaapplyblueprint", message: `fails under ak apply_blueprint on ${line} (it needs a worker task; fixed in 2025.12): put the entries into one file instead` },
            ]);
        }
        expect(blueprintValidator("2025.12").validate(meta).map((problem) => problem.message)).not.toContainEqual(expect.stringContaining("ak apply_blueprint"));
    });

    test("every tag authentik knows is read as that tag; several YAML problems are all reported", () => {
        const text = "a: !KeyOf k\nb: !Find [m, [name, x]]\nc: !Context x\nd: !Format [\"%s\", x]\ne: !Env X\nf: !If [true, a, b]\ng: !Condition [AND, true]\nh: !Enumerate [x, SEQ, y]\ni: !Index 0\nj: !Value 0\nk: !AtIndex [[a], 0]\nl: !File /f\nm: !FindObject [m, [name, x]]\nn: !ParseJSON \"{}\"\n";
        const parsed = parseBlueprint(text) as Record<string, Tag>;
        expect(Object.values(parsed).map((tag) => (tag instanceof Tag ? tag.name : typeof tag))).toEqual(["!KeyOf", "!Find", "!Context", "!Format", "!Env", "!If", "!Condition", "!Enumerate", "!Index", "!Value", "!AtIndex", "!File", "!FindObject", "!ParseJSON"]);
        expect(() => parseBlueprint("a: !Nope x\nb: !Nope y\n")).toThrow(/Unresolved tag: !Nope at line 1[\s\S]*; Unresolved tag: !Nope at line 2/);
    });

    test("the stand-in schemas' additions are the released API's fields (@goauthentik/api 2026.8.3, its schema.yml)", () => {
        const api = parseYaml(fs.readFileSync(require.resolve("@goauthentik/api/schema.yml"), "utf8")) as { components: { schemas: Record<string, { enum?: string[]; properties?: Record<string, Record<string, unknown>> }> } };
        const schemas = api.components.schemas;
        const requestOf: Record<string, string> = { "model_authentik_providers_oauth2.oauth2provider": "OAuth2ProviderRequest", "model_authentik_brands.brand": "BrandRequest", "model_authentik_core.application": "ApplicationRequest" };
        for (const [definition, fields] of Object.entries(STAND_IN_ADDITIONS["2026.8"] ?? {})) {
            for (const [field, schema] of Object.entries(fields)) {
                const released = schemas[requestOf[definition] as string]?.properties?.[field] as Record<string, unknown>;
                const expected = released.$ref === undefined && (released.items as { $ref?: string } | undefined)?.$ref === undefined ? { type: released.type, ...(released.format ? { format: released.format } : {}) } : { type: "array", items: { type: "string", enum: schemas.GrantTypeEnum?.enum } };
                expect({ definition, field, schema }).toEqual({ definition, field, schema: expected });
            }
        }
        // 2026.5 lacks what 2026.8 added: token exchange, the request and user-switch flows, the map tiles.
        const v5 = blueprintValidator("2026.5");
        const v8 = blueprintValidator("2026.8");
        const provider = (grants: unknown) => ({ version: 1, entries: [{ model: "authentik_providers_oauth2.oauth2provider", identifiers: { name: "p" }, attrs: { grant_types: grants } }] });
        const all = ["authorization_code", "implicit", "hybrid", "refresh_token", "client_credentials", "password", "urn:ietf:params:oauth:grant-type:device_code"];
        expect(v5.validate(provider(all))).toEqual([]);
        expect(v8.validate(provider([...all, "urn:ietf:params:oauth:grant-type:token-exchange"]))).toEqual([]);
        expect(v5.validate(provider(["urn:ietf:params:oauth:grant-type:token-exchange"])).map((problem) => problem.message)).toEqual([expect.stringMatching(/^\/attrs\/grant_types\/0: must be equal to one of the allowed values/)]);
        expect(v5.validate(provider("authorization_code")).map((problem) => problem.message)).toEqual(["/attrs/grant_types: must be array"]);
        const brand = (attrs: Record<string, unknown>) => ({ version: 1, entries: [{ model: "authentik_brands.brand", identifiers: { domain: "d" }, attrs }] });
        expect(v8.validate(brand({ flow_lockdown: null, flow_request: null, flow_user_switch: null, branding_map_tiles: "pmtiles://tiles" }))).toEqual([]);
        expect(v8.validate(brand({ flow_lockdown: 5, branding_map_tiles: {} })).map((problem) => problem.message)).toEqual(["/attrs/flow_lockdown: must be string", "/attrs/branding_map_tiles: must be string"]);
        const application = (metaHide: unknown) => ({ version: 1, entries: [{ model: "authentik_core.application", identifiers: { slug: "a" }, attrs: { meta_hide: metaHide } }] });
        expect(v5.validate(application(true))).toEqual([]);
        expect(v5.validate(application("yes")).map((problem) => problem.message)).toEqual(["/attrs/meta_hide: must be boolean"]);
    });

    test("the document's edges: entries or metadata null, a map's entry given without a list, a null where no reference goes", () => {
        const v = blueprintValidator("2026.2");
        expect(v.validate({ version: 1, entries: null })).toEqual([{ message: "entries must be a list, or a map of lists" }]);
        expect(v.validate({ version: 1, metadata: null, entries: [] })).toEqual([{ message: "metadata needs a name" }]);
        expect(formatProblems("m.yaml", v.validate({ version: 1, entries: { groups: [{ model: "authentik_core.group", identifiers: { name: "g" } }], single: { model: "authentik_core.gruop" } } }))).toEqual([
            "m.yaml entry 2 (authentik_core.gruop): model authentik_core.gruop does not exist in authentik 2026.2.2 Blueprint schema",
        ]);
        // null is an unlinked reference (a uuid field), not a name.
        const brand = (attrs: Record<string, unknown>) => ({ version: 1, entries: [{ model: "authentik_brands.brand", identifiers: { domain: "d" }, attrs }] });
        expect(v.validate(brand({ flow_authentication: null }))).toEqual([]);
        expect(v.validate(brand({ branding_title: null })).map((problem) => problem.message)).toEqual(["/attrs/branding_title: must be string"]);
        // One validator per line, read and compiled once.
        expect(blueprintValidator("2026.2")).toBe(v);
    });

    test("each stand-in addition on each line it is made for", () => {
        const brand = { version: 1, entries: [{ model: "authentik_brands.brand", identifiers: { domain: "d" }, attrs: { flow_lockdown: null } }] };
        const application = { version: 1, entries: [{ model: "authentik_core.application", identifiers: { slug: "a" }, attrs: { meta_hide: true } }] };
        for (const line of ["2026.5", "2026.8"] as const) {
            expect({ line, problems: [...blueprintValidator(line).validate(brand), ...blueprintValidator(line).validate(application)] }).toEqual({ line, problems: [] });
        }
    });

    describe("on a schema of its own (what authentik's schemas do not have yet)", () => {
        const schema = (): BlueprintSchemaDocument =>
            ({
                properties: { entries: { items: { oneOf: [{ properties: { model: { const: "x.thing" }, attrs: { $ref: "#/$defs/model_x.thing" } } }] } } },
                $defs: {
                    "model_x.thing": { type: "object", properties: { limits: { type: "object", properties: { value: { type: "integer" } } }, extra: { $ref: "#/$defs/free" } }, markdownDescription: "an editor's keyword" },
                    free: { type: "object" },
                },
            }) as unknown as BlueprintSchemaDocument;

        test("no title: the line's name; an editor's keyword (markdownDescription) is no error; a mapping without fields stays open", () => {
            const v = new BlueprintValidator("2026.2", schema());
            expect(v.title).toBe("authentik 2026.2 blueprint schema");
            expect(v.validate({ version: 1, entries: [{ model: "x.other" }] })).toEqual([{ entry: 0, model: "x.other", message: "model x.other does not exist in authentik 2026.2 blueprint schema" }]);
            expect(v.validate({ version: 1, entries: [{ model: "x.thing", attrs: { extra: { anything: 1 } } }] })).toEqual([]);
            expect(v.validate({ version: 1, entries: [{ model: "x.thing", attrs: { limits: { value: "x" }, other: 1 } }] }).map((problem) => problem.message)).toEqual([
                "/attrs: other is not a field of this model (authentik would drop it silently)",
                "/attrs/limits/value: must be integer",
            ]);
        });

        test("nothing inside a tag's value is checked, however deep", () => {
            const v = new BlueprintValidator("2026.2", schema());
            expect(v.validate({ version: 1, entries: [{ model: "x.thing", attrs: { limits: new Tag("!Env", "LIMITS") } }] })).toEqual([]);
        });

        test("a stand-in addition whose model the schema lacks stops the check: the vendored file is not the one expected", () => {
            expect(() => new BlueprintValidator("2026.5", schema())).toThrow("model_authentik_providers_oauth2.oauth2provider is not in the 2026.5 schema");
        });
    });

    test("tags survive writing and reading", () => {
        const text = stringifyBlueprint({
            version: 1,
            metadata: { name: "t" },
            entries: [{ model: "authentik_core.application", identifiers: { slug: "a" }, attrs: { provider: new Tag("!Find", ["authentik_providers_oauth2.oauth2provider", ["name", "x: y"]]) } }],
        });
        expect(text).toContain("provider: !Find [ authentik_providers_oauth2.oauth2provider, [ name, \"x: y\" ] ]");
        const entries = (parseBlueprint(text) as { entries: Entry[] }).entries;
        expect(tagValue(entries[0]?.attrs?.provider)).toEqual({ tag: "!Find", value: ["authentik_providers_oauth2.oauth2provider", ["name", "x: y"]] });
        expect(() => parseBlueprint("version: 1\nentries: [!Nope x]\n")).toThrow();
    });

    test("reads a tag on a scalar, a list and a map, refuses a key given twice, and points at tags with escaped keys", () => {
        const document = parseBlueprint("a: !Env SMTP_PASSWORD\nb: !Format [\"%s-x\", !Env NAME]\nc: !If {x: 1}\n");
        const read = document as Record<string, Tag>;
        expect([read.a, read.b, read.c].map(tagValue)).toEqual([
            { tag: "!Env", value: "SMTP_PASSWORD" },
            { tag: "!Format", value: ["%s-x", new Tag("!Env", "NAME")] },
            { tag: "!If", value: { x: 1 } },
        ]);
        // authentik's loader would keep the last of two equal keys; a blueprint that says two things is refused here.
        expect(() => parseBlueprint("version: 1\nversion: 1\n")).toThrow(/unique/i);
        expect(tagsIn({ "a/b": { "c~d": [new Tag("!Format", ["%s", new Tag("!Env", "X")])] } }).map(({ path, tag }) => [path, tag.name])).toEqual([
            ["/a~1b/c~0d/0", "!Format"],
            ["/a~1b/c~0d/0/1", "!Env"],
        ]);
    });
});

const local = loadStackFile("local");
const dev = loadStackFile("dev");
const devCloudflare = dev.config["authentik-sso:cloudflare"] as { zone: string };

describe("config rules for identity: each stops the program with the key, the value and what is allowed, before any resource", () => {
    const cases: { rule: string; identity: unknown; extra?: Record<string, unknown>; stack?: "local" | "dev"; expected: string[] }[] = [
        { rule: "a slug is a lower-case slug", identity: { applications: [{ slug: "Grafana", name: "G", oidc: { redirectUris: ["https://g.example.com/cb"] } }] }, expected: ["authentik-sso:identity.applications.0.slug", '"Grafana"', "lower-case slug"] },
        {
            rule: "slugs are unique",
            identity: { applications: [{ slug: "app", name: "A", oidc: { redirectUris: ["https://a.example.com/cb"] } }, { slug: "app", name: "B", oidc: { redirectUris: ["https://b.example.com/cb"] } }] },
            expected: ["authentik-sso:identity.applications.1.slug", '"app"', "slugs must be unique"],
        },
        { rule: "a redirect URI is absolute", identity: { applications: [{ slug: "a", name: "A", oidc: { redirectUris: ["/login/callback"] } }] }, expected: ["authentik-sso:identity.applications.0.oidc.redirectUris.0", '"/login/callback"', "absolute URL"] },
        {
            rule: "a redirect URI uses https, http only for localhost",
            identity: { applications: [{ slug: "a", name: "A", oidc: { redirectUris: ["http://a.example.com/cb"] } }] },
            expected: ["authentik-sso:identity.applications.0.oidc.redirectUris.0", "http only for localhost or 127.0.0.1"],
        },
        { rule: "an application is OIDC or proxy", identity: { applications: [{ slug: "a", name: "A" }] }, expected: ["authentik-sso:identity.applications.0", "exactly one of oidc or proxy"] },
        { rule: "a group name is not empty", identity: { applications: [{ slug: "a", name: "A", groups: [" "], oidc: { redirectUris: ["https://a.example.com/cb"] } }] }, expected: ["authentik-sso:identity.applications.0.groups.0", "must not be empty"] },
        {
            rule: "a proxy host lies in the Cloudflare zone when the tunnel is on",
            stack: "dev",
            identity: { applications: [{ slug: "books", name: "B", proxy: { externalHost: "https://books.other.org", internalHost: "http://10.0.0.5:8083" } }] },
            expected: ["authentik-sso:identity.applications.0.proxy.externalHost", '"https://books.other.org"', `outside the Cloudflare zone ${devCloudflare.zone}`],
        },
        { rule: "recovery needs smtp", identity: { recovery: true }, expected: ["authentik-sso:identity.recovery", "needs smtp"] },
        { rule: "a slug authentik reserves is refused", identity: { applications: [{ slug: "token", name: "T", oidc: { redirectUris: ["https://t.example.com/cb"] } }] }, expected: ["authentik-sso:identity.applications.0.slug", '"token"', "reserved names"] },
        { rule: "a redirect URI has no fragment", identity: { applications: [{ slug: "a", name: "A", oidc: { redirectUris: ["https://a.example.com/cb#x"] } }] }, expected: ["authentik-sso:identity.applications.0.oidc.redirectUris.0", "#fragment"] },
        {
            rule: "an internal host is not loopback (it would be authentik's own container)",
            identity: { applications: [{ slug: "b", name: "B", proxy: { externalHost: "https://b.example.com", internalHost: "http://127.0.0.1:8083" } }] },
            expected: ["authentik-sso:identity.applications.0.proxy.internalHost", "must not be a loopback address"],
        },
        {
            rule: "an external host is lower-case",
            identity: { applications: [{ slug: "b", name: "B", proxy: { externalHost: "https://Books.example.com", internalHost: "http://10.0.0.5:8083" } }] },
            expected: ["authentik-sso:identity.applications.0.proxy.externalHost", "lower-case host name"],
        },
        {
            rule: "a proxy host is at most one level below the zone (the free certificate)",
            stack: "dev",
            identity: { applications: [{ slug: "b", name: "B", proxy: { externalHost: `https://books.sso.${devCloudflare.zone}`, internalHost: "http://10.0.0.5:8083" } }] },
            expected: ["authentik-sso:identity.applications.0.proxy.externalHost", "more than one level below the zone"],
        },
        { rule: "an empty group list is refused (leave it out for everyone)", identity: { applications: [{ slug: "a", name: "A", groups: [], oidc: { redirectUris: ["https://a.example.com/cb"] } }] }, expected: ["authentik-sso:identity.applications.0.groups", "leave groups out"] },
        { rule: "the break-glass account is not akadmin", identity: { breakGlass: { username: "akadmin", email: "a@example.com" } }, expected: ["authentik-sso:identity.breakGlass.username", '"akadmin"', "must not be akadmin"] },
        { rule: "allowed e-mail domains need enrollment", identity: { enrollment: { allowedEmailDomains: ["example.com"] } }, expected: ["authentik-sso:identity.enrollment.allowedEmailDomains", "set enrollment.mode to invitation or open"] },
    ];

    test.each(cases)("$rule", async ({ identity, stack = "local", expected }) => {
        const base = stack === "dev" ? dev : local;
        await expectConfigRefused({ stack, config: withOverrides(base, { identity }) }, expected);
    });

    test("a mobile app's own scheme is accepted in reverse-domain form (RFC 8252 7.1), never javascript: or a bare name", () => {
        const redirectUris = ["app.immich:///oauth-callback", "com.example.app:/cb", "myapp:/cb", "javascript:alert(1)", "http://a.example.com/cb", "https://a.example.com/cb"];
        let problems: string[] = [];
        try {
            parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" }, identity: { applications: [{ slug: "a", name: "A", oidc: { redirectUris } }] } });
        } catch (error) {
            problems = (error as ConfigError).problems as string[];
        }
        const must = "must use https (http only for localhost or 127.0.0.1; a mobile app's own scheme in reverse-domain form, such as app.immich:/, also works)";
        expect(problems).toEqual([
            `authentik-sso:identity.applications.0.oidc.redirectUris.2: got "myapp:/cb"; ${must}`,
            `authentik-sso:identity.applications.0.oidc.redirectUris.3: got "javascript:alert(1)"; ${must}`,
            `authentik-sso:identity.applications.0.oidc.redirectUris.4: got "http://a.example.com/cb"; ${must}`,
        ]);
    });

    describe("each key at its edges (identitySchema alone)", () => {
        const issues = (identity: unknown) => (identitySchema.safeParse(identity).error?.issues ?? []).map((issue) => `${issue.path.join(".")}: ${issue.message}`);
        const oidc = (extra: Record<string, unknown> = {}, redirectUris = ["https://a.example.com/cb"]) => ({ applications: [{ slug: "a", name: "A", oidc: { redirectUris }, ...extra }] });
        const proxy = (externalHost: string, internalHost = "http://192.168.1.60:8083") => ({ applications: [{ slug: "b", name: "B", proxy: { externalHost, internalHost } }] });
        const slugRule = "must be a lower-case slug: letters, digits and '-', 1 to 50 characters, not starting or ending with '-'";
        const host = (example: string) => `must be scheme and host only, without a path or a trailing /, e.g. ${example}`;
        const loopback = "must not be a loopback address: it would be authentik's own container; give an address the authentik server can reach";
        test.each<[string, unknown, string[]]>([
            ["a slug of 50 characters", { applications: [{ slug: "a".repeat(50), name: "A", oidc: { redirectUris: ["https://a.example.com/cb"] } }] }, []],
            ["a slug of 51 characters", { applications: [{ slug: "a".repeat(51), name: "A", oidc: { redirectUris: ["https://a.example.com/cb"] } }] }, [`applications.0.slug: ${slugRule}`]],
            ["a slug ending with -", { applications: [{ slug: "app-", name: "A", oidc: { redirectUris: ["https://a.example.com/cb"] } }] }, [`applications.0.slug: ${slugRule}`]],
            ["a reserved slug", { applications: [{ slug: "revoke", name: "A", oidc: { redirectUris: ["https://a.example.com/cb"] } }] }, ["applications.0.slug: must not be one of authentik's reserved names (authorize, token, device, userinfo, introspect, revoke)"]],
            ["a blank name", { applications: [{ slug: "a", name: "  ", oidc: { redirectUris: ["https://a.example.com/cb"] } }] }, ["applications.0.name: must not be empty"]],
            ["a blank brand title", { brand: { title: " " } }, ["brand.title: must not be empty"]],
            ["a group name of 80 characters", oidc({ groups: ["g".repeat(80)] }), []],
            ["a group name of 81 characters", oidc({ groups: ["g".repeat(81)] }), ["applications.0.groups.0: must be at most 80 characters"]],
            ["a group named twice", oidc({ groups: ["family", "family"] }), ["applications.0.groups: names family twice"]],
            ["no redirect URI", oidc({}, []), ["applications.0.oidc.redirectUris: needs at least one redirect URI"]],
            ["loopback redirect URIs over http", oidc({}, ["http://localhost:8080/cb", "http://127.0.0.1/cb", "http://[::1]:3000/cb"]), []],
            ["an empty fragment", oidc({}, ["https://a.example.com/cb#"]), ["applications.0.oidc.redirectUris.0: must not carry a #fragment (OAuth 2.0, RFC 6749 3.1.2)"]],
            ["an http launch URL", oidc({ launchUrl: "http://grafana.example.com" }), ["applications.0.launchUrl: must be an https URL"]],
            ["a logo URL of another scheme", { brand: { title: "T", logoUrl: "httpsx://a.example.com/l.svg", faviconUrl: "xhttps://a.example.com/f.ico" } }, ["brand.logoUrl: must be an https URL", "brand.faviconUrl: must be an https URL"]],
            ["an internal host that is no URL", proxy("https://books.example.com", "books.lan"), ["applications.0.proxy.internalHost: must be a URL such as http://192.168.1.60:8083"]],
            ["an external host over http", proxy("http://books.example.com"), ["applications.0.proxy.externalHost: must use https, e.g. https://books.example.com"]],
            ["an internal host over ftp", proxy("https://books.example.com", "ftp://10.0.0.5"), ["applications.0.proxy.internalHost: must use http or https, e.g. http://192.168.1.60:8083"]],
            ["an external host with a trailing /", proxy("https://books.example.com/"), [`applications.0.proxy.externalHost: ${host("https://books.example.com")}`]],
            ["an external host with a path", proxy("https://books.example.com/app"), [`applications.0.proxy.externalHost: ${host("https://books.example.com")}`]],
            ["an external host with a query", proxy("https://books.example.com?x=1"), [`applications.0.proxy.externalHost: ${host("https://books.example.com")}`]],
            ["an external host with a fragment", proxy("https://books.example.com#f"), [`applications.0.proxy.externalHost: ${host("https://books.example.com")}`]],
            ["an internal host with a user", proxy("https://books.example.com", "http://u@10.0.0.5:8083"), ["applications.0.proxy.internalHost: must not carry a user or password"]],
            ["an internal host with a password", proxy("https://books.example.com", "http://:p@10.0.0.5:8083"), ["applications.0.proxy.internalHost: must not carry a user or password"]],
            ["an internal host on localhost", proxy("https://books.example.com", "http://localhost:8083"), [`applications.0.proxy.internalHost: ${loopback}`]],
            ["an internal host on ::1", proxy("https://books.example.com", "http://[::1]:8083"), [`applications.0.proxy.internalHost: ${loopback}`]],
            ["an internal host in 127/8", proxy("https://books.example.com", "http://127.0.0.2:8083"), [`applications.0.proxy.internalHost: ${loopback}`]],
            ["an external host on loopback (a local stack)", proxy("https://127.0.0.1:8443"), []],
            ["one external host twice", { applications: [proxy("https://books.example.com").applications[0], { ...proxy("https://books.example.com").applications[0], slug: "c" }] }, ['applications.1.proxy.externalHost: is the external host of applications[0] too']],
            ["allowed domains, several and nested", { enrollment: { mode: "invitation", allowedEmailDomains: ["example.com", "a.b.example.org"] } }, []],
            ["allowed domains not lower-case or ending in -", { enrollment: { mode: "invitation", allowedEmailDomains: ["Example.com", "example.com-"] } }, ["enrollment.allowedEmailDomains.0: must be a lower-case domain such as example.com", "enrollment.allowedEmailDomains.1: must be a lower-case domain such as example.com"]],
            ["a domain of 254 characters", { enrollment: { mode: "invitation", allowedEmailDomains: [`${("a".repeat(63) + ".").repeat(3)}${"a".repeat(62)}`] } }, ["enrollment.allowedEmailDomains.0: must be a lower-case domain such as example.com"]],
            ["break-glass names and addresses", { breakGlass: { username: "Admin", email: "nope" } }, ["breakGlass.username: must be a lower-case user name: letters, digits, '.', '_' and '-'", "breakGlass.email: must be an e-mail address"]],
            ["a blueprints folder outside the project", { blueprints: "/etc/x" }, ["blueprints: must be a folder inside the project (relative, without ..)"]],
            ["a blueprints folder that climbs out", { blueprints: "a/../../b" }, ["blueprints: must be a folder inside the project (relative, without ..)"]],
            ["a blueprints folder with a space", { blueprints: "a b" }, ["blueprints: must be a relative folder of letters, digits, '.', '_', '-' and '/'"]],
            ["a blueprints folder with dots in names", { blueprints: "config/auth.d" }, []],
        ])("%s", (_rule, identity, expected) => {
            expect(issues(identity)).toEqual(expected);
        });
    });

    test("the example passes with smtp set", () => {
        expect(() => parseStackConfig({ domain: "auth.example.com", authentik: { bootstrapEmail: "a@example.com" }, smtp: SMTP, identity: EXAMPLE })).not.toThrow();
    });
});

describe("the dev stack with the example", () => {
    let run: ProgramRun;
    const config = withOverrides(dev, { identity: EXAMPLE, smtp: SMTP });
    beforeAll(async () => {
        run = await runProgram({ stack: "dev", config });
    });

    test("the worker gets the files (and nothing else does) and the secrets they read, as environment variables", () => {
        const worker = byName(run, "authentik-worker");
        const uploads = worker.inputs.uploads as { file: string; content: string }[];
        expect(uploads.map((upload) => upload.file)).toEqual([
            "/blueprints/authentik-sso/application-grafana.yaml",
            "/blueprints/authentik-sso/proxy-applications.yaml",
            "/blueprints/authentik-sso/brand.yaml",
            "/blueprints/authentik-sso/enrollment.yaml",
            "/blueprints/authentik-sso/recovery.yaml",
            "/blueprints/authentik-sso/mfa.yaml",
            "/blueprints/authentik-sso/break-glass.yaml",
        ]);
        expect(byName(run, "authentik-server").inputs.uploads).toBeUndefined();
        const env = envOf(worker);
        expect(env.SSO_BLUEPRINT_OIDC_GRAFANA_CLIENT_SECRET).toMatch(/^[A-Za-z0-9]{64}$/);
        expect(env.SSO_BLUEPRINT_BREAK_GLASS_PASSWORD).toMatch(/^[A-Za-z0-9]{32}$/);
        expect(worker.secretPaths).toContain("envs");
    });

    test("no secret in a file, an input or an output in plain text", () => {
        const worker = byName(run, "authentik-worker");
        const env = envOf(worker);
        const secrets = [env.SSO_BLUEPRINT_OIDC_GRAFANA_CLIENT_SECRET, env.SSO_BLUEPRINT_BREAK_GLASS_PASSWORD] as string[];
        for (const upload of worker.inputs.uploads as { content: string }[]) {
            for (const secret of secrets) {
                expect(upload.content).not.toContain(secret);
            }
        }
        for (const resource of run.resources) {
            const visible = visibleInputs(resource);
            expect({ resource: resource.name, leaks: secrets.filter((secret) => visible.includes(secret)) }).toEqual({ resource: resource.name, leaks: [] });
        }
        expect(run.outputs.breakGlassPassword).toEqual({ value: env.SSO_BLUEPRINT_BREAK_GLASS_PASSWORD, secret: true });
        const clients = run.outputs.oidcClients?.value as Record<string, { clientId: string; clientSecret: string; issuerUrl: string; discoveryUrl: string }>;
        expect(run.outputs.oidcClients?.secret).toBe(true);
        expect(clients.grafana).toEqual({
            clientId: "grafana",
            clientSecret: env.SSO_BLUEPRINT_OIDC_GRAFANA_CLIENT_SECRET,
            issuerUrl: "https://auth-dev.example.com/application/o/grafana/",
            discoveryUrl: "https://auth-dev.example.com/application/o/grafana/.well-known/openid-configuration",
        });
    });

    test("the check runs once server and worker are healthy, for every file with its hash, triggered by the files and the worker", () => {
        const apply = byName(run, "identity-apply");
        expect(apply.dependencies).toEqual(expect.arrayContaining([byName(run, "authentik-worker-ready").urn, byName(run, "authentik-server-ready").urn]));
        const script = String(apply.inputs.create);
        const files = JSON.parse(/FILES = (\[.*?\])'/.exec(script)?.[1] ?? "[]") as [string, string][];
        expect(files.map(([file]) => file)).toEqual(["application-grafana", "proxy-applications", "brand", "enrollment", "recovery", "mfa", "break-glass"].map((name) => `authentik-sso/${name}.yaml`));
        const worker = byName(run, "authentik-worker");
        for (const [file, sha512] of files) {
            const upload = (worker.inputs.uploads as { file: string; content: string }[]).find((item) => item.file === `/blueprints/${file}`);
            expect(createHash("sha512").update(String(upload?.content)).digest("hex")).toBe(sha512);
        }
        expect(script).toContain("worker='authentik-worker'");
        expect(script).toContain("server='authentik-server'");
        expect(script).toContain("'SSO_BLUEPRINT_OIDC_GRAFANA_CLIENT_SECRET' 'SSO_BLUEPRINT_BREAK_GLASS_PASSWORD'");
        expect(apply.inputs.triggers).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/), byName(run, "authentik-worker").id]);
    });

    test("a proxy application's host gets a tunnel route to authentik and a proxied DNS record", () => {
        const ingress = (byName(run, "cloudflare-config").inputs.config as { ingresses: { hostname?: string; service: string }[] }).ingresses;
        expect(ingress.map((rule) => rule.hostname)).toEqual(["auth-dev.example.com", "books.example.com", undefined]);
        expect(ingress[1]?.service).toBe(ingress[0]?.service);
        const record = byName(run, "cloudflare-dns-books.example.com");
        expect(record.inputs).toMatchObject({ name: "books.example.com", type: "CNAME", proxied: true });
    });

    test("the apply command's trigger changes exactly when a file does", async () => {
        const digest = (result: ProgramRun) => (byName(result, "identity-apply").inputs.triggers as string[])[0];
        const same = await runProgram({ stack: "dev", config });
        expect(digest(same)).toBe(digest(run));
        const changed = await runProgram({ stack: "dev", config: withOverrides(dev, { identity: { ...EXAMPLE, brand: { ...EXAMPLE.brand, title: "Another title" } }, smtp: SMTP }) });
        expect(digest(changed)).not.toBe(digest(run));
    });
});

describe("a stack without identity", () => {
    test("registers none of it", async () => {
        const run = await runProgram({ stack: "local", config: local });
        expect(findByName(run, "identity-apply")).toBeUndefined();
        expect(byName(run, "authentik-worker").inputs.uploads).toBeUndefined();
        expect(run.outputs.oidcClients).toBeUndefined();
    });
});

describe("the user's own blueprints", () => {
    function folderWith(files: Record<string, string>): string {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "user-blueprints-"));
        for (const [name, content] of Object.entries(files)) {
            fs.mkdirSync(path.dirname(path.join(root, "blueprints", name)), { recursive: true });
            fs.writeFileSync(path.join(root, "blueprints", name), content);
        }
        return root;
    }
    const VALID = "version: 1\nmetadata:\n  name: My group\nentries:\n  - model: authentik_core.group\n    identifiers: {name: friends}\n    attrs: {name: friends}\n";

    async function runIn(root: string): Promise<{ run?: ProgramRun; error?: unknown }> {
        const cwd = process.cwd();
        fs.copyFileSync(path.join(cwd, "Pulumi.local.yaml"), path.join(root, "Pulumi.local.yaml"));
        process.chdir(root);
        try {
            return { run: await runProgram({ stack: "local", config: withOverrides(local, { identity: { blueprints: "blueprints" } }) }) };
        } catch (error) {
            return { error };
        } finally {
            process.chdir(cwd);
        }
    }

    test("are shipped as they are under authentik-sso/user/ and applied after the stack's", async () => {
        const MORE = VALID.replace("friends", "family").replace("My group", "My other group");
        const { run } = await runIn(folderWith({ "groups.yaml": VALID, "nested/more.yaml": MORE, ".hidden/skip.yaml": "not: read" }));
        const uploads = (byName(run as ProgramRun, "authentik-worker").inputs.uploads as { file: string; content: string }[]).filter((upload) => upload.file.includes("/user/"));
        expect(uploads).toEqual([
            { file: "/blueprints/authentik-sso/user/groups.yaml", content: VALID },
            { file: "/blueprints/authentik-sso/user/nested/more.yaml", content: MORE },
        ]);
        expect(String(byName(run as ProgramRun, "identity-apply").inputs.create)).toContain('["authentik-sso/user/nested/more.yaml",');
    });

    test("CRLF becomes LF (authentik would never match its hash); a name used twice, or taken, is refused", async () => {
        const crlf = await runIn(folderWith({ "groups.yaml": VALID.replace(/\n/g, "\r\n") }));
        const uploads = (byName(crlf.run as ProgramRun, "authentik-worker").inputs.uploads as { file: string; content: string }[]).filter((upload) => upload.file.includes("/user/"));
        expect(uploads[0]?.content).toBe(VALID);
        const twice = await runIn(folderWith({ "a.yaml": VALID, "b.yaml": VALID, "c.yaml": VALID.replace("My group", "Default - Brand") }));
        expect((twice.error as ConfigError).problems).toEqual([
            'authentik-sso:identity.blueprints: blueprints/b.yaml: its metadata.name "My group" is the name of blueprints/a.yaml too; authentik needs each name once',
            'authentik-sso:identity.blueprints: blueprints/c.yaml: its metadata.name "Default - Brand" is taken by the stack\'s or authentik\'s own blueprints; choose another',
        ]);
    });

    test("the folder's edges: missing, a file, empty, only other files, unreadable YAML, a bare CR, reserved names", () => {
        const key = "authentik-sso:identity.blueprints";
        const read = (root: string, folder = "blueprints") => readUserBlueprints(folder, root, "2026.8");
        const empty = folderWith({});
        expect(read(empty, "nope")).toEqual({ files: [], problems: [`${key}: got "nope"; is not a folder (relative to ${empty})`] });
        const withFile = folderWith({ "groups.yaml": VALID });
        expect(read(withFile, "blueprints/groups.yaml").problems).toEqual([`${key}: got "blueprints/groups.yaml"; is not a folder (relative to ${withFile})`]);
        fs.mkdirSync(path.join(empty, "blueprints"));
        expect(read(empty)).toEqual({ files: [], problems: [`${key}: blueprints holds no *.yaml file`] });
        expect(read(folderWith({ "README.md": "# notes", "groups.yaml": VALID.replace(/\n/g, "\r") }))).toEqual({ files: [{ path: "authentik-sso/user/groups.yaml", content: VALID }], problems: [] });
        expect(read(folderWith({ "old.yml": VALID })).problems).toEqual([`${key}: blueprints/old.yml: authentik reads only *.yaml and would ignore it; rename it`]);
        const [unreadable] = read(folderWith({ "bad.yaml": "a: [\n" })).problems;
        expect(unreadable).toMatch(/^authentik-sso:identity\.blueprints: blueprints\/bad\.yaml: is not YAML authentik can read: \S/);
        expect(read(folderWith({ "blank.yaml": "" })).problems).toEqual([`${key}: blueprints/blank.yaml: is not a blueprint (a YAML mapping with version and entries)`]);
        expect(read(folderWith({ "plain.yaml": VALID.replace("metadata:\n  name: My group\n", "") }))).toMatchObject({ problems: [] });
        // Files in a stable, human order (not the file system's, nor byte order, where Zeta would come before alpha).
        expect(read(folderWith({ "Zeta.yaml": VALID, "alpha.yaml": VALID })).problems).toEqual([`${key}: blueprints/Zeta.yaml: its metadata.name "My group" is the name of blueprints/alpha.yaml too; authentik needs each name once`]);
        expect(read(folderWith({ "a.yaml": VALID.replace("My group", "authentik-sso mine"), "b.yaml": VALID.replace("My group", "System - x") })).problems).toEqual([
            `${key}: blueprints/a.yaml: its metadata.name "authentik-sso mine" is taken by the stack's or authentik's own blueprints; choose another`,
            `${key}: blueprints/b.yaml: its metadata.name "System - x" is taken by the stack's or authentik's own blueprints; choose another`,
        ]);
    });

    test("one that does not validate stops the program, naming the file and the entry", async () => {
        const { error } = await runIn(
            folderWith({ "apps.yaml": VALID.replace("attrs: {name: friends}", "attrs: {name: friends, colour: blue}"), "entry.yaml": VALID.replace("My group", "Other").replace("attrs:", "attr:"), "old.yml": VALID }),
        );
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems).toEqual([
            "authentik-sso:identity.blueprints: blueprints/apps.yaml entry 1 (authentik_core.group): /attrs: colour is not a field of this model (authentik would drop it silently)",
            "authentik-sso:identity.blueprints: blueprints/entry.yaml entry 1 (authentik_core.group): /: attr is not a field of this model (authentik would drop it silently)",
            "authentik-sso:identity.blueprints: blueprints/old.yml: authentik reads only *.yaml and would ignore it; rename it",
        ]);
        expect(lastRun.resources).toEqual([]);
    });
});

describeWithTool("python3", "proving the files applied, through authentik's API from the server container", () => {
    const PROGRAM = fs.readFileSync(path.join(REPO_ROOT, "scripts", "apply-blueprints.py"), "utf8");
    interface Instance {
        pk: string;
        path: string;
        status: string;
        last_applied_hash: string;
    }

    /** Answers like authentik's managed blueprints API; `onApply` says what an apply request does to an instance. */
    async function fakeApi(instances: Instance[], onApply: (instance: Instance) => void) {
        const requests: string[] = [];
        const authorizations = new Set<string | undefined>();
        let polls = 0;
        const server = http.createServer((request, response) => {
            const url = new URL(request.url ?? "/", "http://x");
            requests.push(`${request.method} ${url.pathname}${url.searchParams.get("path") ? ` ${url.searchParams.get("path")}` : ""}`);
            authorizations.add(request.headers.authorization);
            const apply = /^\/api\/v3\/managed\/blueprints\/([^/]+)\/apply\/$/.exec(url.pathname);
            if (request.method === "POST" && apply) {
                const found = instances.find((item) => item.pk === apply[1]);
                if (found) {
                    onApply(found);
                }
                response.writeHead(200, { "content-type": "application/json" }).end("{}");
                return;
            }
            // authentik's own blueprints are still running for the first two looks.
            polls += 1;
            const all = instances.map((item) => (item.path.startsWith("default/") && polls <= 2 ? { ...item, status: "unknown" } : item));
            const wanted = url.searchParams.get("path");
            const results = wanted ? all.filter((item) => item.path === wanted) : all;
            response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ pagination: { next: 0, count: results.length }, results }));
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v3`, requests, authorizations, close: () => server.close() };
    }

    /** A `docker` that answers the worker's printenv and runs the server's python3 here, against the fake API. */
    function fakeDocker(unset: string[] = []): string {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
        fs.writeFileSync(
            path.join(bin, "docker"),
            [
                "#!/bin/sh",
                `echo "$*" | cut -c1-60 >>"${bin}/calls.log"`,
                'if [ "$1 $2 $3" = "exec authentik-worker printenv" ]; then',
                `    case " ${unset.join(" ")} " in *" $4 "*) exit 1 ;; esac`,
                '    [ "$4" = AUTHENTIK_BOOTSTRAP_TOKEN ] && { echo bootstrap-token; exit 0; }',
                "    echo value-of-$4; exit 0",
                "fi",
                'if [ "$1 $2 $3 $4 $5" = "exec -i authentik-server python3 -c" ]; then exec python3 -c "$6"; fi',
                "exit 9",
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
        return bin;
    }

    function run(script: string, bin: string, api: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
        return new Promise((resolve) => {
            const child = spawn("sh", ["-c", script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, SSO_APPLY_API: api, SSO_APPLY_TIMEOUT: "3", SSO_APPLY_GRACE: "0.3", SSO_APPLY_POLL: "0.05" } });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
            child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
            child.on("close", (status) => resolve({ status, stdout, stderr }));
        });
    }

    const files = [
        { path: "authentik-sso/brand.yaml", sha512: "a".repeat(128) },
        { path: "authentik-sso/enrollment.yaml", sha512: "b".repeat(128) },
    ];
    const script = (secretEnv: string[] = ["SSO_BLUEPRINT_BREAK_GLASS_PASSWORD"]) => applyBlueprintsScript({ worker: "authentik-worker", server: "authentik-server", files, secretEnv, program: PROGRAM });

    test("waits for authentik's own blueprints, lets the worker apply, asks only where it has not, with the bootstrap token", async () => {
        const instances: Instance[] = [
            { pk: "d1", path: "default/flow-default-authentication-flow.yaml", status: "successful", last_applied_hash: "x" },
            { pk: "i1", path: "authentik-sso/brand.yaml", status: "successful", last_applied_hash: "a".repeat(128) },
            { pk: "i2", path: "authentik-sso/enrollment.yaml", status: "successful", last_applied_hash: "old" },
        ];
        const api = await fakeApi(instances, (instance) => {
            instance.last_applied_hash = "b".repeat(128);
        });
        try {
            const result = await run(script(), fakeDocker(), api.url);
            expect(result.stderr).toBe("");
            expect(result.stdout).toBe("applied authentik-sso/brand.yaml\napplied authentik-sso/enrollment.yaml\n");
            expect(result.status).toBe(0);
            expect(api.requests.filter((request) => request.startsWith("POST"))).toEqual(["POST /api/v3/managed/blueprints/i2/apply/"]);
            // authentik's own blueprints first: the files are asked about only once those are no longer unknown.
            expect(api.requests.findIndex((request) => request.includes(" authentik-sso/"))).toBeGreaterThanOrEqual(3);
            expect([...api.authorizations]).toEqual(["Bearer bootstrap-token"]);
        } finally {
            api.close();
        }
    });

    test("a file that stays in error fails the run, naming it and where authentik says why", async () => {
        const instances: Instance[] = [
            { pk: "d1", path: "default/flow.yaml", status: "successful", last_applied_hash: "x" },
            { pk: "i1", path: "authentik-sso/brand.yaml", status: "successful", last_applied_hash: "a".repeat(128) },
            { pk: "i2", path: "authentik-sso/enrollment.yaml", status: "error", last_applied_hash: "old" },
        ];
        const api = await fakeApi(instances, () => undefined);
        try {
            const result = await run(script(), fakeDocker(), api.url);
            expect(result.status).toBe(1);
            expect(result.stdout).toBe("applied authentik-sso/brand.yaml\n");
            expect(result.stderr).toContain("blueprint authentik-sso/enrollment.yaml did not apply: status error, an older version applied; authentik's reason is in the worker's log");
        } finally {
            api.close();
        }
    });

    test("a secret the files read that is not in the worker stops it before anything, and the token never reaches a command line", async () => {
        const api = await fakeApi([], () => undefined);
        try {
            const bin = fakeDocker(["SSO_BLUEPRINT_BREAK_GLASS_PASSWORD"]);
            const result = await run(script(), bin, api.url);
            expect(result.status).toBe(1);
            expect(result.stderr).toBe("SSO_BLUEPRINT_BREAK_GLASS_PASSWORD is not set in authentik-worker: the blueprints would read nothing for it\n");
            expect(api.requests).toEqual([]);
            const healthy = fakeDocker();
            const withoutSecrets = await run(script([]), healthy, api.url);
            // With nothing to check, the script goes straight to authentik (which, empty here, never finishes its own).
            expect(withoutSecrets.stderr).toBe("authentik has not applied its own default blueprints after 3 s; see the worker's log\n");
            expect(fs.readFileSync(path.join(healthy, "calls.log"), "utf8")).not.toContain("bootstrap-token");
            // Every name is asked for on its own.
            const second = await run(script(["SSO_BLUEPRINT_A", "SSO_BLUEPRINT_B"]), fakeDocker(["SSO_BLUEPRINT_B"]), api.url);
            expect(second.status).toBe(1);
            expect(second.stderr).toBe("SSO_BLUEPRINT_B is not set in authentik-worker: the blueprints would read nothing for it\n");
        } finally {
            api.close();
        }
    });

    test("a worker without the bootstrap token stops the check before it asks authentik anything", async () => {
        const api = await fakeApi([], () => undefined);
        try {
            const result = await run(script([]), fakeDocker(["AUTHENTIK_BOOTSTRAP_TOKEN"]), api.url);
            expect(result.status).toBe(1);
            expect(result.stderr).toBe("authentik-worker has no AUTHENTIK_BOOTSTRAP_TOKEN: the check needs it to ask authentik\n");
            expect(api.requests).toEqual([]);
        } finally {
            api.close();
        }
    });

    test("a program that holds the here-document's end marker is refused", () => {
        expect(() => applyBlueprintsScript({ worker: "w", server: "s", files: [], secretEnv: [], program: "print(1)\nAUTHENTIK_SSO_APPLY_END\n" })).toThrow("the program must not contain AUTHENTIK_SSO_APPLY_END");
    });
});
