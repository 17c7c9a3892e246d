/**
 * authentik-sso:identity as authentik blueprints: one file per concern, plain data, independent of Docker (a
 * Kubernetes target ships the same files). Secrets never enter a file: they reach the worker as environment variables
 * and the files read them with !Env. Model and field names follow authentik's blueprint schema of each release line
 * (vendor/authentik-blueprint-schema/, checked by tests/identity.test.ts).
 */
import { publicUrl } from "./authentikPlan";
import type { StackConfig } from "./config";
import { ApplicationConfig, IdentityConfig } from "./identityConfig";
import { featuresOf, parseAuthentikVersion } from "./versions";
import { Blueprint, BlueprintEntry, env, find, keyOf, stringifyBlueprint } from "./blueprintYaml";

/** Where the worker finds the stack's files: a folder of its own under authentik's blueprints root. */
export const BLUEPRINTS_ROOT = "/blueprints";
export const STACK_BLUEPRINTS_DIR = "authentik-sso";

/** authentik's own objects the files refer to (blueprints/default and system, every supported line). */
export const AUTHENTIK_DEFAULTS = {
    certificate: "authentik Self-signed Certificate",
    authorizationFlow: "default-provider-authorization-implicit-consent",
    providerInvalidationFlow: "default-provider-invalidation-flow",
    identificationStage: "default-authentication-identification",
    mfaValidationStage: "default-authentication-mfa-validation",
    /** The setup stages of authentik's default authenticator flows (TOTP, WebAuthn). */
    mfaSetupStages: ["default-authenticator-totp-setup", "default-authenticator-webauthn-setup"],
    embeddedOutpost: "goauthentik.io/outposts/embedded",
    scopes: ["openid", "email", "profile"].map((scope) => `goauthentik.io/providers/oauth2/scope-${scope}`),
} as const;

/** A secret the worker gets as an environment variable, read by a file with !Env. */
export interface BlueprintSecret {
    /** The worker's environment variable. */
    readonly envName: string;
    /** What it is, e.g. the key of a generated value. */
    readonly key: string;
    readonly kind: "oidc-client-secret" | "break-glass-password";
    /** The application's slug, for a client secret. */
    readonly slug?: string;
}

export interface BlueprintFile {
    /** Relative to BLUEPRINTS_ROOT, what `ak apply_blueprint` takes. */
    readonly path: string;
    readonly content: string;
}

export interface OidcClient {
    readonly slug: string;
    readonly clientId: string;
    readonly public: boolean;
    /** The environment variable that holds its secret (confidential clients). */
    readonly secretEnv?: string;
    readonly issuerUrl: string;
    readonly discoveryUrl: string;
}

export interface IdentityPlan {
    /** In the order `pulumi up` applies them. */
    readonly files: readonly BlueprintFile[];
    readonly secrets: readonly BlueprintSecret[];
    readonly oidcClients: readonly OidcClient[];
    /** Hostnames of proxy applications: the tunnel routes them to authentik. */
    readonly proxyHosts: readonly string[];
    /** Groups that applications are bound to. */
    readonly groups: readonly string[];
}

/**
 * The worker's variables for the blueprints' secrets. Not AUTHENTIK_*: authentik reads every such variable into its
 * own configuration (lib/config.py), where `ak dump_config` would show them.
 */
export const SECRET_ENV_PREFIX = "SSO_BLUEPRINT_";
const envName = (suffix: string) => `${SECRET_ENV_PREFIX}${suffix.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
const stackPath = (name: string) => `${STACK_BLUEPRINTS_DIR}/${name}.yaml`;

function blueprint(name: string, entries: BlueprintEntry[]): Blueprint {
    return { version: 1, metadata: { name: `authentik-sso ${name}`, labels: { "blueprints.goauthentik.io/description": `Managed by the authentik-sso Pulumi stack (${name})` } }, entries };
}

const flow = (slug: string) => find("authentik_flows.flow", ["slug", slug]);
const groupRef = (name: string) => find("authentik_core.group", ["name", name]);

/**
 * The default brand, found by its `default` flag: authentik matches all identifiers together and writes them into
 * the object (blueprints/v1/importer.py), so its domain, which an admin may have changed, is no identifier.
 */
const DEFAULT_BRAND = { default: true } as const;

function brandEntries(identity: IdentityConfig): BlueprintEntry[] {
    const brand = identity.brand;
    if (!brand) {
        return [];
    }
    return [
        {
            model: "authentik_brands.brand",
            identifiers: DEFAULT_BRAND,
            // An unset logo or favicon is left out of the file (stringifyBlueprint writes nothing undefined).
            attrs: { branding_title: brand.title, branding_logo: brand.logoUrl, branding_favicon: brand.faviconUrl },
        },
    ];
}

function groupEntries(names: readonly string[]): BlueprintEntry[] {
    return names.map((name) => ({ model: "authentik_core.group", identifiers: { name }, attrs: { name } }));
}

/** Access: no groups, every user; otherwise members of any of the groups. */
function bindingEntries(application: ApplicationConfig, applicationId: string): BlueprintEntry[] {
    return (application.groups ?? []).map((group, order) => ({
        model: "authentik_policies.policybinding",
        identifiers: { target: keyOf(applicationId), group: groupRef(group) },
        attrs: { order, enabled: true, negate: false, timeout: 30 },
    }));
}

function oidcApplicationEntries(application: ApplicationConfig, secret: BlueprintSecret | undefined, dialect: BlueprintDialect): BlueprintEntry[] {
    const oidc = application.oidc;
    if (!oidc) {
        return [];
    }
    return [
        ...groupEntries(application.groups ?? []),
        {
            model: "authentik_providers_oauth2.oauth2provider",
            id: "provider",
            identifiers: { name: `${application.slug} (authentik-sso)` },
            attrs: {
                authorization_flow: flow(AUTHENTIK_DEFAULTS.authorizationFlow),
                invalidation_flow: flow(AUTHENTIK_DEFAULTS.providerInvalidationFlow),
                client_type: oidc.public ? "public" : "confidential",
                client_id: application.slug,
                ...(secret ? { client_secret: env(secret.envName) } : {}),
                redirect_uris: oidc.redirectUris.map((url) => ({ matching_mode: "strict", url })),
                signing_key: find("authentik_crypto.certificatekeypair", ["name", AUTHENTIK_DEFAULTS.certificate]),
                property_mappings: AUTHENTIK_DEFAULTS.scopes.map((managed) => find("authentik_providers_oauth2.scopemapping", ["managed", managed])),
                sub_mode: "hashed_user_id",
                include_claims_in_id_token: true,
                // From 2026.5 a provider allows only the grant types it lists, and one made without the field lists none.
                ...(dialect.oauthGrantTypes ? { grant_types: ["authorization_code", "refresh_token"] } : {}),
            },
        },
        applicationEntry(application, "application", "provider"),
        ...bindingEntries(application, "application"),
    ];
}

function applicationEntry(application: ApplicationConfig, id: string, providerId: string): BlueprintEntry {
    return {
        model: "authentik_core.application",
        id,
        identifiers: { slug: application.slug },
        attrs: {
            name: application.name,
            provider: keyOf(providerId),
            policy_engine_mode: "any",
            meta_launch_url: application.launchUrl,
        },
    };
}

export const proxyProviderName = (application: ApplicationConfig) => `${application.slug} (authentik-sso proxy)`;

/**
 * Every proxy application in one file with the embedded outpost that serves them: authentik replaces the outpost's
 * provider list on each apply, so the list must name them all, and !KeyOf reaches only entries of the same file
 * (authentik applies files in no particular order, so a lookup in another file could find nothing yet).
 */
function proxyApplicationsEntries(applications: readonly ApplicationConfig[], authentikHost: string): BlueprintEntry[] {
    const entries: BlueprintEntry[] = [...groupEntries([...new Set(applications.flatMap((application) => application.groups ?? []))])];
    for (const application of applications) {
        const proxy = application.proxy;
        if (!proxy) {
            continue;
        }
        entries.push(
            {
                model: "authentik_providers_proxy.proxyprovider",
                id: `provider-${application.slug}`,
                identifiers: { name: proxyProviderName(application) },
                attrs: {
                    authorization_flow: flow(AUTHENTIK_DEFAULTS.authorizationFlow),
                    invalidation_flow: flow(AUTHENTIK_DEFAULTS.providerInvalidationFlow),
                    mode: "proxy",
                    external_host: proxy.externalHost,
                    internal_host: proxy.internalHost,
                    internal_host_ssl_validation: true,
                },
            },
            applicationEntry(application, `application-${application.slug}`, `provider-${application.slug}`),
            ...bindingEntries(application, `application-${application.slug}`),
        );
    }
    entries.push({
        model: "authentik_outposts.outpost",
        identifiers: { managed: AUTHENTIK_DEFAULTS.embeddedOutpost },
        attrs: {
            providers: applications.map((application) => keyOf(`provider-${application.slug}`)),
            // Where the outpost sends browsers to log in. authentik leaves it empty until an admin opens the dashboard
            // (then takes that browser's URL); empty, logins go to internal addresses. authentik fills in its other keys.
            config: { authentik_host: authentikHost },
        },
    });
    return entries;
}

export const ENROLLMENT_FLOW = "authentik-sso-enrollment";
export const RECOVERY_FLOW = "authentik-sso-recovery";

/** authentik's expression: the e-mail in the prompt's data must be in one of the domains. */
export function emailDomainExpression(domains: readonly string[]): string {
    return [
        `allowed = ${JSON.stringify([...domains])}`,
        'email = (request.context.get("prompt_data") or {}).get("email", "")',
        'domain = email.rpartition("@")[2].lower()',
        "if domain in allowed:",
        "    return True",
        'ak_message("Enrollment is open to addresses in " + ", ".join(allowed) + " only.")',
        "return False",
        "",
    ].join("\n");
}

/** Prompt names are unique in authentik: each flow names its own. */
function promptEntry(flowName: string, id: string, fieldKey: string, label: string, type: string, order: number): BlueprintEntry {
    return {
        model: "authentik_stages_prompt.prompt",
        id,
        identifiers: { name: `authentik-sso-${flowName}-${id}` },
        attrs: { field_key: fieldKey, label, type, required: true, placeholder: label, placeholder_expression: false, order },
    };
}

/**
 * Each stage at a fixed place in its flow (authentik's own example orders), identified by flow and stage: a binding
 * keeps its identity when another stage comes or goes, instead of a second binding at a new place.
 */
const STAGE_ORDER = { invitation: 5, identification: 10, email: 20, prompt: 30, write: 40, login: 100 } as const;

function stageBinding(flowId: string, stage: keyof typeof STAGE_ORDER): BlueprintEntry {
    return {
        model: "authentik_flows.flowstagebinding",
        identifiers: { target: keyOf(flowId), stage: keyOf(stage) },
        attrs: { order: STAGE_ORDER[stage], evaluate_on_plan: true, re_evaluate_policies: false },
    };
}

const ENROLLMENT_FLOW_ENTRY = (mode: "invitation" | "open"): BlueprintEntry => ({
    model: "authentik_flows.flow",
    id: "flow",
    identifiers: { slug: ENROLLMENT_FLOW },
    attrs: { name: "Enrollment (authentik-sso)", title: mode === "invitation" ? "Join with your invitation" : "Create your account", designation: "enrollment", authentication: "require_unauthenticated" },
});

/**
 * Enrollment by invitation (a link an admin sends; the flow is not linked from the login page, where it would only
 * end in "invalid invitation") or open (linked as "Sign up"). Closed: the flow is deleted, which also unlinks it.
 */
function enrollmentEntries(identity: IdentityConfig): BlueprintEntry[] {
    const { mode, allowedEmailDomains } = identity.enrollment;
    if (mode === "closed") {
        return [{ model: "authentik_flows.flow", identifiers: { slug: ENROLLMENT_FLOW }, state: "absent" }];
    }
    const domains = allowedEmailDomains ?? [];
    const invitation: BlueprintEntry = { model: "authentik_stages_invitation.invitationstage", id: "invitation", identifiers: { name: "authentik-sso-enrollment-invitation" }, attrs: { continue_flow_without_invitation: false } };
    return [
        ENROLLMENT_FLOW_ENTRY(mode),
        // Open: the invitation stage goes, with its binding (a switch from invitation must not keep asking for one).
        mode === "invitation" ? invitation : { ...invitation, attrs: undefined, state: "absent" },
        promptEntry("enrollment", "username", "username", "Username", "username", 0),
        promptEntry("enrollment", "name", "name", "Name", "text", 1),
        promptEntry("enrollment", "email", "email", "E-mail", "email", 2),
        promptEntry("enrollment", "password", "password", "Password", "password", 3),
        promptEntry("enrollment", "password-repeat", "password_repeat", "Password (again)", "password", 4),
        domains.length > 0
            ? { model: "authentik_policies_expression.expressionpolicy", id: "domains", identifiers: { name: "authentik-sso-enrollment-email-domains" }, attrs: { expression: emailDomainExpression(domains) } }
            : { model: "authentik_policies_expression.expressionpolicy", identifiers: { name: "authentik-sso-enrollment-email-domains" }, state: "absent" },
        {
            model: "authentik_stages_prompt.promptstage",
            id: "prompt",
            identifiers: { name: "authentik-sso-enrollment-prompt" },
            attrs: {
                fields: ["username", "name", "email", "password", "password-repeat"].map(keyOf),
                validation_policies: domains.length > 0 ? [keyOf("domains")] : [],
            },
        },
        {
            model: "authentik_stages_user_write.userwritestage",
            id: "write",
            identifiers: { name: "authentik-sso-enrollment-write" },
            // Internal users: external ones are refused authentik's user interface (their apps, MFA, password).
            attrs: { user_creation_mode: "always_create", create_users_as_inactive: false, user_type: "internal", user_path_template: "users" },
        },
        { model: "authentik_stages_user_login.userloginstage", id: "login", identifiers: { name: "authentik-sso-enrollment-login" }, attrs: {} },
        ...(mode === "invitation" ? [stageBinding("flow", "invitation")] : []),
        stageBinding("flow", "prompt"),
        stageBinding("flow", "write"),
        stageBinding("flow", "login"),
        {
            model: "authentik_stages_identification.identificationstage",
            identifiers: { name: AUTHENTIK_DEFAULTS.identificationStage },
            // Linked from the login page only when anyone may sign up.
            attrs: { enrollment_flow: mode === "open" ? keyOf("flow") : null },
        },
    ];
}

function recoveryEntries(enabled: boolean): BlueprintEntry[] {
    if (!enabled) {
        // Deleting the flow unlinks it from the brand and the login page too.
        return [{ model: "authentik_flows.flow", identifiers: { slug: RECOVERY_FLOW }, state: "absent" }];
    }
    return [
        {
            model: "authentik_flows.flow",
            id: "flow",
            identifiers: { slug: RECOVERY_FLOW },
            attrs: { name: "Recovery (authentik-sso)", title: "Reset your password", designation: "recovery", authentication: "require_unauthenticated" },
        },
        {
            model: "authentik_stages_identification.identificationstage",
            id: "identification",
            identifiers: { name: "authentik-sso-recovery-identification" },
            attrs: { user_fields: ["email", "username"] },
        },
        {
            model: "authentik_stages_email.emailstage",
            id: "email",
            identifiers: { name: "authentik-sso-recovery-email" },
            attrs: { use_global_settings: true, template: "email/password_reset.html", activate_user_on_success: true, subject: "Reset your password" },
        },
        promptEntry("recovery", "password", "password", "New password", "password", 0),
        promptEntry("recovery", "password-repeat", "password_repeat", "New password (again)", "password", 1),
        { model: "authentik_stages_prompt.promptstage", id: "prompt", identifiers: { name: "authentik-sso-recovery-prompt" }, attrs: { fields: [keyOf("password"), keyOf("password-repeat")], validation_policies: [] } },
        { model: "authentik_stages_user_write.userwritestage", id: "write", identifiers: { name: "authentik-sso-recovery-write" }, attrs: { user_creation_mode: "never_create" } },
        { model: "authentik_stages_user_login.userloginstage", id: "login", identifiers: { name: "authentik-sso-recovery-login" }, attrs: {} },
        ...(["identification", "email", "prompt", "write", "login"] as const).map((stage) => stageBinding("flow", stage)),
        // Linked here, in the same file as the flow, so no other file depends on it: the login page's "forgot
        // password" link and the brand's recovery flow.
        {
            model: "authentik_stages_identification.identificationstage",
            identifiers: { name: AUTHENTIK_DEFAULTS.identificationStage },
            attrs: { recovery_flow: keyOf("flow") },
        },
        { model: "authentik_brands.brand", identifiers: DEFAULT_BRAND, attrs: { flow_recovery: keyOf("flow") } },
    ];
}

/** The default login's MFA stage: with `mfa: required`, a user without an authenticator must set one up. */
function mfaEntries(identity: IdentityConfig): BlueprintEntry[] {
    const required = identity.mfa === "required";
    return [
        {
            model: "authentik_stages_authenticator_validate.authenticatorvalidatestage",
            identifiers: { name: AUTHENTIK_DEFAULTS.mfaValidationStage },
            attrs: required
                ? {
                      not_configured_action: "configure",
                      configuration_stages: AUTHENTIK_DEFAULTS.mfaSetupStages.map((name) => find("authentik_flows.stage", ["name", name])),
                  }
                : // authentik's own default: users who have an authenticator use it, the others log in without one.
                  { not_configured_action: "skip" },
        },
    ];
}

export const BREAK_GLASS_GROUP = "authentik-sso break-glass admins";

/** Marks the break-glass user, so that it is found (and removed) whatever its user name. */
export const BREAK_GLASS_MARKER = { "authentik-sso/role": "break-glass" } as const;

function breakGlassEntries(identity: IdentityConfig, secret: BlueprintSecret | undefined): BlueprintEntry[] {
    const breakGlass = identity.breakGlass;
    if (!breakGlass || !secret) {
        // Taken out of the config: the account goes too (its password is in the stack's history).
        return [
            { model: "authentik_core.user", identifiers: { attributes: BREAK_GLASS_MARKER }, state: "absent" },
            { model: "authentik_core.group", identifiers: { name: BREAK_GLASS_GROUP }, state: "absent" },
        ];
    }
    return [
        { model: "authentik_core.group", id: "admins", identifiers: { name: BREAK_GLASS_GROUP }, attrs: { name: BREAK_GLASS_GROUP, is_superuser: true } },
        {
            model: "authentik_core.user",
            identifiers: { attributes: BREAK_GLASS_MARKER },
            // present: each apply sets the password back to the stack's, which is the point of a break-glass account.
            attrs: { username: breakGlass.username, name: "Break-glass admin (authentik-sso)", email: breakGlass.email, is_active: true, type: "internal", password: env(secret.envName), groups: [keyOf("admins")] },
        },
    ];
}

/** What differs between release lines in the files this module writes. */
export interface BlueprintDialect {
    /** From 2026.5 an OAuth2 provider lists the grant types it allows. */
    readonly oauthGrantTypes: boolean;
}

export interface IdentityContext {
    /** authentik's public URL, e.g. https://auth.example.com (http://localhost:9000 on the local stack). */
    readonly url: string;
    readonly dialect: BlueprintDialect;
}

export function planIdentity(identity: IdentityConfig, context: IdentityContext): IdentityPlan {
    const secrets: BlueprintSecret[] = [];
    const oidcClients: OidcClient[] = [];
    const files: BlueprintFile[] = [];
    const add = (name: string, entries: BlueprintEntry[]) => {
        if (entries.length > 0) {
            files.push({ path: stackPath(name), content: stringifyBlueprint(blueprint(name, entries)) });
        }
    };

    for (const application of identity.applications) {
        if (application.oidc) {
            const secret = application.oidc.public ? undefined : { envName: envName(`oidc_${application.slug}_client_secret`), key: `oidc-${application.slug}`, kind: "oidc-client-secret" as const, slug: application.slug };
            if (secret) {
                secrets.push(secret);
            }
            const issuerUrl = `${context.url}/application/o/${application.slug}/`;
            oidcClients.push({
                slug: application.slug,
                clientId: application.slug,
                public: application.oidc.public,
                ...(secret ? { secretEnv: secret.envName } : {}),
                issuerUrl,
                discoveryUrl: `${issuerUrl}.well-known/openid-configuration`,
            });
            add(`application-${application.slug}`, oidcApplicationEntries(application, secret, context.dialect));
        }
    }
    const proxyApplications = identity.applications.filter((application): application is ApplicationConfig & { proxy: NonNullable<ApplicationConfig["proxy"]> } => application.proxy !== undefined);
    if (proxyApplications.length > 0) {
        add("proxy-applications", proxyApplicationsEntries(proxyApplications, `${context.url}/`));
    }
    add("brand", brandEntries(identity));
    // Always written: turning a feature off must undo it in authentik, not just stop managing it.
    add("enrollment", enrollmentEntries(identity));
    add("recovery", recoveryEntries(identity.recovery));
    if (identity.mfa !== undefined) {
        add("mfa", mfaEntries(identity));
    }
    const breakGlassSecret = identity.breakGlass ? { envName: envName("break_glass_password"), key: "break-glass", kind: "break-glass-password" as const } : undefined;
    if (breakGlassSecret) {
        secrets.push(breakGlassSecret);
    }
    add("break-glass", breakGlassEntries(identity, breakGlassSecret));

    const groups = [...new Set(identity.applications.flatMap((application) => application.groups ?? []))].sort();
    const proxyHosts = proxyApplications.map((application) => new URL(application.proxy.externalHost).hostname);
    return { files, secrets, oidcClients, proxyHosts, groups };
}

/** The stack's identity plan, in the dialect of its release line; undefined without identity. */
export function identityFor(config: Pick<StackConfig, "identity" | "domain" | "authentik" | "docker" | "cloudflare">): IdentityPlan | undefined {
    if (!config.identity) {
        return undefined;
    }
    const version = parseAuthentikVersion(config.authentik.version);
    if (!version) {
        throw new Error(`authentik.version ${config.authentik.version} was not validated`);
    }
    return planIdentity(config.identity, { url: publicUrl(config), dialect: { oauthGrantTypes: featuresOf(version).oauthGrantTypes } });
}
