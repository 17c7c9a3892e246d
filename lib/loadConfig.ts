/**
 * Reads this project's keys from the Pulumi config and validates them. Kept apart from the pure schema so the
 * schema can be tested without the Pulumi runtime.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { UserBlueprint } from "./authentikPlan";
import { readUserBlueprints } from "./userBlueprints";
import { isSupportedLine, parseAuthentikVersion } from "./versions";
import { CONFIG_KEYS, ConfigError, PROJECT, StackConfig, parseStackConfig, plainTextSecretProblems, plainTextSecrets } from "./config";

/**
 * Whether Pulumi holds a config key as a secret. The SDK knows (it marks such values secret) but does not declare the
 * function; undefined when this SDK does not have it.
 */
function isConfigSecret(key: string): boolean | undefined {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (key: string) => boolean };
    return typeof runtimeConfig.isConfigSecret === "function" ? runtimeConfig.isConfigSecret(key) : undefined;
}

/** The stack file, when the program runs beside it (Pulumi runs it in the project folder). */
function stackFileText(): string | undefined {
    const file = path.join(process.cwd(), `Pulumi.${pulumi.getStack()}.yaml`);
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
}

/** Keys whose value is plain text, not JSON. */
const STRING_KEYS = new Set<string>(["domain", "sshPrivateKey"]);

function parseValue(key: string, text: string): { value?: unknown; problem?: string } {
    // An unknown key is reported by its name alone, whatever its value.
    if (STRING_KEYS.has(key) || !(CONFIG_KEYS as readonly string[]).includes(key)) {
        return { value: text };
    }
    try {
        return { value: JSON.parse(text) };
    } catch {
        return { problem: `${PROJECT}:${key}: is not a structured value; set it as an object in the stack file (see the README)` };
    }
}

/** Collects every `authentik-sso:*` key (unknown ones too, so that typos are reported) and validates them together. */
export function loadStackConfig(): StackConfig {
    const all = pulumi.runtime.allConfig();
    const raw: Record<string, unknown> = {};
    const problems: string[] = [];
    for (const [fullKey, text] of Object.entries(all)) {
        if (!fullKey.startsWith(`${PROJECT}:`)) {
            continue;
        }
        const key = fullKey.slice(PROJECT.length + 1);
        const parsed = parseValue(key, text);
        if (parsed.problem) {
            problems.push(parsed.problem);
        } else {
            raw[key] = parsed.value;
        }
    }
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    if (Object.keys(raw).length === 0) {
        throw new ConfigError([
            `this stack has no ${PROJECT}:* settings at all; at least ${PROJECT}:domain and ${PROJECT}:authentik (with bootstrapEmail) are needed. Copy Pulumi.local.yaml (this machine's Docker) or Pulumi.dev.yaml (a Proxmox VM behind a Cloudflare Tunnel) to Pulumi.<stack>.yaml and edit it (README, "Configuration reference").`,
        ]);
    }
    const plainSecrets = plainTextSecretProblems(plainTextSecrets(raw, stackFileText(), (key) => isConfigSecret(`${PROJECT}:${key}`)));
    let config: StackConfig;
    try {
        config = parseStackConfig(raw);
    } catch (error) {
        throw error instanceof ConfigError ? new ConfigError([...error.problems, ...plainSecrets]) : error;
    }
    if (plainSecrets.length > 0) {
        throw new ConfigError(plainSecrets);
    }
    return config;
}

/**
 * The user's own blueprints of a validated config, checked against authentik's schema of its release line: a file that
 * does not validate stops the program like any bad setting, before a resource exists.
 */
export function loadUserBlueprints(config: StackConfig, projectDir: string = process.cwd()): UserBlueprint[] {
    const folder = config.identity?.blueprints;
    if (folder === undefined) {
        return [];
    }
    const version = parseAuthentikVersion(config.authentik.version);
    if (!version || !isSupportedLine(version.line)) {
        throw new Error(`authentik.version ${config.authentik.version} was not validated`);
    }
    const { files, problems } = readUserBlueprints(folder, projectDir, version.line);
    if (problems.length > 0) {
        throw new ConfigError([...problems]);
    }
    return [...files];
}
