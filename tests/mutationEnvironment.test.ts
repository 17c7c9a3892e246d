/**
 * The test environment of `npm run mutate` gives what a beforeAll reaches to the tests of its describe blocks, and
 * what loading a file reaches to that file's tests, as Stryker's coverage counters would have it had the code run
 * inside those tests, and stops a mutant's run at its
 * first failure; its sequencer runs the cheapest files first (README, "Tests").
 */
import * as path from "path";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Environment = require("./mutation/mutationEnvironment.js") as {
    new (config: unknown, context: unknown): { global: Record<string, unknown>; handleTestEvent(event: unknown): Promise<void> };
    fullTestName(test: unknown): string;
    HOOK_TEST_ID: string;
    ACTIVE_MUTANT_VARIABLE: string;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Sequencer = require("./mutation/fastFirstSequencer.js") as new (options: unknown) => { sort(tests: unknown[]): { path: string }[]; time(test: unknown): number | undefined; hasFailed(test: unknown): boolean };

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

test("what loading a test file reached (module-level code) is covered by every test of that file, not by another file's", async () => {
    const { env, stryker, cover } = environment();
    env.global.__stryker__ = stryker;
    cover("1"); // an earlier file loaded this module
    await env.handleTestEvent({ name: "setup" });
    cover("1");
    cover("5");
    await env.handleTestEvent({ name: "run_start" });
    await env.handleTestEvent({ name: "test_start", test: testNamed("the restic path", sibling) });
    expect(stryker.mutantCoverage.perTest).toEqual({ "config rules the restic path": { "1": 1, "5": 1 } });

    const next = environment().env;
    next.global.__stryker__ = stryker;
    await next.handleTestEvent({ name: "setup" });
    await next.handleTestEvent({ name: "run_start" });
    await next.handleTestEvent({ name: "test_start", test: testNamed("another file's test", root) });
    expect(stryker.mutantCoverage.perTest["another file's test"]).toBeUndefined();
    // Stryker still counts them static as well: such a mutant is "hybrid" and runs the tests that cover it.
    expect(stryker.mutantCoverage.static).toEqual({ "1": 2, "5": 1 });
});

test("outside a Stryker run it does nothing", async () => {
    const { env } = environment();
    await env.handleTestEvent({ name: "hook_start", hook: { type: "beforeAll", parent: outer } });
    expect(env.global.__stryker__).toBeUndefined();
});

describe("bail: once a test fails under a mutant, the rest of that mutant's run is skipped", () => {
    const saved = process.env[Environment.ACTIVE_MUTANT_VARIABLE];
    afterEach(() => {
        if (saved === undefined) {
            delete process.env[Environment.ACTIVE_MUTANT_VARIABLE];
        } else {
            process.env[Environment.ACTIVE_MUTANT_VARIABLE] = saved;
        }
    });
    type Mode = { mode?: string };
    const newTest = (name: string): Mode & { name: string; parent: Block; errors: unknown[] } => ({ name, parent: outer, errors: [] });
    const newBlock = (): Mode => ({});

    async function failUnder(mutant: string, env: InstanceType<typeof Environment>): Promise<void> {
        process.env[Environment.ACTIVE_MUTANT_VARIABLE] = mutant;
        const failing = newTest("fails");
        await env.handleTestEvent({ name: "test_start", test: failing });
        failing.errors.push(new Error("expected 2048, got 2047"));
        await env.handleTestEvent({ name: "test_done", test: failing });
    }

    test("later tests and blocks of the same mutant, in this file or the next one, are skipped; a passing test changes nothing", async () => {
        const first = environment().env;
        process.env[Environment.ACTIVE_MUTANT_VARIABLE] = "41";
        const passing = newTest("passes");
        await first.handleTestEvent({ name: "test_start", test: passing });
        await first.handleTestEvent({ name: "test_done", test: passing });
        const before = newTest("runs");
        await first.handleTestEvent({ name: "test_start", test: before });
        expect(before.mode).toBeUndefined();

        await failUnder("41", first);
        const after = newTest("after");
        await first.handleTestEvent({ name: "test_start", test: after });
        expect(after.mode).toBe("skip");
        // The next test file has its own environment; its blocks (and so their beforeAll hooks) are skipped too.
        const block = newBlock();
        await environment().env.handleTestEvent({ name: "run_describe_start", describeBlock: block });
        expect(block.mode).toBe("skip");
    });

    test("a failed beforeAll bails only once a test has reported it: skipping its tests would hide the failure", async () => {
        const { env } = environment();
        process.env[Environment.ACTIVE_MUTANT_VARIABLE] = "43";
        await env.handleTestEvent({ name: "hook_failure", hook: { type: "beforeAll", parent: outer } });
        const carrier = newTest("carries the hook's error");
        carrier.errors.push(new Error("the program threw"));
        await env.handleTestEvent({ name: "test_start", test: carrier });
        expect(carrier.mode).toBeUndefined();
        await env.handleTestEvent({ name: "test_done", test: carrier });
        const block = newBlock();
        await env.handleTestEvent({ name: "run_describe_start", describeBlock: block });
        expect(block.mode).toBe("skip");
    });

    test("the next mutant runs everything again", async () => {
        const { env } = environment();
        await failUnder("44", env);
        process.env[Environment.ACTIVE_MUTANT_VARIABLE] = "45";
        const block = newBlock();
        const next = newTest("next mutant");
        await env.handleTestEvent({ name: "run_describe_start", describeBlock: block });
        await env.handleTestEvent({ name: "test_start", test: next });
        expect([block.mode, next.mode]).toEqual([undefined, undefined]);
    });

    test("without an active mutant (the dry run, npm test) nothing is ever skipped", async () => {
        const { env } = environment();
        await failUnder("46", env);
        delete process.env[Environment.ACTIVE_MUTANT_VARIABLE];
        const failing = newTest("fails in the dry run");
        failing.errors.push(new Error("boom"));
        await env.handleTestEvent({ name: "test_done", test: failing });
        const block = newBlock();
        const later = newTest("later");
        await env.handleTestEvent({ name: "run_describe_start", describeBlock: block });
        await env.handleTestEvent({ name: "test_start", test: later });
        expect([block.mode, later.mode]).toEqual([undefined, undefined]);
    });
});

test("the mutation sequencer runs the files that failed last first, then the fastest, then those never timed", () => {
    const sequencer = new Sequencer({ contexts: [], globalConfig: {} });
    const timings: Record<string, [failed: boolean, ms?: number]> = {
        "properties.test.ts": [false, 27_000],
        "config.test.ts": [false, 900],
        "values.test.ts": [true, 2_300],
        "identity.test.ts": [false, 19_000],
        "new.test.ts": [false, undefined],
        "backup.test.ts": [true, 11_000],
    };
    const timingOf = (test: unknown) => timings[path.basename((test as { path: string }).path)] ?? [false, undefined];
    sequencer.time = (test) => timingOf(test)[1];
    sequencer.hasFailed = (test) => timingOf(test)[0];
    const sorted = sequencer.sort(Object.keys(timings).map((name) => ({ path: `/repo/tests/${name}` })));
    expect(sorted.map((test) => path.basename(test.path))).toEqual(["values.test.ts", "backup.test.ts", "config.test.ts", "identity.test.ts", "properties.test.ts", "new.test.ts"]);
});
