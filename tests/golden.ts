/**
 * Golden files: what the program generates, word for word, kept in tests/golden/ so that a change in it shows in a
 * pull request's diff and is reviewed there. `UPDATE_GOLDEN=1 npx jest <file>` rewrites them (never in CI).
 */
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "./harness";

export function expectGolden(relativePath: string, text: string): void {
    const golden = path.join(REPO_ROOT, "tests", "golden", relativePath);
    if (process.env.UPDATE_GOLDEN === "1" && process.env.CI !== "true") {
        fs.mkdirSync(path.dirname(golden), { recursive: true });
        fs.writeFileSync(golden, text);
    }
    expect(text).toBe(fs.readFileSync(golden, "utf8"));
}
