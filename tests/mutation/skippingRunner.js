// The test runner of `npm run mutate` (jest.mutation.config.js), never of `npm test`.
//
// Stryker runs each mutant's test files in band, through jest's default runner, which loads every file it is given
// even when none of its tests will run: a file whose tests are all filtered out by Stryker's test-name pattern, or
// every file after the mutant was killed (mutationEnvironment.js's bail). Loading a file that imports the program
// costs about half a second, and a module reached through the program has some twenty related files, so that cost
// dominated a killed mutant's run. This runner hands such a file back as skipped without loading it; every other file
// runs through jest's own runner, unchanged.
const fs = require("fs");
const { createEmptyTestResult } = require("@jest/test-result");
const DefaultRunner = require("jest-runner").default;
const { EmittingTestRunner } = require("jest-runner");
const { ACTIVE_MUTANT_VARIABLE, killedMutant, testNamesFile } = require("./mutationEnvironment.js");

/** The full names of a file's tests as the dry run saw them, or undefined when it recorded none. */
function recordedTestNames(rootDir, testPath) {
    try {
        return JSON.parse(fs.readFileSync(testNamesFile(rootDir, testPath), "utf8"));
    } catch {
        return undefined;
    }
}

/**
 * Why a file need not be loaded for the active mutant, or undefined when it must run. Only during a mutant run:
 * the dry run (which measures coverage) and `npm test` run every file.
 */
function reasonToSkip(testPath, rootDir, testNamePattern, env = process.env) {
    const activeMutant = env[ACTIVE_MUTANT_VARIABLE];
    if (activeMutant === undefined) {
        return undefined;
    }
    if (killedMutant() === activeMutant) {
        return "the mutant is already killed";
    }
    if (testNamePattern) {
        const names = recordedTestNames(rootDir, testPath);
        // jest matches the pattern case-insensitively (jest-circus); so must this, or a covering test is dropped.
        const pattern = new RegExp(testNamePattern, "i");
        if (names !== undefined && !names.some((name) => pattern.test(name))) {
            return "none of its tests covers the mutant";
        }
    }
    return undefined;
}

/** What jest reports for a file none of whose tests ran; one pending entry, since jest fails a file with none. */
function skippedFileResult(testPath, reason) {
    const now = Date.now();
    const empty = createEmptyTestResult();
    return {
        ...empty,
        testFilePath: testPath,
        // Keeps the sequencer's timing cache (it ignores skipped files) and the aggregate counts honest.
        skipped: true,
        numPendingTests: 1,
        perfStats: { ...empty.perfStats, start: now, end: now, runtime: 0 },
        testResults: [
            {
                ancestorTitles: [],
                duration: 0,
                failureDetails: [],
                failureMessages: [],
                fullName: `(not loaded: ${reason})`,
                invocations: 0,
                location: null,
                numPassingAsserts: 0,
                retryReasons: [],
                status: "pending",
                title: `(not loaded: ${reason})`,
            },
        ],
    };
}

/** jest's runner events: `on` returns the unsubscribe function and `emit` awaits every listener, as jest expects. */
class Events {
    #listeners = new Map();

    on(name, listener) {
        const listeners = this.#listeners.get(name) ?? new Set();
        listeners.add(listener);
        this.#listeners.set(name, listeners);
        return () => listeners.delete(listener);
    }

    async emit(name, payload) {
        for (const listener of [...(this.#listeners.get(name) ?? [])]) {
            await listener(payload);
        }
    }
}

class SkippingRunner extends EmittingTestRunner {
    #events = new Events();

    constructor(globalConfig, context, ...runnerOptions) {
        super(globalConfig, context);
        this.inner = new DefaultRunner(globalConfig, context, ...runnerOptions);
        for (const name of ["test-file-start", "test-file-success", "test-file-failure", "test-case-start", "test-case-result"]) {
            this.inner.on(name, (payload) => this.#events.emit(name, payload));
        }
    }

    async runTests(tests, watcher, options) {
        if (!options.serial || process.env[ACTIVE_MUTANT_VARIABLE] === undefined) {
            return this.inner.runTests(tests, watcher, options);
        }
        // One file at a time, so that a kill in one file is seen before the next is loaded.
        for (const test of tests) {
            const reason = reasonToSkip(test.path, test.context.config.rootDir, this._globalConfig.testNamePattern);
            if (reason === undefined) {
                await this.inner.runTests([test], watcher, options);
            } else {
                await this.#events.emit("test-file-start", [test]);
                await this.#events.emit("test-file-success", [test, skippedFileResult(test.path, reason)]);
            }
        }
    }

    on(name, listener) {
        return this.#events.on(name, listener);
    }
}

module.exports = SkippingRunner;
module.exports.reasonToSkip = reasonToSkip;
module.exports.skippedFileResult = skippedFileResult;
