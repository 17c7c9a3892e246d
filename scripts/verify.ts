/**
 * npm run verify -- --stack <name>: checks a deployed stack from outside, with the URL and bootstrap token from its
 * outputs: authentik's readiness, every blueprint instance `successful` with the same content hash as the file this
 * checkout renders, each OIDC application's discovery document, and each proxy application's host sending users to
 * authentik's login. Uses authentik's published API client (@goauthentik/api).
 */
import * as crypto from "crypto";
import * as path from "path";
import { Configuration, ManagedApi } from "@goauthentik/api";
import { planAuthentik } from "../lib/authentikPlan";
import { identityFor } from "../lib/identityPlan";
import { blueprintInstancePath } from "../lib/kubernetes/plan";
import { loadUserBlueprints } from "../lib/loadConfig";
import { CheckResult, Runner, fail, pass, readStack, renderResults, runProgram } from "./preflight";

/** What verify reads of `pulumi stack output --json --show-secrets`. */
export interface StackOutputs {
    readonly url: string;
    readonly bootstrapToken: string;
    readonly oidcClients?: Readonly<Record<string, { clientId: string; issuerUrl: string; discoveryUrl: string }>>;
}

export interface VerifyOptions {
    readonly stack: string;
    readonly run: Runner;
    readonly dir: string;
    /** The HTTP client; tests route the stack's hostnames to a local server. */
    readonly fetch: typeof fetch;
}

/** What authentik stores as a blueprint's hash: sha512 of the file (read as UTF-8 text; the stack writes LF only). */
export function blueprintHash(content: string): string {
    return crypto.createHash("sha512").update(content, "utf8").digest("hex");
}

async function check(name: string, body: () => Promise<CheckResult>): Promise<CheckResult> {
    try {
        return await body();
    } catch (error) {
        return fail(name, `no answer: ${(error as Error).message}`, "check that this machine reaches authentik (the tunnel, DNS) and run verify again");
    }
}

export async function verify(options: VerifyOptions, outputs: StackOutputs): Promise<CheckResult[]> {
    const { config } = readStack(options.stack, options.run, options.dir);
    const userBlueprints = loadUserBlueprints(config, options.dir);
    const identity = identityFor(config);
    // The files and the paths authentik knows them by: under /blueprints on Docker, in the ConfigMap's mount on Kubernetes.
    const blueprints = config.kubernetes
        ? [...(identity?.files ?? []), ...userBlueprints].map((file) => ({ ...file, path: blueprintInstancePath(file) }))
        : planAuthentik(config, userBlueprints).blueprints;
    const base = outputs.url.replace(/\/$/, "");
    const results: CheckResult[] = [];

    results.push(
        await check("authentik is ready", async () => {
            const answer = await options.fetch(`${base}/-/health/ready/`, { redirect: "manual" });
            return answer.status === 200 ? pass("authentik is ready", `${base}/-/health/ready/ answers 200`) : fail("authentik is ready", `${base}/-/health/ready/ answers ${answer.status}`, "docker logs of the server and worker (README, troubleshooting)");
        }),
    );

    const api = new ManagedApi(new Configuration({ basePath: `${base}/api/v3`, accessToken: outputs.bootstrapToken, fetchApi: options.fetch }));
    for (const file of blueprints) {
        const name = `blueprint ${file.path}`;
        results.push(
            await check(name, async () => {
                const found = (await api.managedBlueprintsList({ path: file.path })).results[0];
                if (found === undefined) {
                    return fail(name, "authentik has no instance of it (the worker could not read the file, or has not seen it yet)", `docker exec <name>-worker ak apply_blueprint ${file.path}, and the worker's log`);
                }
                if (found.status !== "successful") {
                    return fail(name, `status ${found.status}`, "the worker's log names the entry that failed; fix the setting and pulumi up");
                }
                if (found.lastAppliedHash !== blueprintHash(file.content)) {
                    return fail(name, "authentik applied another version of the file than this checkout renders", "pulumi up this checkout (or wait for the worker's next discovery run)");
                }
                return pass(name, `successful, applied ${found.lastApplied.toISOString()}`);
            }),
        );
    }

    for (const [slug, client] of Object.entries(outputs.oidcClients ?? {})) {
        const name = `OIDC discovery of ${slug}`;
        results.push(
            await check(name, async () => {
                const answer = await options.fetch(client.discoveryUrl, { redirect: "manual" });
                if (answer.status !== 200) {
                    return fail(name, `${client.discoveryUrl} answers ${answer.status}`, `the application ${slug} and its provider in authentik (Applications)`);
                }
                const document = (await answer.json()) as { issuer?: string };
                return document.issuer === client.issuerUrl
                    ? pass(name, `issuer ${client.issuerUrl}`)
                    : fail(name, `issuer ${String(document.issuer)}, expected ${client.issuerUrl}`, "authentik's base URL: domain and AUTHENTIK_WEB__BASE_URL (README, domain)");
            }),
        );
    }

    for (const host of identity?.proxyHosts ?? []) {
        const name = `proxy application at ${host}`;
        results.push(
            await check(name, async () => {
                // The outpost first sends a visitor to its own /outpost.goauthentik.io/start, which then sends them to
                // authentik's authorize endpoint: only that second hop proves the outpost knows where authentik is.
                let url = `https://${host}/`;
                let cookie = "";
                for (let hop = 0; hop < 3; hop++) {
                    const answer = await options.fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
                    const location = answer.headers.get("location") ?? "";
                    const setCookie = answer.headers.get("set-cookie");
                    if (setCookie) {
                        cookie = setCookie.split(";")[0] ?? "";
                    }
                    if (answer.status < 300 || answer.status >= 400 || location === "") {
                        return fail(name, `answers ${answer.status} at ${url}, not a redirect to authentik's login`, "the embedded outpost (Applications → Outposts) and the tunnel's ingress for this host");
                    }
                    const next = new URL(location, url);
                    if (next.href.startsWith(`${base}/application/o/authorize/`)) {
                        return pass(name, `sends a visitor to authentik's login (${base}/application/o/authorize/)`);
                    }
                    if (!next.pathname.startsWith("/outpost.goauthentik.io/")) {
                        return fail(name, `sends visitors to ${next.origin}${next.pathname}, not to authentik at ${base}`, "the embedded outpost's authentik_host (set by the stack's proxy-applications blueprint)");
                    }
                    url = next.href;
                }
                return fail(name, "redirects in a loop", "the embedded outpost's configuration");
            }),
        );
    }
    return results;
}

export function readOutputs(stack: string, run: Runner): StackOutputs {
    const answer = run("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", stack]);
    if (answer.status !== 0) {
        throw new Error(`pulumi stack output failed: ${answer.stderr.trim() || answer.status}; log in to the stack's backend (and set PULUMI_CONFIG_PASSPHRASE)`);
    }
    const outputs = JSON.parse(answer.stdout) as Partial<StackOutputs>;
    if (typeof outputs.url !== "string" || typeof outputs.bootstrapToken !== "string") {
        throw new Error(`the stack ${stack} has no url or bootstrapToken output: has it been deployed?`);
    }
    return outputs as StackOutputs;
}

export async function main(argv: string[], dir: string = process.cwd()): Promise<number> {
    const stackIndex = argv.indexOf("--stack");
    const stack = stackIndex >= 0 ? argv[stackIndex + 1] : undefined;
    if (stack === undefined) {
        console.error("usage: npm run verify -- --stack <name>   (a deployed stack)");
        return 2;
    }
    const results = await verify({ stack, run: runProgram, dir: path.resolve(dir), fetch }, readOutputs(stack, runProgram));
    console.log(renderResults(results));
    const failed = results.filter((result) => !result.ok).length;
    console.log(failed === 0 ? `\nAll ${results.length} checks passed.` : `\n${failed} of ${results.length} checks failed.`);
    return failed === 0 ? 0 : 1;
}
