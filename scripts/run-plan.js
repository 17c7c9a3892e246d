#!/usr/bin/env node
// npm run plan -- --stack <name> [--out <folder>]: the stack's resources, graph and modeled `pulumi up` time,
// offline and without credentials (scripts/plan.ts).
process.chdir(require("path").join(__dirname, ".."));
require("./ts-register").registerTypeScript({ typeCheck: false });
require("./plan.ts")
    .main(process.argv.slice(2))
    .then((code) => process.exit(code))
    .catch((error) => {
        console.error(error instanceof Error ? error.message : error);
        process.exit(1);
    });
