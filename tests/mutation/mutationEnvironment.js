// The test environment of `npm run mutate` (stryker.config.json → jest.mutation.config.js), never of `npm test`.
// It does two things Stryker's jest runner does not.
//
// 1. Coverage of what runs outside a test. Stryker's jest runner attributes coverage to the test that is running (it
// sets `currentTestId` on test_start); what runs before is "static".
// - Most suites here run the whole program once in a `beforeAll` and then inspect what it registered, so the code
//   under test runs before any test has started: with `ignoreStatic` Stryker never mutates it, which would leave most
//   of the program out of the score. This environment gives what a `beforeAll` reaches to every test of its describe
//   block (and the blocks inside it), which is what those tests check.
// - Module-level code (constants, zod schemas) runs when a test file imports the module, again in every file (jest
//   gives each file its own module registry). A mutant there that some test also reaches at run time is "hybrid", and
//   Stryker then runs only the tests that reached it at run time: a file that imported the constant and asserts on
//   it was never run (`RESTIC_DIR` → "" survived although a test asserts the path). This environment gives what the
//   file's loading reached to every test of that file.
//
// 2. Bail. Stryker asks jest for no bail (jest has none programmatically), so every mutant ran all of its covering
// tests even after the first one failed, and a killed mutant in the program cost as much as a survivor (a minute and
// more). Once a test has failed under a mutant, this skips every later block and test of that mutant's run, its
// beforeAll hooks included: one failure is all Stryker needs to count the mutant killed.
//
// 3. During Stryker's dry run, it records the full names of each file's tests, so that skippingRunner.js can leave a
// file unloaded when none of its tests covers the mutant.
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { TestEnvironment } = require("jest-environment-node");

/** The test id Stryker's coverage counters use while a beforeAll hook runs; no real test has this name. */
const HOOK_TEST_ID = "\u0000beforeAll";

/**
 * A test's full name as jest reports it (`fullName`, the id Stryker's test filter holds) and matches it against a
 * test-name pattern: the describe names and the test name, space-separated.
 */
function fullTestName(test) {
    const names = [test.name];
    for (let block = test.parent; block && block.parent; block = block.parent) {
        names.unshift(block.name);
    }
    return names.join(" ");
}

/** Adds the counters of `from` to `into` (mutant id → hits). */
function addCoverage(into, from) {
    for (const [mutant, hits] of Object.entries(from)) {
        into[mutant] = (into[mutant] || 0) + hits;
    }
    return into;
}

/** The counters that grew from `before` to `after`, by how much. */
function coverageAdded(before, after) {
    const added = {};
    for (const [mutant, hits] of Object.entries(after)) {
        if (hits > (before[mutant] || 0)) {
            added[mutant] = hits - (before[mutant] || 0);
        }
    }
    return added;
}

/**
 * What a test covers beyond its own body: the coverage of every beforeAll of the blocks it is in.
 * `hookCoverage` maps a describe block to what its beforeAll hooks reached.
 */
function inheritedCoverage(test, hookCoverage) {
    const inherited = {};
    for (let block = test.parent; block; block = block.parent) {
        const reached = hookCoverage.get(block);
        if (reached) {
            addCoverage(inherited, reached);
        }
    }
    return inherited;
}

/** The variable Stryker's jest runner sets to the mutant under test during a mutant run, and only then. */
const ACTIVE_MUTANT_VARIABLE = "__STRYKER_ACTIVE_MUTANT__";

/**
 * The mutant a test has failed for. Module state, not the environment's: jest makes one environment per test file,
 * and Stryker runs all files of a mutant in band, in this process, where this module is loaded once.
 */
const bail = { killedMutant: undefined };

/** Where the dry run records the full names of a file's tests (one file each: no two writers share one). */
function testNamesFile(rootDir, testPath) {
    const key = crypto.createHash("sha256").update(path.relative(rootDir, testPath)).digest("hex").slice(0, 32);
    return path.join(rootDir, "reports", "mutation-test-names", `${key}.json`);
}

/** The mutant some test has failed for in this process (the last one), if any. */
function killedMutant() {
    return bail.killedMutant;
}

/** The full names of every test in a describe block and the blocks inside it. */
function testNamesIn(block) {
    return block.children.flatMap((child) => (child.type === "describeBlock" ? testNamesIn(child) : [fullTestName(child)]));
}

/** jest.retryTimes's setting in a test file's global; jest-circus reads it there. */
const RETRY_TIMES = Symbol.for("RETRY_TIMES");

/**
 * Records a failure under the active mutant; skips what would run after one. Not where tests are retried: a retry
 * starts the failed test again, and skipping it would turn its failure into "pending" and the kill into a survivor.
 */
function bailOnFailure(event, retriesConfigured) {
    const activeMutant = process.env[ACTIVE_MUTANT_VARIABLE];
    if (activeMutant === undefined || retriesConfigured) {
        return;
    }
    // A failed beforeAll is not counted here: jest hands its error to each test of the block, which then fails at
    // test_done. Bailing on the hook itself would skip those tests and hide the failure.
    if (event.name === "test_done" && event.test.errors.length > 0) {
        bail.killedMutant = activeMutant;
    } else if (bail.killedMutant === activeMutant) {
        if (event.name === "run_describe_start") {
            event.describeBlock.mode = "skip";
        } else if (event.name === "test_start") {
            event.test.mode = "skip";
        }
    }
}

class MutationEnvironment extends TestEnvironment {
    constructor(config, context) {
        super(config, context);
        this.rootDir = config.projectConfig.rootDir;
        this.testPath = context.testPath;
        /** describe block → what its beforeAll hooks reached */
        this.hookCoverage = new Map();
        /** Static counters before this file loaded, then what loading it reached. */
        this.staticBeforeLoad = undefined;
        this.loadCoverage = {};
    }

    /** Stryker's shared context (the instrumented code's `__stryker__`); absent outside a Stryker run. */
    stryker() {
        return this.global[this.global.__strykerGlobalNamespace__ ?? "__stryker__"];
    }

    async handleTestEvent(event, state) {
        bailOnFailure(event, Number.parseInt(this.global[RETRY_TIMES], 10) > 0);
        const stryker = this.stryker();
        if (!stryker) {
            return;
        }
        if (event.name === "run_start" && process.env[ACTIVE_MUTANT_VARIABLE] === undefined) {
            this.recordTestNames(state.rootDescribeBlock);
        }
        if (event.name === "setup") {
            this.staticBeforeLoad = { ...(stryker.mutantCoverage?.static ?? {}) };
        } else if (event.name === "run_start" && this.staticBeforeLoad !== undefined) {
            this.loadCoverage = coverageAdded(this.staticBeforeLoad, stryker.mutantCoverage?.static ?? {});
        } else if (event.name === "hook_start" && event.hook.type === "beforeAll") {
            stryker.currentTestId = HOOK_TEST_ID;
        } else if ((event.name === "hook_success" || event.name === "hook_failure") && event.hook.type === "beforeAll") {
            stryker.currentTestId = undefined;
            const perTest = stryker.mutantCoverage?.perTest;
            if (perTest?.[HOOK_TEST_ID]) {
                this.hookCoverage.set(event.hook.parent, addCoverage(this.hookCoverage.get(event.hook.parent) ?? {}, perTest[HOOK_TEST_ID]));
                delete perTest[HOOK_TEST_ID];
            }
        } else if (event.name === "test_start") {
            const inherited = addCoverage(inheritedCoverage(event.test, this.hookCoverage), this.loadCoverage);
            if (Object.keys(inherited).length > 0 && stryker.mutantCoverage) {
                const id = fullTestName(event.test);
                stryker.mutantCoverage.perTest[id] = addCoverage(stryker.mutantCoverage.perTest[id] ?? {}, inherited);
            }
        }
    }

    /** Where skippingRunner.js looks for this file's test names (its testNamesFile). */
    recordTestNames(rootDescribeBlock) {
        const file = testNamesFile(this.rootDir, this.testPath);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify(testNamesIn(rootDescribeBlock)));
    }
}

module.exports = MutationEnvironment;
module.exports.killedMutant = killedMutant;
module.exports.testNamesFile = testNamesFile;
module.exports.ACTIVE_MUTANT_VARIABLE = ACTIVE_MUTANT_VARIABLE;
module.exports.inheritedCoverage = inheritedCoverage;
module.exports.fullTestName = fullTestName;
module.exports.HOOK_TEST_ID = HOOK_TEST_ID;
module.exports.RETRY_TIMES = RETRY_TIMES;
