/**
 * The program loads the way `pulumi up` loads it: the Pulumi CLI's Node.js language host compiles index.ts with
 * the ts-node and TypeScript that @pulumi/pulumi resolves, with type checking, merged over its own compiler
 * options. A tsconfig that only tsc and jest accept would fail here, not on the user's first `pulumi up`.
 */
import { spawnSync } from "child_process";
import { REPO_ROOT } from "./harness";

test("index.ts compiles and type-checks under the language host's ts-node and exports the program function", () => {
    const script = [
        'require("./scripts/ts-register").registerTypeScript({ typeCheck: true });',
        'const program = require("./index.ts");',
        'process.stdout.write(typeof program.default);',
    ].join("\n");
    const result = spawnSync(process.execPath, ["-e", script], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("function");
    expect(result.status).toBe(0);
});
