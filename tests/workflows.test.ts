/** The GitHub workflows: valid against GitHub's schema (offline validator) and shaped as the promotion flow needs. */
import { spawnSync } from "child_process";
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
    with?: Record<string, unknown>;
    secrets?: string;
    environment?: string;
    permissions?: Record<string, string>;
    strategy?: { matrix: { include?: { stack: string; environment: string }[] } };
    concurrency?: { group: string; "cancel-in-progress": boolean };
    steps?: Step[];
}
interface Workflow {
    on: Record<string, unknown>;
    permissions?: Record<string, string>;
    concurrency?: { group: string; "cancel-in-progress": boolean };
    jobs: Record<string, Job>;
}

function workflow(name: string): Workflow {
    return parseYaml(fs.readFileSync(path.join(WORKFLOWS, name), "utf8")) as Workflow;
}

/** A job that runs Pulumi through the reusable workflow, with the inputs it passes. */
interface PulumiCall {
    workflow: string;
    job: string;
    command: string;
    stack: string;
    environment: string;
    group: string;
}

function pulumiCalls(): PulumiCall[] {
    return fs
        .readdirSync(WORKFLOWS)
        .flatMap((file) =>
            Object.entries(workflow(file).jobs)
                .filter(([, job]) => job.uses === "./.github/workflows/pulumi.yml")
                .flatMap(([name, job]) => {
                    const variants = job.strategy?.matrix.include ?? [{}];
                    return variants.map((variant: Record<string, string>) => {
                        const fill = (value: unknown) => String(value).replace(/\$\{\{ matrix\.(\w+) \}\}/g, (_, key: string) => variant[key] ?? "");
                        return {
                            workflow: file,
                            job: name,
                            command: fill(job.with?.command),
                            stack: fill(job.with?.stack),
                            environment: fill(job.with?.environment),
                            group: fill(job.with?.["concurrency-group"]),
                        };
                    });
                }),
        );
}

/** Stacks that show a target, not environments of the dev → prod pipeline: this machine's Docker, and Kubernetes. */
const EXAMPLE_STACKS = ["local", "k8s"];
const environments = stackNames().filter((stack) => !EXAMPLE_STACKS.includes(stack));
const DEPLOY_ENVIRONMENTS = ["dev", "production"];
const allFiles = () => [...fs.readdirSync(WORKFLOWS).map((file) => path.join(WORKFLOWS, file)), ...fs.readdirSync(ACTIONS).map((dir) => path.join(ACTIONS, dir, "action.yml"))];

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

    test("every third-party action is pinned by its full commit SHA, with the version as a comment", () => {
        const uses = allFiles().flatMap((file) => [...fs.readFileSync(file, "utf8").matchAll(/uses:\s*(\S+)(.*)$/gm)].map((match) => ({ file: path.basename(file), ref: match[1] as string, rest: match[2] as string })));
        const external = uses.filter((use) => !use.ref.startsWith("./"));
        expect(external.length).toBeGreaterThanOrEqual(6);
        for (const use of external) {
            expect({ ref: use.ref, pinned: /@[0-9a-f]{40}$/.test(use.ref), comment: /# v\d+(\.\d+)*$/.test(use.rest.trim()) }).toEqual({ ref: use.ref, pinned: true, comment: true });
        }
    });
});

describe("checks", () => {
    test("CI runs the same script as a clean clone, with CI=true, and it calls the README's test command", () => {
        const checks = workflow("checks.yml").jobs.checks?.steps?.map((step) => step.run ?? step.uses) ?? [];
        expect(checks).toContain('sudo env "PATH=$PATH" CI=true bash .ci/run');
        const ci = fs.readFileSync(path.join(REPO_ROOT, ".ci", "run"), "utf8");
        expect(ci).toContain("npm ci");
        expect(ci).toContain("npm test");
        expect(ci).toContain("npm run lint");
        expect(fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8").split("\n").slice(0, 5).join("\n")).toContain("npm ci && npm test");
        expect(JSON.stringify(workflow("checks.yml"))).not.toContain("secrets.");
    });
});

describe("credentials: unreviewed code never gets production's", () => {
    test("every Pulumi run goes through one reusable workflow, in an environment, with its own concurrency group", () => {
        const calls = pulumiCalls();
        expect(calls.map((call) => `${call.workflow}/${call.job}: ${call.command} ${call.stack} in ${call.environment} (${call.group})`).sort()).toEqual([
            "deploy.yml/preview-prod: preview prod in production-preview (preview-prod)",
            "deploy.yml/up-dev: up dev in dev (deploy-dev)",
            "deploy.yml/up-prod: up prod in production (deploy-prod)",
            "drift.yml/drift: preview dev in preview (drift-dev)",
            "drift.yml/drift: preview prod in production-preview (drift-prod)",
            "pull-request.yml/preview-dev: preview dev in preview (preview-dev-pr-${{ github.event.pull_request.number }})",
        ]);
        const reusable = workflow("pulumi.yml").jobs.pulumi;
        expect(reusable?.environment).toBe("${{ inputs.environment }}");
        expect(reusable?.concurrency).toEqual({ group: "${{ inputs.concurrency-group }}", "cancel-in-progress": false });
        for (const file of ["pull-request.yml", "deploy.yml", "drift.yml"]) {
            for (const [name, job] of Object.entries(workflow(file).jobs).filter(([, item]) => item.uses === "./.github/workflows/pulumi.yml")) {
                expect({ job: name, secrets: job.secrets }).toEqual({ job: name, secrets: "inherit" });
            }
        }
    });

    test("pull requests preview dev only, with the preview environment, and never a stack that can reach production", () => {
        const pr = pulumiCalls().filter((call) => call.workflow === "pull-request.yml");
        expect(pr.map((call) => [call.stack, call.environment, call.command])).toEqual([["dev", "preview", "preview"]]);
        expect(JSON.stringify(workflow("pull-request.yml"))).not.toMatch(/production|prod\b/);
    });

    test("read-only jobs never share a concurrency group with a deploy: a new pending run cancels the older pending one", () => {
        const calls = pulumiCalls();
        const deployGroups = new Set(calls.filter((call) => call.command === "up").map((call) => call.group));
        for (const call of calls.filter((item) => item.command !== "up")) {
            expect({ job: `${call.workflow}/${call.job}`, sharesDeployGroup: deployGroups.has(call.group) }).toEqual({ job: `${call.workflow}/${call.job}`, sharesDeployGroup: false });
        }
        // And no workflow-level group may hold a deploy together with anything else.
        expect(workflow("deploy.yml").concurrency).toBeUndefined();
        expect(workflow("drift.yml").concurrency).toBeUndefined();
    });

    test("only deploy jobs use the deploy environments; the drift check and previews use the preview ones", () => {
        for (const call of pulumiCalls()) {
            expect({ job: `${call.workflow}/${call.job}/${call.stack}`, deployEnvironment: DEPLOY_ENVIRONMENTS.includes(call.environment) }).toEqual({
                job: `${call.workflow}/${call.job}/${call.stack}`,
                deployEnvironment: call.command === "up",
            });
        }
    });

    test("state backend credentials reach Pulumi for Pulumi Cloud and for S3, Azure Blob and GCS backends", () => {
        const step = workflow("pulumi.yml").jobs.pulumi?.steps?.find((item) => item.uses?.startsWith("pulumi/actions@"));
        expect(Object.keys(step?.env ?? {}).sort()).toEqual(
            [
                "AWS_ACCESS_KEY_ID",
                "AWS_REGION",
                "AWS_SECRET_ACCESS_KEY",
                "AZURE_STORAGE_ACCOUNT",
                "AZURE_STORAGE_KEY",
                "CLOUDFLARE_API_TOKEN",
                "GOOGLE_CREDENTIALS",
                "PROXMOX_VE_API_TOKEN",
                "PULUMI_ACCESS_TOKEN",
                "PULUMI_CONFIG_PASSPHRASE",
            ].sort(),
        );
        expect(step?.with).toMatchObject({ "cloud-url": "${{ vars.PULUMI_BACKEND_URL }}", "comment-on-summary": true });
    });
});

describe("pull requests", () => {
    const pr = workflow("pull-request.yml");

    test("run the same checks as CI, then the preview with its result on the PR", () => {
        expect(pr.on).toHaveProperty("pull_request");
        expect(pr.jobs.checks?.uses).toBe("./.github/workflows/checks.yml");
        expect(pr.jobs["preview-dev"]?.needs).toBe("checks");
        expect(pr.jobs["preview-dev"]?.with).toMatchObject({ command: "preview", "comment-on-pr": true });
    });

    test("least privilege: read-only by default, PR comments only where previews run, no OIDC token", () => {
        expect(pr.permissions).toEqual({ contents: "read" });
        expect(pr.jobs["preview-dev"]?.permissions).toEqual({ contents: "read", "pull-requests": "write" });
        for (const file of fs.readdirSync(WORKFLOWS)) {
            expect(JSON.stringify(workflow(file))).not.toContain("id-token");
            // Every workflow that is not only called by others declares read-only defaults.
            if (!("workflow_call" in workflow(file).on) || file === "checks.yml") {
                expect({ file, permissions: workflow(file).permissions }).toEqual({ file, permissions: { contents: "read" } });
            }
        }
    });

    test("pull requests from forks are checked but never previewed (no secrets)", () => {
        expect(pr.jobs["preview-dev"]?.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
        expect(pr.jobs.checks?.if).toBeUndefined();
    });
});

describe("promotion", () => {
    const deploy = workflow("deploy.yml");

    test("a push to main updates dev, previews prod, then updates prod behind the production environment, from the same commit", () => {
        expect(deploy.on).toHaveProperty("push");
        expect(deploy.jobs["up-dev"]?.needs).toBe("checks");
        expect(deploy.jobs["preview-prod"]?.needs).toEqual(expect.arrayContaining(["up-dev"]));
        expect(deploy.jobs["up-prod"]?.needs).toBe("preview-prod");
        const checkout = workflow("pulumi.yml").jobs.pulumi?.steps?.[0];
        expect(checkout?.uses).toMatch(/^actions\/checkout@[0-9a-f]{40}$/);
        expect(checkout?.with).toEqual({ ref: "${{ github.sha }}" });
    });

    test("one setting chooses the gate before prod: required reviewers, or a manual run on main", () => {
        // Closed by default: without PROD_GATE=reviewers, only a manual run on main with promote-to-prod updates prod.
        expect(deploy.jobs["up-prod"]?.if).toBe(
            "vars.PROD_GATE == 'reviewers' || (github.event_name == 'workflow_dispatch' && inputs.promote-to-prod && github.ref == 'refs/heads/main')",
        );
        // A typo fails the run before prod is even previewed.
        expect(deploy.jobs["preview-prod"]?.needs).toEqual(["up-dev", "prod-gate"]);
        expect(deploy.on.workflow_dispatch).toEqual({ inputs: { "promote-to-prod": expect.objectContaining({ type: "boolean", default: false }) } });
        // Both gates keep the prod preview in front of the update.
        expect(deploy.jobs["preview-prod"]?.if).toBeUndefined();
        const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
        expect(readme).toContain("PROD_GATE");
    });

    test("the gate setting accepts reviewers, dispatch or nothing, and fails on anything else", () => {
        const step = deploy.jobs["prod-gate"]?.steps?.[0] as { run: string };
        const gate = (value: string) => spawnSync("bash", ["-c", step.run], { encoding: "utf8", env: { ...process.env, PROD_GATE: value } });
        expect(gate("").status).toBe(0);
        expect(gate("dispatch").status).toBe(0);
        expect(gate("reviewers").status).toBe(0);
        const typo = gate("Dispatch ");
        expect(typo.status).toBe(1);
        expect(typo.stdout).toContain("::error::PROD_GATE is 'Dispatch '");
    });

    test("the homelab access step is one clearly marked, configurable action used by every Pulumi job", () => {
        const access = fs.readFileSync(path.join(ACTIONS, "reach-homelab", "action.yml"), "utf8");
        expect(access).toContain("CONFIGURE ME");
        expect(workflow("pulumi.yml").jobs.pulumi?.steps?.map((step) => step.uses)).toContain("./.github/actions/reach-homelab");
    });
});

describe("drift", () => {
    const drift = workflow("drift.yml");

    test("runs on a schedule for every environment stack, refreshes and fails on any change, and opens an issue when it fails", () => {
        expect(drift.on).toHaveProperty("schedule");
        expect(drift.jobs.drift?.strategy?.matrix.include?.map((item) => item.stack)).toEqual(environments);
        expect(drift.jobs.drift?.with).toMatchObject({ command: "preview", refresh: true, "expect-no-changes": true, "open-issue-on-failure": true });
        const report = workflow("pulumi.yml").jobs.pulumi?.steps?.find((step) => step.if === "failure() && inputs.open-issue-on-failure");
        expect(report?.run).toContain("gh issue create");
        expect(drift.jobs.drift?.permissions).toEqual({ contents: "read", issues: "write" });
    });
});
