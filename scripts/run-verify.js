#!/usr/bin/env node
// npm run verify -- --stack <name>: checks a deployed stack from outside
// (scripts/verify.ts).
process.chdir(require("path").join(__dirname, ".."));
require("./ts-register").registerTypeScript({ typeCheck: false });
require("./verify.ts")
    .main(process.argv.slice(2))
    .then((code) => process.exit(code))
    .catch((error) => {
        console.error(error instanceof Error ? error.message : error);
        process.exit(1);
    });
