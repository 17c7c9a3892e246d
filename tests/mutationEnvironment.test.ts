/**
 * The test environment of `npm run mutate` gives what a beforeAll reaches to the tests of its describe blocks, and
 * what loading a file reaches to that file's tests, as Stryker's coverage counters would have it had the code run
 * inside those tests, and stops a mutant's run at its
 * first failure; its sequencer runs the cheapest files first (README, "Tests").
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Environment = require("./mutation/mutationEnvironment.js") as {
    new (config: unknown, context: unknown): { global: Record<string | symbol, unknown>; handleTestEvent(event: unknown, state?: unknown): Promise<void> };
    fullTestName(test: unknown): string;
    testNamesFile(rootDir: string, testPath: string): string;
    HOOK_TEST_ID: string;
    ACTIVE_MUTANT_VARIABLE: string;
    RETRY_TIMES: symbol;
};
type RunnerTest = { path: string; context: { config: { rootDir: string } } };
type FileResult = { skipped: boolean; testFilePath: string; numPendingTests: number; testResults: { status: string; fullName: string }[] };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Runner = require("./mutation/skippingRunner.js") as {
    new (globalConfig: unknown, context: unknown): {
        inner: { runTests(tests: RunnerTest[], watcher: unknown, options: unknown): Promise<void> };
        runTests(tests: RunnerTest[], watcher: unknown, options: { serial: boolean }): Promise<void>;
        on(name: string, listener: (payload: unknown) => unknown): () => void;
    };
    reasonToSkip(testPath: string, rootDir: string, testNamePattern: string | undefined, env?: Record<string, string | undefined>): string | undefined;
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

/** Where the environments of these tests record test names, never the repository. */
const scratchRoot = fs.mkdtempSync(path.join(os.tmpdir(), "mutation-env-"));

function environment(rootDir = scratchRoot, testPath = path.join(scratchRoot, "tests", "a.test.ts")) {
    const env = new Environment({ globalConfig: {}, projectConfig: { rootDir, testEnvironmentOptions: {} } }, { console, docblockPragmas: {}, testPath });
    const stryker: { currentTestId?: string; mutantCoverage: Coverage } = { mutantCoverage: { static: {}, perTest: {} } };
    /** What the instrumented code does when it runs mutant `id`. */
    const cover = (id: string) => {
        const into = stryker.currentTestId ? (stryker.mutantCoverage.perTest[stryker.currentTestId] ??= {}) : stryker.mutantCoverage.static;
        into[id] = (into[id] ?? 0) + 1;
    };
    return { env, stryker, cover };
}

test("a test's full name as jest reports it (Stryker's test id): the describe names and its own, without the root block", () => {
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
    const emptyRun = { rootDescribeBlock: { type: "describeBlock", name: "ROOT_DESCRIBE_BLOCK", children: [] } };
    await env.handleTestEvent({ name: "run_start" }, emptyRun);
    await env.handleTestEvent({ name: "test_start", test: testNamed("the restic path", sibling) });
    expect(stryker.mutantCoverage.perTest).toEqual({ "config rules the restic path": { "1": 1, "5": 1 } });

    const next = environment().env;
    next.global.__stryker__ = stryker;
    await next.handleTestEvent({ name: "setup" });
    await next.handleTestEvent({ name: "run_start" }, emptyRun);
    await next.handleTestEvent({ name: "test_start", test: testNamed("another file's test", root) });
    expect(stryker.mutantCoverage.perTest["another file's test"]).toBeUndefined();
    // Stryker still counts them static as well: such a mutant is "hybrid" and runs the tests that cover it.
    expect(stryker.mutantCoverage.static).toEqual({ "1": 2, "5": 1 });
});

test("outside a Stryker run it does nothing: no coverage, no test names recorded", async () => {
    const testPath = path.join(scratchRoot, "tests", "outside.test.ts");
    const { env } = environment(scratchRoot, testPath);
    await env.handleTestEvent({ name: "hook_start", hook: { type: "beforeAll", parent: outer } });
    await env.handleTestEvent({ name: "run_start" }, { rootDescribeBlock: { type: "describeBlock", name: "ROOT_DESCRIBE_BLOCK", children: [{ type: "test", ...testNamed("x", root) }] } });
    expect(fs.existsSync(Environment.testNamesFile(scratchRoot, testPath))).toBe(false);
    expect(Object.keys(env.global).filter((key) => key.includes("stryker"))).toEqual([]);
});

/** The tests below set Stryker's active-mutant variable as its runner does; each leaves it as it found it. */
function restoreActiveMutantAfterEach(): void {
    const saved = process.env[Environment.ACTIVE_MUTANT_VARIABLE];
    afterEach(() => {
        if (saved === undefined) {
            delete process.env[Environment.ACTIVE_MUTANT_VARIABLE];
        } else {
            process.env[Environment.ACTIVE_MUTANT_VARIABLE] = saved;
        }
    });
}

describe("bail: once a test fails under a mutant, the rest of that mutant's run is skipped", () => {
    restoreActiveMutantAfterEach();
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

    test("where jest retries tests, a failure is not final and nothing is skipped", async () => {
        const { env } = environment();
        env.global[Environment.RETRY_TIMES] = 2;
        await failUnder("47", env);
        const retried = newTest("fails, then is run again");
        const block = newBlock();
        await env.handleTestEvent({ name: "test_start", test: retried });
        await env.handleTestEvent({ name: "run_describe_start", describeBlock: block });
        expect([retried.mode, block.mode]).toEqual([undefined, undefined]);
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

describe("the mutation runner does not load a file with nothing to run for the mutant", () => {
    restoreActiveMutantAfterEach();
    const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), "mutation-runner-"));
    const backupFile = path.join(rootDir, "tests", "backup.test.ts");
    const configFile = path.join(rootDir, "tests", "config.test.ts");
    const neverRecorded = path.join(rootDir, "tests", "new.test.ts");
    const backupBlock = { type: "describeBlock", name: "the backup container", parent: root, children: [] as unknown[] };
    backupBlock.children.push({ type: "test", ...testNamed("gets PostgreSQL's password", backupBlock) });

    /** What the environment does at the start of each file of Stryker's dry run (no active mutant). */
    async function dryRun(testPath: string, rootDescribeBlock: unknown): Promise<void> {
        const { env, stryker } = environment(rootDir, testPath);
        env.global.__stryker__ = stryker;
        await env.handleTestEvent({ name: "run_start" }, { rootDescribeBlock });
    }

    beforeAll(async () => {
        delete process.env[Environment.ACTIVE_MUTANT_VARIABLE];
        await dryRun(backupFile, {
            type: "describeBlock",
            name: "ROOT_DESCRIBE_BLOCK",
            children: [
                { type: "test", ...testNamed("mounts authentik's volumes read-only", root) },
                backupBlock,
            ],
        });
        await dryRun(configFile, { type: "describeBlock", name: "ROOT_DESCRIBE_BLOCK", children: [{ type: "test", ...testNamed("a bad subnet", root) }] });
    });

    test("the dry run records each file's full test names, and a mutant run records nothing", async () => {
        expect(JSON.parse(fs.readFileSync(Environment.testNamesFile(rootDir, backupFile), "utf8"))).toEqual([
            "mounts authentik's volumes read-only",
            "the backup container gets PostgreSQL's password",
        ]);
        process.env[Environment.ACTIVE_MUTANT_VARIABLE] = "7";
        await dryRun(neverRecorded, { type: "describeBlock", name: "ROOT_DESCRIBE_BLOCK", children: [{ type: "test", ...testNamed("x", root) }] });
        expect(fs.existsSync(Environment.testNamesFile(rootDir, neverRecorded))).toBe(false);
    });

    test("a file runs when one of its tests matches Stryker's pattern (case-insensitive, as jest matches), or when its names were never recorded", () => {
        const env = { [Environment.ACTIVE_MUTANT_VARIABLE]: "12" };
        const pattern = "(the backup container gets PostgreSQL's password)|(a bad subnet)";
        expect(Runner.reasonToSkip(backupFile, rootDir, pattern, env)).toBeUndefined();
        expect(Runner.reasonToSkip(configFile, rootDir, pattern, env)).toBeUndefined();
        expect(Runner.reasonToSkip(backupFile, rootDir, "(THE BACKUP CONTAINER GETS POSTGRESQL'S PASSWORD)", env)).toBeUndefined();
        expect(Runner.reasonToSkip(neverRecorded, rootDir, pattern, env)).toBeUndefined();
        expect(Runner.reasonToSkip(backupFile, rootDir, "(a bad subnet)", env)).toBe("none of its tests covers the mutant");
        // Without a pattern (Stryker found no covering test list) every file runs.
        expect(Runner.reasonToSkip(backupFile, rootDir, undefined, env)).toBeUndefined();
        // Outside a mutant run (the dry run, npm test) nothing is skipped.
        expect(Runner.reasonToSkip(backupFile, rootDir, "(a bad subnet)", {})).toBeUndefined();
    });

    test("after a kill, the mutant's later files are handed back skipped without being loaded; the next mutant runs them", async () => {
        const runner = new Runner({ testNamePattern: undefined }, {});
        const loaded: string[] = [];
        const failFirstUnder = new Set(["21"]);
        runner.inner.runTests = async (tests) => {
            for (const test of tests) {
                loaded.push(path.basename(test.path));
                const mutant = process.env[Environment.ACTIVE_MUTANT_VARIABLE] ?? "";
                if (failFirstUnder.delete(mutant)) {
                    const { env } = environment(rootDir, test.path);
                    const failing = { ...testNamed("fails", root), errors: [new Error("expected 2048")] };
                    await env.handleTestEvent({ name: "test_done", test: failing });
                }
            }
        };
        const reported: FileResult[] = [];
        const started: string[] = [];
        runner.on("test-file-start", (payload) => started.push(path.basename((payload as [RunnerTest])[0].path)));
        runner.on("test-file-success", (payload) => reported.push((payload as [RunnerTest, FileResult])[1]));
        const tests = [backupFile, configFile, neverRecorded].map((file) => ({ path: file, context: { config: { rootDir } } }));

        process.env[Environment.ACTIVE_MUTANT_VARIABLE] = "21";
        await runner.runTests(tests, {}, { serial: true });
        expect(loaded).toEqual(["backup.test.ts"]);
        // Every file is still reported, as jest requires: the skipped ones with one pending entry, flagged skipped.
        expect(started).toEqual(["config.test.ts", "new.test.ts"]);
        expect(reported.map((result) => [path.basename(result.testFilePath), result.skipped, result.numPendingTests, result.testResults.map((entry) => entry.status)])).toEqual([
            ["config.test.ts", true, 1, ["pending"]],
            ["new.test.ts", true, 1, ["pending"]],
        ]);

        process.env[Environment.ACTIVE_MUTANT_VARIABLE] = "22";
        await runner.runTests(tests, {}, { serial: true });
        expect(loaded).toEqual(["backup.test.ts", "backup.test.ts", "config.test.ts", "new.test.ts"]);
    });

    test("outside a mutant run, or in parallel, jest's own runner gets every file at once", async () => {
        delete process.env[Environment.ACTIVE_MUTANT_VARIABLE];
        const runner = new Runner({}, {});
        const batches: number[] = [];
        runner.inner.runTests = (tests) => {
            batches.push(tests.length);
            return Promise.resolve();
        };
        const tests = [backupFile, configFile].map((file) => ({ path: file, context: { config: { rootDir } } }));
        await runner.runTests(tests, {}, { serial: true });
        process.env[Environment.ACTIVE_MUTANT_VARIABLE] = "30";
        await runner.runTests(tests, {}, { serial: false });
        expect(batches).toEqual([2, 2]);
    });
});

describe("the mutation runner and environment under real jest, driven the way Stryker drives them", () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), "mutation-e2e-"));
    const loadLog = path.join(project, "loaded.log");
    const covered = "group x (1) adds [up] $1.50";
    const mutationDir = path.join(__dirname, "mutation");

    /** One jest run of the project, in band as Stryker's jest runner does; its JSON result. */
    function jest(env: Record<string, string>, testNamePattern?: string) {
        const outputFile = path.join(project, "result.json");
        const args = [require.resolve("jest/bin/jest"), "--config", path.join(project, "jest.config.js"), "--runInBand", "--json", "--outputFile", outputFile];
        try {
            execFileSync(process.execPath, testNamePattern === undefined ? args : [...args, "--testNamePattern", testNamePattern], {
                env: { PATH: process.env.PATH ?? "", LOAD_LOG: loadLog, ...env },
                stdio: "ignore",
            });
        } catch {
            // A failed test exits 1; the result file says what happened.
        }
        const result = JSON.parse(fs.readFileSync(outputFile, "utf8")) as {
            numRuntimeErrorTestSuites: number;
            testResults: { name: string; assertionResults: { fullName: string; status: string }[] }[];
        };
        const loaded = fs.existsSync(loadLog) ? fs.readFileSync(loadLog, "utf8").split("\n").filter(Boolean) : [];
        fs.rmSync(loadLog, { force: true });
        return {
            runtimeErrors: result.numRuntimeErrorTestSuites,
            loaded,
            byFile: Object.fromEntries(result.testResults.map((file) => [path.basename(file.name), file.assertionResults.map((test) => `${test.status}: ${test.fullName}`)])),
        };
    }

    /** Stryker's jest runner: each covering test id escaped, joined as alternatives (jest-test-runner.js). */
    const strykerPattern = (ids: string[]) => ids.map((id) => `(${id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")})`).join("|");

    beforeAll(() => {
        const write = (name: string, text: string) => fs.writeFileSync(path.join(project, name), text);
        // What Stryker's environment mixin adds: the shared context the instrumented code counts coverage in.
        write("env.js", `const Base = require(${JSON.stringify(path.join(mutationDir, "mutationEnvironment.js"))});\nmodule.exports = class extends Base { constructor(config, context) { super(config, context); this.global.__stryker__ = { mutantCoverage: { static: {}, perTest: {} } }; } };\n`);
        write("sequencer.js", `const Base = require(${JSON.stringify(require.resolve("@jest/test-sequencer"))}).default;\nmodule.exports = class extends Base { sort(tests) { return [...tests].sort((a, b) => a.path.localeCompare(b.path)); } };\n`);
        write(
            "jest.config.js",
            `module.exports = ${JSON.stringify({ rootDir: project, testMatch: ["<rootDir>/*.test.js"], testEnvironment: path.join(project, "env.js"), runner: path.join(mutationDir, "skippingRunner.js"), testSequencer: path.join(project, "sequencer.js"), transform: {}, cacheDirectory: path.join(project, "cache") })};\n`,
        );
        const logLoad = (name: string) => `require("fs").appendFileSync(process.env.LOAD_LOG, "${name}\\n");\n`;
        write("a.test.js", `${logLoad("a")}describe.each([["x (1)"]])("group %s", () => {\n  test("adds [up] $1.50", () => { if (process.env.__STRYKER_ACTIVE_MUTANT__ === "2") throw new Error("killed"); });\n});\n`);
        write("b.test.js", `${logLoad("b")}test("other", () => {});\n`);
    });

    test("the dry run loads every file and records the names jest reports", () => {
        const dryRun = jest({});
        expect(dryRun).toEqual({ runtimeErrors: 0, loaded: ["a", "b"], byFile: { "a.test.js": [`passed: ${covered}`], "b.test.js": ["passed: other"] } });
        expect(JSON.parse(fs.readFileSync(Environment.testNamesFile(project, path.join(project, "a.test.js")), "utf8"))).toEqual([covered]);
    });

    test("a mutant covered only by a's test runs it and does not load b, which jest counts as skipped, not as an error", () => {
        jest({});
        expect(jest({ __STRYKER_ACTIVE_MUTANT__: "1" }, strykerPattern([covered]))).toEqual({
            runtimeErrors: 0,
            loaded: ["a"],
            byFile: { "a.test.js": [`passed: ${covered}`], "b.test.js": ["pending: (not loaded: none of its tests covers the mutant)"] },
        });
    });

    test("a mutant killed in a is not run in b", () => {
        jest({});
        expect(jest({ __STRYKER_ACTIVE_MUTANT__: "2" })).toEqual({
            runtimeErrors: 0,
            loaded: ["a"],
            byFile: { "a.test.js": [`failed: ${covered}`], "b.test.js": ["pending: (not loaded: the mutant is already killed)"] },
        });
    });
});
