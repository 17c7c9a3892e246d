#!/usr/bin/env node
// npm run preflight -- --stack <name>: checks what a `pulumi up` of that stack needs before it runs
// (scripts/preflight.ts).
process.chdir(require("path").join(__dirname, ".."));
require("./ts-register").registerTypeScript({ typeCheck: false });
require("./preflight.ts")
    .main(process.argv.slice(2))
    .then((code) => process.exit(code))
    .catch((error) => {
        console.error(error instanceof Error ? error.message : error);
        process.exit(1);
    });
