/**
 * Real tools (Debian's packages, Renovate's published schema) that check real artifacts. .ci/run installs them;
 * elsewhere their tests are skipped.
 */
import { spawnSync } from "child_process";

export function hasCommand(command: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).status === 0;
}

/**
 * A test that needs a Debian tool: skipped where the tool is missing, but under CI (CI=true) a missing tool fails
 * the run instead of silently skipping the check.
 */
export function describeWithTool(command: string, name: string, body: () => void, available: boolean = hasCommand(command)): void {
    if (available) {
        describe(name, body);
    } else if (process.env.CI === "true") {
        describe(name, () => {
            test(`${command} is installed (CI requires it: see .ci/run)`, () => {
                throw new Error(`${command} is not installed; .ci/run installs it`);
            });
        });
    } else {
        describe.skip(`${name} (needs ${command}; \`bash .ci/run\` installs it)`, body);
    }
}
