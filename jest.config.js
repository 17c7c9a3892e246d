/** @type {import('jest').Config} */
module.exports = {
    preset: "ts-jest",
    testEnvironment: "node",
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.test.ts"],
    // Pulumi's runtime keeps global state: each test file gets its own module registry, files run in parallel.
    testTimeout: 60000,
    transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: false, diagnostics: true }] },
};
