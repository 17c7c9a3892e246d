/**
 * authentik configured as code (authentik-sso:identity): the files the stack renders, checked on every supported
 * release line against authentik's own blueprint schema of that line (unknown fields are errors), the models and
 * values they set, how they reach the worker and are applied, the tunnel for proxy applications, the secrets, the
 * config rules, and the user's own blueprints.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { blueprintValidator, formatProblems } from "../lib/blueprintSchema";
import { Tag, parseBlueprint, stringifyBlueprint, tagsIn } from "../lib/blueprintYaml";
import { ConfigError, parseStackConfig } from "../lib/config";
import { applyBlueprintsScript } from "../lib/hostScripts";
import { identitySchema } from "../lib/identityConfig";
import { ENROLLMENT_FLOW, RECOVERY_FLOW, emailDomainExpression, planIdentity } from "../lib/identityPlan";
import { SUPPORTED_RELEASE_LINES, featuresOf, parseAuthentikVersion } from "../lib/versions";
import { ProgramRun, byName, envOf, findByName, lastRun, loadStackFile, runProgram, visibleInputs, withOverrides } from "./harness";

/** The example. */
const EXAMPLE = {
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
    return planIdentity(identitySchema.parse(identity), { domain: "auth.example.com", dialect: { oauthGrantTypes: featuresOf(version).oauthGrantTypes } });
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
        expect(tagValue(provider.attrs?.client_secret)).toEqual({ tag: "!Env", value: "AUTHENTIK_SSO_OIDC_GRAFANA_CLIENT_SECRET" });
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
        // The whole list, from this file: authentik replaces it on every apply.
        expect((outpost.attrs?.providers as unknown[]).map(tagValue)).toEqual([{ tag: "!KeyOf", value: provider.id }]);
    });

    test("enrollment by invitation only, for addresses in the allowed domains, linked from the login page", () => {
        const entries = byPath("enrollment");
        expect(entry(entries, "authentik_flows.flow").attrs).toMatchObject({ designation: "enrollment" });
        expect(entry(entries, "authentik_flows.flow").identifiers).toEqual({ slug: ENROLLMENT_FLOW });
        expect(entry(entries, "authentik_stages_invitation.invitationstage").attrs).toEqual({ continue_flow_without_invitation: false });
        const policy = entry(entries, "authentik_policies_expression.expressionpolicy");
        expect(policy.attrs?.expression).toBe(emailDomainExpression(["example.com"]));
        const prompt = entry(entries, "authentik_stages_prompt.promptstage");
        expect((prompt.attrs?.validation_policies as unknown[]).map(tagValue)).toEqual([{ tag: "!KeyOf", value: policy.id }]);
        // The invitation comes first: nothing else of the flow runs without one.
        const bindings = entries.filter((item) => item.model === "authentik_flows.flowstagebinding");
        const first = bindings.sort((a, b) => Number(a.identifiers.order) - Number(b.identifiers.order))[0];
        expect(tagValue(first?.identifiers.stage)).toEqual({ tag: "!KeyOf", value: "invitation" });
        expect(tagValue(entry(entries, "authentik_stages_identification.identificationstage").attrs?.enrollment_flow)).toEqual({ tag: "!KeyOf", value: "flow" });
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

    test("break-glass: a superuser group and the user in it, the password from the worker's environment", () => {
        const entries = byPath("break-glass");
        expect(entry(entries, "authentik_core.group").attrs).toMatchObject({ is_superuser: true });
        const user = entry(entries, "authentik_core.user");
        expect(user.identifiers).toEqual({ username: "breakglass" });
        expect(user.attrs).toMatchObject({ email: "breakglass@example.com", is_active: true });
        expect(tagValue(user.attrs?.password)).toEqual({ tag: "!Env", value: "AUTHENTIK_SSO_BREAK_GLASS_PASSWORD" });
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
        { rule: "allowed e-mail domains need enrollment", identity: { enrollment: { allowedEmailDomains: ["example.com"] } }, expected: ["authentik-sso:identity.enrollment.allowedEmailDomains", "set enrollment.mode to invitation or open"] },
    ];

    test.each(cases)("$rule", async ({ identity, stack = "local", expected }) => {
        const base = stack === "dev" ? dev : local;
        let error: unknown;
        try {
            await runProgram({ stack, config: withOverrides(base, { identity }) });
        } catch (caught) {
            error = caught;
        }
        expect(error).toBeInstanceOf(ConfigError);
        const problems = (error as ConfigError).problems;
        expect({ problems, found: problems.some((line) => expected.every((fragment) => line.includes(fragment))) }).toEqual({ problems, found: true });
        expect(lastRun.resources).toEqual([]);
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
            "/blueprints/authentik-sso/break-glass.yaml",
        ]);
        expect(byName(run, "authentik-server").inputs.uploads).toBeUndefined();
        const env = envOf(worker);
        expect(env.AUTHENTIK_SSO_OIDC_GRAFANA_CLIENT_SECRET).toMatch(/^[A-Za-z0-9]{64}$/);
        expect(env.AUTHENTIK_SSO_BREAK_GLASS_PASSWORD).toMatch(/^[A-Za-z0-9]{32}$/);
        expect(worker.secretPaths).toContain("envs");
    });

    test("no secret in a file, an input or an output in plain text", () => {
        const worker = byName(run, "authentik-worker");
        const env = envOf(worker);
        const secrets = [env.AUTHENTIK_SSO_OIDC_GRAFANA_CLIENT_SECRET, env.AUTHENTIK_SSO_BREAK_GLASS_PASSWORD] as string[];
        for (const upload of worker.inputs.uploads as { content: string }[]) {
            for (const secret of secrets) {
                expect(upload.content).not.toContain(secret);
            }
        }
        for (const resource of run.resources) {
            const visible = visibleInputs(resource);
            expect({ resource: resource.name, leaks: secrets.filter((secret) => visible.includes(secret)) }).toEqual({ resource: resource.name, leaks: [] });
        }
        expect(run.outputs.breakGlassPassword).toEqual({ value: env.AUTHENTIK_SSO_BREAK_GLASS_PASSWORD, secret: true });
        const clients = run.outputs.oidcClients?.value as Record<string, { clientId: string; clientSecret: string; issuerUrl: string; discoveryUrl: string }>;
        expect(run.outputs.oidcClients?.secret).toBe(true);
        expect(clients.grafana).toEqual({
            clientId: "grafana",
            clientSecret: env.AUTHENTIK_SSO_OIDC_GRAFANA_CLIENT_SECRET,
            issuerUrl: "https://auth-dev.example.com/application/o/grafana/",
            discoveryUrl: "https://auth-dev.example.com/application/o/grafana/.well-known/openid-configuration",
        });
    });

    test("ak apply_blueprint runs for every file in the worker once it is healthy, triggered by the files and the worker", () => {
        const apply = byName(run, "identity-apply");
        expect(apply.dependencies).toContain(byName(run, "authentik-worker-ready").urn);
        const script = String(apply.inputs.create);
        for (const file of ["application-grafana", "proxy-applications", "brand", "enrollment", "recovery", "break-glass"]) {
            expect(script).toContain(`'authentik-sso/${file}.yaml'`);
        }
        expect(script).toContain("container='authentik-worker'");
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
        const { run } = await runIn(folderWith({ "groups.yaml": VALID, "nested/more.yaml": VALID.replace("friends", "family"), ".hidden/skip.yaml": "not: read" }));
        const uploads = byName(run as ProgramRun, "authentik-worker").inputs.uploads as { file: string; content: string }[];
        expect(uploads).toEqual([
            { file: "/blueprints/authentik-sso/user/groups.yaml", content: VALID },
            { file: "/blueprints/authentik-sso/user/nested/more.yaml", content: VALID.replace("friends", "family") },
        ]);
        expect(String(byName(run as ProgramRun, "identity-apply").inputs.create)).toContain("'authentik-sso/user/nested/more.yaml'");
    });

    test("one that does not validate stops the program, naming the file and the entry", async () => {
        const { error } = await runIn(folderWith({ "apps.yaml": VALID.replace("attrs: {name: friends}", "attrs: {name: friends, colour: blue}"), "old.yml": VALID }));
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems).toEqual([
            "authentik-sso:identity.blueprints: blueprints/apps.yaml entry 1 (authentik_core.group): /attrs: colour is not a field of this model (authentik would drop it silently)",
            "authentik-sso:identity.blueprints: blueprints/old.yml: authentik reads only *.yaml and would ignore it; rename it",
        ]);
        expect(lastRun.resources).toEqual([]);
    });
});

describe("applying the files in the worker", () => {
    function fakeDocker(failing: string): string {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
        fs.writeFileSync(
            path.join(bin, "docker"),
            `#!/bin/sh\necho "$*" >>"${bin}/calls.log"\nif [ "$5" = "${failing}" ]; then echo "Blueprint invalid"; printf '\\tauthentik.blueprints.v1.importer: Entry invalid: Serializer errors {"slug": ["Enter a valid slug"]}\\n'; exit 1; fi\necho ok\n`,
            { mode: 0o755 },
        );
        return bin;
    }

    test("every file is tried; the run fails with each failing file and authentik's words", () => {
        const bin = fakeDocker("authentik-sso/brand.yaml");
        const script = applyBlueprintsScript({ container: "authentik-worker", paths: ["authentik-sso/application-a.yaml", "authentik-sso/brand.yaml", "authentik-sso/enrollment.yaml"] });
        const result = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
        expect(result.status).toBe(1);
        expect(result.stdout).toBe("applied authentik-sso/application-a.yaml\napplied authentik-sso/enrollment.yaml\n");
        expect(result.stderr).toContain("blueprint authentik-sso/brand.yaml did not apply:\nBlueprint invalid\n\tauthentik.blueprints.v1.importer: Entry invalid: Serializer errors");
        expect(result.stderr).toContain("1 blueprint(s) failed");
        expect(fs.readFileSync(path.join(bin, "calls.log"), "utf8").trim().split("\n")).toEqual([
            "exec authentik-worker ak apply_blueprint authentik-sso/application-a.yaml",
            "exec authentik-worker ak apply_blueprint authentik-sso/brand.yaml",
            "exec authentik-worker ak apply_blueprint authentik-sso/enrollment.yaml",
        ]);
    });

    test("all applied: exit 0", () => {
        const result = spawnSync("sh", ["-c", applyBlueprintsScript({ container: "w", paths: ["authentik-sso/brand.yaml"] })], { encoding: "utf8", env: { ...process.env, PATH: `${fakeDocker("none")}:${process.env.PATH}` } });
        expect(result.status).toBe(0);
    });
});


