/** The GitHub workflows: valid against GitHub's schema (offline validator) and shaped as the promotion flow needs. */
import * as fs from "fs";
import * as path from "path";
import { validateAction, validateWorkflow } from "@action-validator/core";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT, stackNames } from "./harness";

const WORKFLOWS = path.join(REPO_ROOT, ".github", "workflows");
const ACTIONS = path.join(REPO_ROOT, ".github", "actions");

interface Step {
    uses?: string;
    run?: string;
    if?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
}
interface Job {
    needs?: string | string[];
    if?: string;
    uses?: string;
    environment?: string;
    permissions?: Record<string, string>;
    strategy?: { matrix: { stack: string[] } };
    concurrency?: { group: string; "cancel-in-progress": boolean };
    steps?: Step[];
}
interface Workflow {
    on: Record<string, unknown>;
    permissions?: Record<string, string>;
    jobs: Record<string, Job>;
}

function workflow(name: string): Workflow {
    return parseYaml(fs.readFileSync(path.join(WORKFLOWS, name), "utf8")) as Workflow;
}

function pulumiStep(job: Job | undefined): Step {
    const step = job?.steps?.find((item) => item.uses?.startsWith("pulumi/actions@"));
    if (!step) {
        throw new Error("job has no pulumi/actions step");
    }
    return step;
}

const environments = stackNames().filter((stack) => stack !== "local");

describe("schema", () => {
    test.each(fs.readdirSync(WORKFLOWS))("workflow %s is valid", (file) => {
        expect(validateWorkflow(fs.readFileSync(path.join(WORKFLOWS, file), "utf8")).errors).toEqual([]);
    });

    test.each(fs.readdirSync(ACTIONS))("action %s is valid", (dir) => {
        expect(validateAction(fs.readFileSync(path.join(ACTIONS, dir, "action.yml"), "utf8")).errors).toEqual([]);
    });

    test("the validator rejects a broken workflow", () => {
        expect(validateWorkflow("on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps: not-a-list\n").errors.length).toBeGreaterThan(0);
    });
});

describe("pull requests", () => {
    const pr = workflow("pull-request.yml");

    test("run the same checks as CI, including the README's test command", () => {
        expect(pr.on).toHaveProperty("pull_request");
        expect(pr.jobs.checks?.uses).toBe("./.github/workflows/checks.yml");
        const checks = workflow("checks.yml").jobs.checks?.steps?.map((step) => step.run ?? step.uses) ?? [];
        expect(checks).toEqual(expect.arrayContaining(["./.github/actions/prepare", "npx tsc --noEmit", "npm run lint", "npm test"]));
        expect(fs.readFileSync(path.join(REPO_ROOT, ".github", "actions", "prepare", "action.yml"), "utf8")).toContain("npm ci");
        expect(fs.readFileSync(path.join(REPO_ROOT, ".ci", "run"), "utf8")).toContain("npm test");
    });

    test("preview every environment stack, one run per stack at a time, with the result on the PR", () => {
        const preview = pr.jobs.preview;
        expect(preview?.needs).toBe("checks");
        expect(preview?.strategy?.matrix.stack).toEqual(environments);
        expect(preview?.concurrency).toEqual({ group: "pulumi-${{ matrix.stack }}", "cancel-in-progress": false });
        expect(pulumiStep(preview).with).toMatchObject({ command: "preview", "stack-name": "${{ matrix.stack }}", "comment-on-pr": true, "always-include-summary": true });
    });

    test("least privilege: read-only by default, PR comments only where previews run, no OIDC token", () => {
        expect(pr.permissions).toEqual({ contents: "read" });
        expect(pr.jobs.preview?.permissions).toEqual({ contents: "read", "pull-requests": "write" });
        expect(JSON.stringify(pr)).not.toContain("id-token");
    });

    test("pull requests from forks are checked but never previewed (no secrets)", () => {
        expect(pr.jobs.preview?.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
        expect(pr.jobs.checks?.if).toBeUndefined();
        expect(JSON.stringify(workflow("checks.yml"))).not.toContain("secrets.");
    });
});

describe("promotion", () => {
    const deploy = workflow("deploy.yml");

    test("a push to main updates dev, then prod after dev, behind the production environment, from the same commit", () => {
        expect(deploy.on).toHaveProperty("push");
        expect(deploy.jobs["up-dev"]?.needs).toBe("checks");
        expect(deploy.jobs["up-prod"]?.needs).toBe("up-dev");
        expect(deploy.jobs["up-prod"]?.environment).toBe("production");
        expect(pulumiStep(deploy.jobs["up-dev"]).with).toMatchObject({ command: "up", "stack-name": "dev" });
        expect(pulumiStep(deploy.jobs["up-prod"]).with).toMatchObject({ command: "up", "stack-name": "prod" });
        for (const job of ["up-dev", "up-prod"]) {
            expect(deploy.jobs[job]?.steps?.[0]).toEqual({ uses: "actions/checkout@v4", with: { ref: "${{ github.sha }}" } });
            expect(deploy.jobs[job]?.concurrency?.["cancel-in-progress"]).toBe(false);
        }
    });

    test("the homelab access step is one clearly marked, configurable action used by every Pulumi job", () => {
        const access = fs.readFileSync(path.join(ACTIONS, "reach-homelab", "action.yml"), "utf8");
        expect(access).toContain("CONFIGURE ME");
        const pulumiJobs = [workflow("pull-request.yml").jobs.preview, deploy.jobs["up-dev"], deploy.jobs["up-prod"], workflow("drift.yml").jobs.drift];
        for (const job of pulumiJobs) {
            expect(job?.steps?.map((step) => step.uses)).toContain("./.github/actions/reach-homelab");
        }
    });
});

describe("drift", () => {
    const drift = workflow("drift.yml");

    test("runs on a schedule, refreshes and fails on any change, and opens an issue when it fails", () => {
        expect(drift.on).toHaveProperty("schedule");
        expect(drift.jobs.drift?.strategy?.matrix.stack).toEqual(environments);
        expect(pulumiStep(drift.jobs.drift).with).toMatchObject({ command: "preview", refresh: true, "expect-no-changes": true });
        const report = drift.jobs.drift?.steps?.find((step) => step.if === "failure()");
        expect(report?.run).toContain("gh issue create");
        expect(drift.jobs.drift?.permissions).toEqual({ contents: "read", issues: "write" });
    });
});
