/**
 * The test environment of `npm run mutate` gives what a beforeAll reaches to the tests of its describe blocks, as
 * Stryker's coverage counters would have it had the code run inside those tests (README, "Tests").
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Environment = require("./mutation/beforeAllCoverageEnvironment.js") as {
    new (config: unknown, context: unknown): { global: Record<string, unknown>; handleTestEvent(event: unknown): Promise<void> };
    fullTestName(test: unknown): string;
    HOOK_TEST_ID: string;
};

type Block = { name: string; parent?: Block };
const root: Block = { name: "ROOT_DESCRIBE_BLOCK" };
const outer: Block = { name: "the k8s stack", parent: root };
const inner: Block = { name: "what survives", parent: outer };
const sibling: Block = { name: "config rules", parent: root };
const testNamed = (name: string, parent: Block) => ({ name, parent });

type Coverage = { static: Record<string, number>; perTest: Record<string, Record<string, number>> };

function environment() {
    const env = new Environment({ globalConfig: {}, projectConfig: { testEnvironmentOptions: {} } }, { console, docblockPragmas: {}, testPath: __filename });
    const stryker: { currentTestId?: string; mutantCoverage: Coverage } = { mutantCoverage: { static: {}, perTest: {} } };
    /** What the instrumented code does when it runs mutant `id`. */
    const cover = (id: string) => {
        const into = stryker.currentTestId ? (stryker.mutantCoverage.perTest[stryker.currentTestId] ??= {}) : stryker.mutantCoverage.static;
        into[id] = (into[id] ?? 0) + 1;
    };
    return { env, stryker, cover };
}

test("a test's full name as Stryker writes it: the describe names and its own, without the root block", () => {
    expect(Environment.fullTestName(testNamed("one node lost", inner))).toBe("the k8s stack what survives one node lost");
    expect(Environment.fullTestName(testNamed("top-level", root))).toBe("top-level");
});

test("what a beforeAll reaches is covered by every test of its block and the blocks inside it, not by others", async () => {
    const { env, stryker, cover } = environment();
    env.global.__stryker__ = stryker;
    const hook = { type: "beforeAll", parent: outer };
    await env.handleTestEvent({ name: "hook_start", hook });
    cover("7");
    cover("7");
    cover("9");
    await env.handleTestEvent({ name: "hook_success", hook });
    // No pseudo test is left behind for Stryker to run.
    expect(stryker.currentTestId).toBeUndefined();
    expect(Object.keys(stryker.mutantCoverage.perTest)).toEqual([]);

    await env.handleTestEvent({ name: "test_start", test: testNamed("one node lost", inner) });
    await env.handleTestEvent({ name: "test_start", test: testNamed("the chart", outer) });
    await env.handleTestEvent({ name: "test_start", test: testNamed("a namespace name", sibling) });
    expect(stryker.mutantCoverage.perTest).toEqual({
        "the k8s stack what survives one node lost": { "7": 2, "9": 1 },
        "the k8s stack the chart": { "7": 2, "9": 1 },
    });
    expect(stryker.mutantCoverage.static).toEqual({});
});

test("a failed beforeAll still hands on what it reached; other hooks and module code stay as Stryker counts them", async () => {
    const { env, stryker, cover } = environment();
    env.global.__stryker__ = stryker;
    cover("1");
    const each = { type: "beforeEach", parent: outer };
    await env.handleTestEvent({ name: "hook_start", hook: each });
    cover("2");
    const all = { type: "beforeAll", parent: inner };
    await env.handleTestEvent({ name: "hook_start", hook: all });
    cover("3");
    await env.handleTestEvent({ name: "hook_failure", hook: all });
    await env.handleTestEvent({ name: "test_start", test: testNamed("one node lost", inner) });
    expect(stryker.mutantCoverage).toEqual({ static: { "1": 1, "2": 1 }, perTest: { "the k8s stack what survives one node lost": { "3": 1 } } });
});

test("outside a Stryker run it does nothing", async () => {
    const { env } = environment();
    await env.handleTestEvent({ name: "hook_start", hook: { type: "beforeAll", parent: outer } });
    expect(env.global.__stryker__).toBeUndefined();
});
