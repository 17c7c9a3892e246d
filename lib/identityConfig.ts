/**
 * authentik-sso:identity: what authentik itself is configured with (brand, applications, enrollment, recovery, a
 * break-glass admin, the user's own blueprints). The rules that need other keys (smtp, the Cloudflare zone) are in
 * checkIdentityRules, run with the stack's other cross-key rules.
 */
import { z } from "zod";

const SLUG_PATTERN = /^[a-z0-9]([a-z0-9-]{0,48}[a-z0-9])?$/;
const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
/** Loopback names for which a redirect URI may use plain http (a desktop app, a developer's machine). */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Application slugs authentik refuses from 2025.8: they collide with its OAuth2 endpoints (core/models.py). */
export const RESERVED_SLUGS = ["authorize", "token", "device", "userinfo", "introspect", "revoke"] as const;

const slug = z
    .string()
    .regex(SLUG_PATTERN, "must be a lower-case slug: letters, digits and '-', 1 to 50 characters, not starting or ending with '-'")
    .refine((value) => !(RESERVED_SLUGS as readonly string[]).includes(value), `must not be one of authentik's reserved names (${RESERVED_SLUGS.join(", ")})`);

const groupName = z.string().trim().min(1, "must not be empty").max(80, "must be at most 80 characters");

/**
 * A native app's own scheme in reverse-domain form, such as Immich's `app.immich:` (RFC 8252 7.1: a private-use scheme
 * names a domain its publisher controls, so it contains a period; `javascript:` or `data:` never do).
 */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/;

/** An absolute URL: https, http only on a loopback host, or a native app's private-use scheme. */
const redirectUri = z.string().superRefine((text, ctx) => {
    let url: URL;
    try {
        url = new URL(text);
    } catch {
        ctx.addIssue({ code: "custom", message: "must be an absolute URL such as https://app.example.com/oauth/callback" });
        return;
    }
    if (url.hash !== "" || text.includes("#")) {
        ctx.addIssue({ code: "custom", message: "must not carry a #fragment (OAuth 2.0, RFC 6749 3.1.2)" });
        return;
    }
    if (url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname)) || PRIVATE_USE_SCHEME.test(url.protocol)) {
        return;
    }
    ctx.addIssue({ code: "custom", message: "must use https (http only for localhost or 127.0.0.1; a mobile app's own scheme in reverse-domain form, such as app.immich:/, also works)" });
});

/** An origin-style URL: scheme and host (and port), no path, query or fragment. */
function hostUrl(protocols: readonly string[], example: string, { loopback }: { loopback: boolean }) {
    return z.string().superRefine((text, ctx) => {
        let url: URL;
        try {
            url = new URL(text);
        } catch {
            ctx.addIssue({ code: "custom", message: `must be a URL such as ${example}` });
            return;
        }
        if (!protocols.includes(url.protocol.slice(0, -1))) {
            ctx.addIssue({ code: "custom", message: `must use ${protocols.join(" or ")}, e.g. ${example}` });
        } else if (url.pathname !== "/" || url.search !== "" || url.hash !== "" || text.endsWith("/")) {
            ctx.addIssue({ code: "custom", message: `must be scheme and host only, without a path or a trailing /, e.g. ${example}` });
        } else if (url.username !== "" || url.password !== "") {
            ctx.addIssue({ code: "custom", message: "must not carry a user or password" });
        } else if (!text.slice(text.indexOf("//") + 2).split(/[:/]/)[0]?.split("").every((char) => char === char.toLowerCase())) {
            ctx.addIssue({ code: "custom", message: "must have a lower-case host name" });
        } else if (!loopback && (LOOPBACK_HOSTS.has(url.hostname) || url.hostname.startsWith("127."))) {
            ctx.addIssue({ code: "custom", message: "must not be a loopback address: it would be authentik's own container; give an address the authentik server can reach" });
        }
    });
}

const httpsUrl = z.url({ protocol: /^https$/, error: "must be an https URL" });

const oidcSchema = z.strictObject({
    /** Where authentik may send users back after login; exact matches. */
    redirectUris: z.array(redirectUri).min(1, "needs at least one redirect URI"),
    /** A public client (a single-page or mobile app) has no secret; default: a confidential client with one. */
    public: z.boolean().default(false),
});

const proxySchema = z.strictObject({
    /** Where users reach the app, through authentik (in the Cloudflare zone when the tunnel is on). */
    externalHost: hostUrl(["https"], "https://books.example.com", { loopback: true }),
    /** The app itself, as the authentik server container reaches it. */
    internalHost: hostUrl(["http", "https"], "http://192.168.1.60:8083", { loopback: false }),
});

const applicationSchema = z
    .strictObject({
        slug,
        name: z.string().trim().min(1, "must not be empty").max(100),
        /** The link on the user's dashboard. */
        launchUrl: httpsUrl.optional(),
        /** Who may use it; omitted: every user. Each group is created. */
        groups: z.array(groupName).min(1, "needs at least one group; leave groups out for an application open to every user").optional(),
        oidc: oidcSchema.optional(),
        proxy: proxySchema.optional(),
    })
    .superRefine((application, ctx) => {
        if ((application.oidc === undefined) === (application.proxy === undefined)) {
            ctx.addIssue({ code: "custom", path: [], message: "needs exactly one of oidc or proxy" });
        }
        const groups = application.groups ?? [];
        const twice = groups.filter((group, index) => groups.indexOf(group) !== index);
        if (twice.length > 0) {
            ctx.addIssue({ code: "custom", path: ["groups"], input: twice[0], message: `names ${twice[0]} twice` });
        }
    });

export const ENROLLMENT_MODES = ["closed", "invitation", "open"] as const;

export const identitySchema = z
    .strictObject({
        brand: z
            .strictObject({
                title: z.string().trim().min(1, "must not be empty").max(100),
                logoUrl: httpsUrl.optional(),
                faviconUrl: httpsUrl.optional(),
            })
            .optional(),
        enrollment: z
            .strictObject({
                /** closed: accounts only by an admin; invitation: with an invitation link; open: anyone. */
                mode: z.enum(ENROLLMENT_MODES).default("closed"),
                /** Only addresses in these domains may enroll. */
                allowedEmailDomains: z.array(z.string().regex(DOMAIN_PATTERN, "must be a lower-case domain such as example.com")).min(1).optional(),
            })
            .prefault({}),
        /** Password reset by e-mail (needs smtp). */
        recovery: z.boolean().default(false),
        /**
         * optional: users who set up an authenticator (TOTP, WebAuthn) must use it, the others log in with a password
         * alone (authentik's default); required: everyone must set one up at the next login. Unset: the stack leaves
         * the login's MFA stage as it is.
         */
        mfa: z.enum(["optional", "required"]).optional(),
        /** A second superuser, for when the usual admin is locked out; its password is generated (output). */
        breakGlass: z
            .strictObject({
                username: z
                    .string()
                    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "must be a lower-case user name: letters, digits, '.', '_' and '-'")
                    .refine((name) => name !== "akadmin", "must not be akadmin: the break-glass account is a second admin, and would reset the bootstrap admin's password and groups"),
                email: z.email("must be an e-mail address"),
            })
            .optional(),
        applications: z.array(applicationSchema).default([]),
        /** A folder of the user's own *.yaml blueprints, relative to the project, applied as they are. */
        blueprints: z
            .string()
            .regex(/^[A-Za-z0-9._\-/]+$/, "must be a relative folder of letters, digits, '.', '_', '-' and '/'")
            .refine((folder) => !folder.startsWith("/") && !folder.split("/").includes(".."), "must be a folder inside the project (relative, without ..)")
            .optional(),
    })
    .superRefine((identity, ctx) => {
        const slugs = identity.applications.map((application) => application.slug);
        slugs.forEach((value, index) => {
            if (slugs.indexOf(value) !== index) {
                ctx.addIssue({ code: "custom", path: ["applications", index, "slug"], input: value, message: `is used by applications[${slugs.indexOf(value)}] too; slugs must be unique` });
            }
        });
        const hosts = identity.applications.map((application) => application.proxy?.externalHost);
        hosts.forEach((host, index) => {
            if (host !== undefined && hosts.indexOf(host) !== index) {
                ctx.addIssue({ code: "custom", path: ["applications", index, "proxy", "externalHost"], input: host, message: `is the external host of applications[${hosts.indexOf(host)}] too` });
            }
        });
        const { mode, allowedEmailDomains } = identity.enrollment;
        if (mode === "closed" && allowedEmailDomains !== undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["enrollment", "allowedEmailDomains"],
                input: allowedEmailDomains,
                message: "only applies when users enroll: set enrollment.mode to invitation or open, or remove it",
            });
        }
    });

export type IdentityConfig = z.output<typeof identitySchema>;
export type ApplicationConfig = IdentityConfig["applications"][number];

/** The hostname users reach a proxy application at. */
export function externalHostname(application: ApplicationConfig): string | undefined {
    return application.proxy ? new URL(application.proxy.externalHost).hostname : undefined;
}
