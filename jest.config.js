/** @type {import('jest').Config} */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.test.ts"],
    testTimeout: 60000,
    reporters: ["default", "<rootDir>/tests/summaryReporter.js"],
    // Transpile only (tsconfig's isolatedModules): `npm test` type-checks the whole project with tsc first, once,
    // instead of once per test file.
    transform: { "^.+\\.ts$": ["ts-jest", {}] },
};
