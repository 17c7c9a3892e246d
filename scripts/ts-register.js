// Compiles TypeScript the way the Pulumi CLI's Node.js language host does: the ts-node and TypeScript that
// @pulumi/pulumi resolves (the project's own, or its vendored copies) with the same compiler options.
const tsutils = require("@pulumi/pulumi/tsutils");

function registerTypeScript({ typeCheck }) {
    const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
    const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
    require(tsnodeRequire).register({
        compiler: typescriptRequire,
        transpileOnly: !typeCheck,
        project: "tsconfig.json",
        skipProject: false,
        compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true", ...compilerOptions },
    });
}

module.exports = { registerTypeScript };
