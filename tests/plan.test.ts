/** The offline plan: the modeled `pulumi up` time follows the real dependency graph. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LATENCY_TABLE, ModelNode, PREPULL_HEAD_START_SECONDS, Registration, UPGRADE_LINK_SHARE_SECONDS, formatDuration, latencyOf, modelGraph, schedule } from "../lib/upModel";
import { buildPlan, main, renderMermaid, renderTiming, renderTree } from "../scripts/plan";
import { expectGolden } from "./golden";
import { loadStackFile, runProgram, stackNames } from "./harness";

/** Longest chain by plain recursion over every path: an independent check of schedule()'s answer. */
function longestChain(nodes: readonly ModelNode[]): { seconds: number; chains: string[][] } {
    const byId = new Map(nodes.map((node) => [node.id, node]));
    const memo = new Map<string, { seconds: number; chains: string[][] }>();
    const longestEndingAt = (id: string): { seconds: number; chains: string[][] } => {
        const cached = memo.get(id);
        if (cached) {
            return cached;
        }
        const node = byId.get(id) as ModelNode;
        let best: { seconds: number; chains: string[][] } | undefined;
        for (const dependency of node.after) {
            const candidate = longestEndingAt(dependency);
            if (!best || candidate.seconds > best.seconds) {
                best = candidate;
            } else if (candidate.seconds === best.seconds) {
                best = { seconds: best.seconds, chains: [...best.chains, ...candidate.chains] };
            }
        }
        best ??= { seconds: 0, chains: [[]] };
        const result = { seconds: best.seconds + node.seconds, chains: best.chains.map((chain) => [...chain, id]) };
        memo.set(id, result);
        return result;
    };
    let overall = { seconds: -1, chains: [] as string[][] };
    for (const node of nodes) {
        const candidate = longestEndingAt(node.id);
        if (candidate.seconds > overall.seconds) {
            overall = candidate;
        } else if (candidate.seconds === overall.seconds) {
            overall = { seconds: overall.seconds, chains: [...overall.chains, ...candidate.chains] };
        }
    }
    return overall;
}

describe("schedule", () => {
    test("a diamond: the slower branch decides, serial is the sum", () => {
        const nodes: ModelNode[] = [
            { id: "a", seconds: 1, after: [] },
            { id: "b", seconds: 10, after: ["a"] },
            { id: "c", seconds: 3, after: ["a"] },
            { id: "d", seconds: 2, after: ["b", "c"] },
        ];
        const result = schedule(nodes);
        expect(result.criticalPath).toEqual(["a", "b", "d"]);
        expect(result.totalSeconds).toBe(13);
        expect(result.serialSeconds).toBe(16);
        expect(result.finish.get("c")).toBe(4);
    });

    test("independent chains run side by side", () => {
        const result = schedule([
            { id: "x", seconds: 5, after: [] },
            { id: "y", seconds: 7, after: [] },
        ]);
        expect(result.totalSeconds).toBe(7);
        expect(result.criticalPath).toEqual(["y"]);
    });

    test("cycles and unknown dependencies are errors", () => {
        expect(() => schedule([{ id: "a", seconds: 1, after: ["b"] }, { id: "b", seconds: 1, after: ["a"] }])).toThrow("cycle");
        expect(() => schedule([{ id: "a", seconds: 1, after: ["ghost"] }])).toThrow("not in the graph");
        // A cycle behind a node that is ready at once: found, and no endless loop around it.
        expect(() =>
            schedule([
                { id: "root", seconds: 1, after: [] },
                { id: "a", seconds: 1, after: ["root", "b"] },
                { id: "b", seconds: 1, after: ["a"] },
            ]),
        ).toThrow("cycle");
    });

    test("a node that names a dependency twice waits for it once", () => {
        const result = schedule([
            { id: "a", seconds: 4, after: [] },
            { id: "b", seconds: 1, after: ["a", "a"] },
        ]);
        expect([...result.finish]).toEqual([
            ["a", 4],
            ["b", 5],
        ]);
    });
});

describe("modelGraph", () => {
    const registration = (id: string, extra: Partial<Registration> = {}): Registration => ({
        id,
        type: "docker:index/container:Container",
        name: id,
        inputs: {},
        parent: "stack",
        custom: true,
        dependencies: [],
        provider: "",
        ...extra,
    });

    test("waiting for a component waits for everything inside it, nested components too; a provider is waited for", () => {
        const { nodes, resources } = modelGraph([
            registration("outer", { type: "authentik-sso:docker:Thing", custom: false }),
            registration("inner", { type: "authentik-sso:docker:Part", custom: false, parent: "outer" }),
            registration("volume", { type: "docker:index/volume:Volume", parent: "outer" }),
            registration("network", { type: "docker:index/network:Network", parent: "inner" }),
            registration("docker", { type: "pulumi:providers:docker" }),
            registration("container", { dependencies: ["outer"], provider: "docker::provider-id" }),
        ]);
        expect(nodes).toEqual([
            { id: "volume", seconds: 1, after: [] },
            { id: "network", seconds: 1, after: [] },
            { id: "docker", seconds: 1, after: [] },
            { id: "container", seconds: 2, after: ["network", "volume", "docker"] },
        ]);
        expect([...resources.keys()]).toEqual(["outer", "inner", "volume", "network", "docker", "container"]);
    });

    test("a dependency on a URN the program never registered (a resource of another stack) is not waited for", () => {
        expect(modelGraph([registration("container", { dependencies: ["elsewhere"] })]).nodes).toEqual([{ id: "container", seconds: 2, after: [] }]);
    });
});

describe.each(stackNames())("plan for stack %s", (stack) => {
    test("the critical path is the longest chain the real dependencies force", async () => {
        const plan = await buildPlan(stack);
        const independent = longestChain(plan.nodes);
        expect(plan.schedule.totalSeconds).toBe(independent.seconds);
        expect(independent.chains).toContainEqual([...plan.schedule.criticalPath]);
        // Every step of the path is a dependency Pulumi really has.
        const urns = new Set(plan.run.resources.map((resource) => resource.urn));
        for (let index = 1; index < plan.schedule.criticalPath.length; index++) {
            const [from, to] = [plan.schedule.criticalPath[index - 1] as string, plan.schedule.criticalPath[index] as string];
            const resource = plan.run.resources.find((item) => item.urn === to);
            const declared = [...(resource?.dependencies ?? []), resource?.provider.split("::").slice(0, -1).join("::")];
            const viaComponent = declared.some((urn) => urn !== undefined && !plan.registrations.get(urn)?.custom && plan.run.resources.some((item) => item.urn === from && item.parent === urn));
            expect({ step: `${from} -> ${to}`, real: declared.includes(from) || viaComponent }).toEqual({ step: `${from} -> ${to}`, real: true });
            expect(urns.has(from)).toBe(true);
        }
        expect(plan.schedule.serialSeconds).toBeGreaterThan(plan.schedule.totalSeconds);
    });

    test("every resource has a latency rule of its own (only components fall through to the catch-all)", async () => {
        const plan = await buildPlan(stack);
        const catchAll = LATENCY_TABLE[LATENCY_TABLE.length - 1];
        for (const resource of plan.run.resources.filter((item) => item.custom)) {
            expect({ type: resource.type, rule: latencyOf({ id: resource.urn, type: resource.type, name: resource.name, inputs: resource.inputs }) === catchAll }).toEqual({ type: resource.type, rule: false });
        }
    });

    test("the tree lists every resource with its settings, and the Mermaid graph every dependency", async () => {
        const plan = await buildPlan(stack);
        const tree = renderTree(plan);
        for (const resource of plan.run.resources) {
            expect(tree).toContain(` ${resource.name}`);
        }
        expect(tree).toContain(loadStackFile(stack).config["authentik-sso:kubernetes"] !== undefined ? "chart=authentik version=" : "name=authentik-server memory=");
        const mermaid = renderMermaid(plan);
        expect(mermaid.startsWith("graph LR\n")).toBe(true);
        const edges = mermaid.split("\n").filter((line) => / (-->|==>) /.test(line));
        expect(edges).toHaveLength(plan.nodes.reduce((sum, node) => sum + node.after.length, 0));
        expect(edges.filter((line) => line.includes("==>"))).toHaveLength(plan.schedule.criticalPath.length - 1);
        // The plan is meant for pull requests: no secret value may show up in it.
        for (const secret of plan.run.secretValues) {
            expect(tree + mermaid).not.toContain(secret);
        }
    });
});

test("the dev stack's modeled critical path runs through the VM, cloud-init, the server image and its first start", async () => {
    const plan = await buildPlan("dev");
    const names = plan.schedule.criticalPath.map((id) => plan.registrations.get(id)?.name);
    expect(names).toEqual([
        "authentik-image",
        "authentik-vm",
        "authentik-firewall-options",
        "authentik-firewall-rules",
        "vm-ready",
        "vm-docker",
        "authentik-image-server",
        "authentik-server",
        "authentik-server-ready",
        "cloudflared-1",
        "cloudflared-1-ready",
    ]);
    // 11 min 04 s before the images were pulled during first boot and the package upgrade left first boot's path.
    expect(plan.schedule.totalSeconds).toBe(519);
});

test("npm run plan writes the Mermaid file and refuses an unknown stack", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
    const log = jest.spyOn(console, "log").mockImplementation(() => undefined);
    const error = jest.spyOn(console, "error").mockImplementation(() => undefined);
    try {
        expect(await main(["--stack", "local", "--out", out])).toBe(0);
        expect(fs.readFileSync(path.join(out, "local.mmd"), "utf8")).toMatch(/^graph LR\n/);
        expect(log.mock.calls.flat().join("\n")).toContain("Critical path:");
        expect(await main(["--stack", "nope"])).toBe(2);
        expect(error.mock.calls.flat().join("\n")).toContain("usage: npm run plan -- --stack <dev|k8s|local|prod>");
    } finally {
        log.mockRestore();
        error.mockRestore();
    }
});

test("an empty stack file, as `pulumi stack init` leaves it, gets a message that says what is missing, not a crash", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "empty-stack-"));
    fs.writeFileSync(path.join(dir, "Pulumi.fresh.yaml"), "");
    const config = loadStackFile("fresh", dir);
    expect(config).toEqual({ config: {}, secretKeys: [], secretValues: [] });
    await expect(runProgram({ stack: "fresh", config })).rejects.toThrow(/this stack has no authentik-sso:\* settings at all/);
});

test("the VM's first boot pulls the stack's images ahead of pulumi up; the local stack pulls its own", async () => {
    const dev = await buildPlan("dev");
    expect([...dev.prePulled]).toEqual(expect.arrayContaining([expect.stringMatching(/^ghcr\.io\/goauthentik\/server:/), expect.stringMatching(/postgres/), expect.stringMatching(/cloudflared/)]));
    // One after the other, the server first: it gets the head start (and shares the link with the package upgrade),
    // the images after it only what the server's pull leaves of the head start: none.
    expect(dev.prePulled[0]).toMatch(/^ghcr\.io\/goauthentik\/server:/);
    const seconds = (name: string) => dev.nodes.find((node) => dev.registrations.get(node.id)?.name === name)?.seconds;
    expect(seconds("authentik-image-server")).toBe(150 - PREPULL_HEAD_START_SECONDS + UPGRADE_LINK_SHARE_SECONDS);
    expect(seconds("authentik-image-postgresql")).toBe(20);
    // The head start is what first boot does after Docker runs: less than the readiness check's own time.
    expect(PREPULL_HEAD_START_SECONDS).toBeLessThan(seconds("vm-ready") ?? 0);
    const local = await buildPlan("local");
    expect(local.prePulled).toEqual([]);
    expect(local.nodes.find((node) => local.registrations.get(node.id)?.name === "authentik-image-server")?.seconds).toBe(150);
});

test("durations as the plan prints them", () => {
    expect([45, 60, 605, 519, 0].map(formatDuration)).toEqual(["45 s", "1 min 00 s", "10 min 05 s", "8 min 39 s", "0 s"]);
});

test("schedule: ties keep the first chain, a zero-second step stays on the path, nothing scheduled is no time", () => {
    expect(schedule([{ id: "a", seconds: 5, after: [] }, { id: "b", seconds: 5, after: [] }, { id: "c", seconds: 1, after: ["a", "b"] }]).criticalPath).toEqual(["a", "c"]);
    expect(schedule([{ id: "z", seconds: 0, after: [] }, { id: "y", seconds: 3, after: ["z"] }]).criticalPath).toEqual(["z", "y"]);
    expect(schedule([{ id: "x", seconds: 5, after: [] }, { id: "y", seconds: 5, after: [] }]).criticalPath).toEqual(["x"]);
    expect(schedule([])).toEqual({ finish: new Map(), criticalPath: [], totalSeconds: 0, serialSeconds: 0 });
});

test("a pre-pulled image costs what the head start leaves of it, and says so; other resources keep their rule", () => {
    const server = { id: "s", type: "docker:index/remoteImage:RemoteImage", name: "authentik-image-server", inputs: { name: "ghcr.io/goauthentik/server:2026.8.3" } };
    const cloudflared = { id: "c", type: "docker:index/remoteImage:RemoteImage", name: "cloudflared-image", inputs: { name: "docker.io/cloudflare/cloudflared:2026.8.3" } };
    expect(latencyOf(server, { prePulled: [server.inputs.name] })).toMatchObject({
        what: "pull ghcr.io/goauthentik/server (~700 MB): the rest of the pull first boot started (15 s ahead, 10 s lost to the package upgrade's downloads)",
        seconds: 145,
    });
    // Second in line after a 8 s pull: 15 - 8 = 7 s ahead.
    expect(latencyOf(cloudflared, { prePulled: ["docker.io/library/redis:7.4.11-alpine", cloudflared.inputs.name] }).seconds).toBe(3);
    expect(latencyOf(cloudflared, { prePulled: ["docker.io/library/redis:7.4.11-alpine", cloudflared.inputs.name] }).what).toBe(
        "pull cloudflared (~25 MB): the rest of the pull first boot started (7 s ahead)",
    );
    // Not pre-pulled at all, or no list: the table's own rule.
    expect(latencyOf(cloudflared, { prePulled: ["x:1"] })).toBe(LATENCY_TABLE.find((rule) => rule.matches(cloudflared)));
    expect(latencyOf(cloudflared)).toBe(LATENCY_TABLE.find((rule) => rule.matches(cloudflared)));
    // A container whose name is a pre-pulled image's is still a container.
    const container = { id: "k", type: "docker:index/container:Container", name: "c", inputs: { name: "x:1" } };
    expect(latencyOf(container, { prePulled: ["x:1"] })).toBe(LATENCY_TABLE.find((rule) => rule.matches(container)));
});

test.each([
    // The engine's pull of the server image, its first start (migrations) and the prune of older images after it.
    ["local", ["docker-docker", "authentik-image-server", "authentik-server", "authentik-server-ready", "authentik-prune-images"], 275],
    // The operator, a Ready cluster, the chart's rollout (pods ready), then the connectors.
    ["k8s", ["database-operator", "database-cluster", "authentik-release", "connectors-deployment"], 540],
] as [string, string[], number][])("the %s stack's modeled critical path", async (stack, expectedPath, expectedSeconds) => {
    const plan = await buildPlan(stack);
    expect(plan.schedule.criticalPath.map((id) => plan.registrations.get(id)?.name)).toEqual(expectedPath);
    expect(plan.schedule.totalSeconds).toBe(expectedSeconds);
});

// What `npm run plan` prints for each stack file, word for word: the critical path with each step's reason and the totals.
test.each(stackNames())("the modeled timing of %s (tests/golden/plan/)", async (stack) => {
    expectGolden(`plan/${stack}-timing.txt`, `${renderTiming(await buildPlan(stack))}\n`);
});

test("the rules that read more than the type: only a Helm release of the authentik chart is authentik's rollout; an unknown type costs nothing", () => {
    const whatOf = (type: string, inputs: Record<string, unknown> = {}) => latencyOf({ id: "x", type, name: "x", inputs }).what;
    expect(whatOf("kubernetes:helm.sh/v3:Release", { chart: "authentik" })).toMatch(/^authentik's Helm release/);
    expect(whatOf("kubernetes:helm.sh/v3:Release", { chart: "cloudnative-pg" })).toMatch(/^the CloudNativePG operator's Helm release/);
    expect(whatOf("kubernetes:helm.sh/v4:Chart", { chart: "authentik" })).toMatch(/^another Kubernetes object/);
    expect(whatOf("kubernetes:postgresql.cnpg.io/v1:Cluster")).toMatch(/^a CloudNativePG cluster/);
    expect(whatOf("kubernetes:yaml/v2:ConfigFile")).toBe("a manifest from a URL (the Barman Cloud plugin)");
    expect(whatOf("random:index/randomPassword:RandomPassword")).toBe("generate a random value or a key");
    expect(whatOf("tls:index/privateKey:PrivateKey")).toBe("generate a random value or a key");
    // Images no stack file pulls (Redis is gone from 2025.10; any other image).
    expect(whatOf("docker:index/remoteImage:RemoteImage", { name: "docker.io/library/redis:7.4.11-alpine" })).toBe("pull redis alpine (~15 MB)");
    expect(whatOf("docker:index/remoteImage:RemoteImage", { name: "docker.io/library/busybox:1" })).toBe("pull another image");
    expect(latencyOf({ id: "x", type: "aws:s3/bucket:Bucket", name: "x", inputs: {} })).toMatchObject({ what: "a component (grouping only), or a type this table does not know", seconds: 0 });
    // A command's script decides; anything else has none.
    expect(whatOf("command:remote:Command", { create: "docker run --rm alpine true" })).toBe("prepare /data in a one-off container");
    expect(whatOf("command:local:Command", { create: "set -e\nname='x-redis'\ndocker inspect" })).toBe("Redis: start, until it answers PING (its gate)");
    expect(whatOf("docker:index/container:Container", { create: "docker run --rm alpine true" })).toBe("create and start a container (its gate waits for healthy)");
    // A gate is a cloudflared connector's only for a numbered connector.
    expect(whatOf("command:remote:Command", { create: "name='authentik-cloudflared-2'" })).toBe("cloudflared: connect to Cloudflare's edge, until ready (its gate)");
    expect(whatOf("command:remote:Command", { create: "name='authentik-ldap'" })).toBe("another command over SSH or the local docker CLI (name guard, image prune)");
});
