// `npm run mutate` only (stryker.config.json): the project's jest config, in an environment that gives each test
// the coverage of the beforeAll hooks it depends on (tests/mutation/beforeAllCoverageEnvironment.js).
const base = require("./jest.config.js");

/** @type {import('jest').Config} */
module.exports = { ...base, testEnvironment: "<rootDir>/tests/mutation/beforeAllCoverageEnvironment.js", reporters: ["default"] };
