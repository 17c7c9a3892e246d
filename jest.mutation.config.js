// `npm run mutate` only (stryker.config.json): the project's jest config with the changes Stryker needs.
const path = require("path");
const base = require("./jest.config.js");

/** @type {import('jest').Config} */
module.exports = {
    ...base,
    // Stryker runs only the tests jest finds related to the mutated file (--findRelatedTests), through jest's
    // dependency graph of the files under `roots`. With `tests/` alone, index.ts is outside the graph, so a module
    // reached only through the program had no related test and every mutant in it "survived" with zero tests run.
    roots: ["<rootDir>"],
    testMatch: ["<rootDir>/tests/**/*.test.ts"],
    modulePathIgnorePatterns: ["<rootDir>/.stryker-tmp/", "<rootDir>/reports/", "<rootDir>/plan-out/"],
    // renovate.test.ts reads the source files as text (its version patterns must find each pin), and Stryker hands it
    // the instrumented text of the module under mutation: it fails before any mutant, and tests no program behaviour.
    testPathIgnorePatterns: ["/node_modules/", "<rootDir>/tests/renovate\\.test\\.ts$"],
    // Each test gets the coverage of the beforeAll hooks it depends on and of its file's loading, and a mutant's run
    // stops at its first failed test (tests/mutation/mutationEnvironment.js).
    // An absolute path: Stryker's jest plugin loads the environment itself and does not expand <rootDir>.
    testEnvironment: path.join(__dirname, "tests", "mutation", "mutationEnvironment.js"),
    // With that bail, the files that killed the last mutant and then the fastest run first.
    testSequencer: path.join(__dirname, "tests", "mutation", "fastFirstSequencer.js"),
    // Files with nothing to run for the mutant (it is killed, or none of their tests covers it) are not loaded.
    runner: path.join(__dirname, "tests", "mutation", "skippingRunner.js"),
    reporters: ["default"],
};
