// `npm run mutate` only (stryker.config.json): the project's jest config, in an environment that gives each test
// the coverage of the beforeAll hooks it depends on (tests/mutation/beforeAllCoverageEnvironment.js).
const path = require("path");
const base = require("./jest.config.js");

/** @type {import('jest').Config} */
module.exports = {
    ...base,
    // An absolute path: Stryker's jest plugin loads the environment itself and does not expand <rootDir>.
    testEnvironment: path.join(__dirname, "tests", "mutation", "beforeAllCoverageEnvironment.js"),
    reporters: ["default"],
};
