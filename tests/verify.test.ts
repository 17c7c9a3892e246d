/**
 * npm run verify against a small HTTP server on 127.0.0.1 that answers like authentik does (readiness, the managed
 * blueprints API as @goauthentik/api reads it, OIDC discovery, the embedded outpost's redirect), with the stack's
 * hostnames routed to it.
 */
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { planAuthentik } from "../lib/authentikPlan";
import { parseStackConfig } from "../lib/config";
import { CheckResult, Runner } from "../scripts/preflight";
import { blueprintHash, main, verify } from "../scripts/verify";
import { REPO_ROOT } from "./harness";

const IDENTITY = {
    applications: [
        { slug: "grafana", name: "Grafana", oidc: { redirectUris: ["https://grafana.example.com/login/generic_oauth"] } },
        { slug: "books", name: "Books", proxy: { externalHost: "https://books.example.com", internalHost: "http://192.168.1.60:8083" } },
    ],
    brand: { title: "Example SSO" },
};
const TOKEN = "bootstrap-token-for-the-test";

/** A project folder with the local stack file plus identity. */
function project(): { dir: string; files: { path: string; content: string }[] } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-"));
    const document = { config: { ...(parseYaml(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.local.yaml"), "utf8")) as { config: Record<string, unknown> }).config, "authentik-sso:identity": IDENTITY } };
    fs.writeFileSync(path.join(dir, "Pulumi.local.yaml"), stringifyYaml(document));
    const raw = Object.fromEntries(Object.entries(document.config).map(([key, value]) => [key.replace("authentik-sso:", ""), value]));
    return { dir, files: [...planAuthentik(parseStackConfig(raw)).blueprints] };
}

interface Fake {
    /** Blueprint instances by path; absent: no instance. */
    instances: Record<string, { status: string; hash: string }>;
    ready?: number;
    issuer?: string;
    /** Where the outpost's second hop sends visitors; undefined: the host answers 200 (not protected). */
    proxyLocation?: string;
}

async function fakeAuthentik(fake: Fake): Promise<{ url: string; close: () => void; authorizations: (string | undefined)[] }> {
    const authorizations: (string | undefined)[] = [];
    const server = http.createServer((request, response) => {
        const url = new URL(request.url ?? "/", "http://x");
        const host = request.headers.host ?? "";
        const json = (status: number, body: unknown) => {
            response.writeHead(status, { "content-type": "application/json" });
            response.end(JSON.stringify(body));
        };
        if (host.startsWith("books.example.com")) {
            if (fake.proxyLocation === undefined) {
                response.writeHead(200).end("the app itself");
            } else if (url.pathname === "/outpost.goauthentik.io/start") {
                // The outpost's second hop, with the state cookie of the first.
                response.writeHead(302, { location: request.headers.cookie === "authentik_proxy_state=s1" ? fake.proxyLocation : "/outpost.goauthentik.io/start" }).end();
            } else {
                response.writeHead(302, { location: "https://books.example.com/outpost.goauthentik.io/start?rd=%2F", "set-cookie": "authentik_proxy_state=s1; Path=/; HttpOnly" }).end();
            }
            return;
        }
        if (url.pathname === "/-/health/ready/") {
            response.writeHead(fake.ready ?? 200).end();
            return;
        }
        if (url.pathname === "/api/v3/managed/blueprints/") {
            authorizations.push(request.headers.authorization);
            const found = fake.instances[url.searchParams.get("path") ?? ""];
            const results = found
                ? [{ pk: "0d0c3b9a-1111-4a4a-9b9b-000000000001", name: "x", path: url.searchParams.get("path"), context: {}, last_applied: "2026-11-27T05:00:00Z", last_applied_hash: found.hash, status: found.status, enabled: true, managed_models: [], metadata: {}, content: "" }]
                : [];
            json(200, { pagination: { next: 0, previous: 0, count: results.length, current: 1, total_pages: 1, start_index: 1, end_index: results.length }, results, autocomplete: {} });
            return;
        }
        if (url.pathname === "/application/o/grafana/.well-known/openid-configuration") {
            json(200, { issuer: fake.issuer ?? "https://auth.example.com/application/o/grafana/" });
            return;
        }
        json(404, { detail: "Not found." });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    return { url: `http://127.0.0.1:${port}`, close: () => server.close(), authorizations };
}

/** fetch with every https://<name>/ sent to the fake server, keeping the name as the Host header. */
function routedFetch(serverUrl: string): typeof fetch {
    return ((input: string | URL | Request, init?: RequestInit) => {
        const target = new URL(typeof input === "string" || input instanceof URL ? input.toString() : input.url);
        const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
        const routed = target.protocol === "https:" ? new URL(`${target.pathname}${target.search}`, serverUrl) : target;
        return new Promise<Response>((resolve, reject) => {
            const request = http.request(routed, { method: init?.method ?? (input instanceof Request ? input.method : "GET"), headers: { ...Object.fromEntries(headers.entries()), host: target.host } }, (response) => {
                const chunks: Buffer[] = [];
                response.on("data", (chunk: Buffer) => chunks.push(chunk));
                response.on("end", () =>
                    resolve(new Response(response.statusCode === 204 || response.statusCode === 304 ? null : Buffer.concat(chunks), { status: response.statusCode ?? 500, headers: response.headers as Record<string, string> })),
                );
            });
            request.on("error", reject);
            request.end();
        });
    });
}

const noCli: Runner = () => ({ status: 1, stdout: "", stderr: "not logged in" });
const OIDC = { grafana: { clientId: "grafana", issuerUrl: "https://auth.example.com/application/o/grafana/", discoveryUrl: "https://auth.example.com/application/o/grafana/.well-known/openid-configuration" } };
const row = (results: CheckResult[], prefix: string) => results.find((result) => result.name.startsWith(prefix));

describe("npm run verify", () => {
    const { dir, files } = project();
    const applied = Object.fromEntries(files.map((file) => [file.path, { status: "successful", hash: blueprintHash(file.content) }]));

    test("a healthy stack: ready, every blueprint applied with this checkout's content, discovery, the proxy host behind the login", async () => {
        const fake: Fake = { instances: applied, proxyLocation: "" };
        const server = await fakeAuthentik(fake);
        fake.proxyLocation = `${server.url}/application/o/authorize/?client_id=x&redirect_uri=https%3A%2F%2Fbooks.example.com%2Foutpost.goauthentik.io%2Fcallback`;
        try {
            const results = await verify({ stack: "local", run: noCli, dir, fetch: routedFetch(server.url) }, { url: server.url, bootstrapToken: TOKEN, oidcClients: OIDC });
            expect(results.map((result) => [result.name, result.ok])).toEqual([
                ["authentik is ready", true],
                ...files.map((file) => [`blueprint ${file.path}`, true]),
                ["OIDC discovery of grafana", true],
                ["proxy application at books.example.com", true],
            ]);
            // The API client sends the bootstrap token.
            expect(server.authorizations.every((value) => value === `Bearer ${TOKEN}`)).toBe(true);
            expect(server.authorizations).toHaveLength(files.length);
        } finally {
            server.close();
        }
    });

    test("each failure says what is wrong: not applied, an older file, an error, a wrong issuer, an unprotected host", async () => {
        const [first, second, third] = files;
        const server = await fakeAuthentik({
            instances: { [String(second?.path)]: { status: "successful", hash: "0".repeat(128) }, [String(third?.path)]: { status: "error", hash: blueprintHash(String(third?.content)) } },
            issuer: "https://elsewhere.example.com/",
            ready: 503,
        });
        try {
            const results = await verify({ stack: "local", run: noCli, dir, fetch: routedFetch(server.url) }, { url: server.url, bootstrapToken: TOKEN, oidcClients: OIDC });
            expect(row(results, "authentik is ready")).toMatchObject({ ok: false, detail: expect.stringContaining("answers 503") });
            expect(row(results, `blueprint ${first?.path}`)).toMatchObject({ ok: false, detail: expect.stringContaining("has no instance") });
            expect(row(results, `blueprint ${second?.path}`)).toMatchObject({ ok: false, detail: "authentik applied another version of the file than this checkout renders" });
            expect(row(results, `blueprint ${third?.path}`)).toMatchObject({ ok: false, detail: "status error" });
            expect(row(results, "OIDC discovery of grafana")).toMatchObject({ ok: false, detail: expect.stringContaining("issuer https://elsewhere.example.com/") });
            expect(row(results, "proxy application at books.example.com")).toMatchObject({ ok: false, detail: "answers 200 at https://books.example.com/, not a redirect to authentik's login" });
        } finally {
            server.close();
        }
    });

    test("an outpost that sends visitors to an internal address (authentik_host not set) fails", async () => {
        const server = await fakeAuthentik({ instances: applied, proxyLocation: "http://authentik-server:9000/application/o/authorize/?client_id=x" });
        try {
            const results = await verify({ stack: "local", run: noCli, dir, fetch: routedFetch(server.url) }, { url: server.url, bootstrapToken: TOKEN, oidcClients: OIDC });
            expect(row(results, "proxy application at books.example.com")).toMatchObject({ ok: false, detail: `sends visitors to http://authentik-server:9000/application/o/authorize/, not to authentik at ${server.url}` });
        } finally {
            server.close();
        }
    });

    test("an unreachable authentik is a failed check with the cause, not a crash", async () => {
        const results = await verify({ stack: "local", run: noCli, dir, fetch: routedFetch("http://127.0.0.1:9") }, { url: "http://127.0.0.1:9", bootstrapToken: TOKEN, oidcClients: OIDC });
        expect(results.every((result) => !result.ok)).toBe(true);
        expect(row(results, "authentik is ready")?.detail).toMatch(/^no answer: /);
    });

    test("without a stack name it says how to call it", async () => {
        const error = jest.spyOn(console, "error").mockImplementation(() => undefined);
        try {
            expect(await main([])).toBe(2);
            expect(error.mock.calls.flat().join("\n")).toContain("usage: npm run verify -- --stack <name>");
        } finally {
            error.mockRestore();
        }
    });
});
