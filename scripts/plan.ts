/**
 * The offline plan: runs the real program under Pulumi's mocks with a stack file's config (no credentials, no
 * network), then prints the resources as a tree in dependency order with their key settings, writes the graph
 * as Mermaid, and reports the modeled `pulumi up` time: the critical path and the same stack done serially.
 */
import * as fs from "fs";
import * as path from "path";
import { planAuthentik, stackImages } from "../lib/authentikPlan";
import { PROJECT, parseStackConfig } from "../lib/config";
import { LATENCY_TABLE, ModelNode, Registration, Schedule, formatDuration, latencyOf, modelGraph, schedule } from "../lib/upModel";
import { ProgramRun, RecordedResource, loadStackFile, runProgram, stackNames } from "../tests/harness";

export interface Plan {
    stack: string;
    run: ProgramRun;
    /** Images the stack's VM pulls during first boot (none without a VM). */
    prePulled: readonly string[];
    nodes: ModelNode[];
    schedule: Schedule;
    registrations: Map<string, Registration>;
}

export async function buildPlan(stack: string): Promise<Plan> {
    const stackFile = loadStackFile(stack);
    const run = await runProgram({ stack, config: stackFile });
    const prePulled = prePulledImages(stackFile.config);
    const { nodes, resources } = modelGraph(run.resources.map(toRegistration), { prePulled });
    return { stack, run, prePulled, nodes, schedule: schedule(nodes), registrations: resources };
}

/** What the program puts into the VM's first boot: the same functions, on the stack file's settings. */
function prePulledImages(stackConfig: Record<string, unknown>): readonly string[] {
    const raw = Object.fromEntries(Object.entries(stackConfig).filter(([key]) => key.startsWith(`${PROJECT}:`)).map(([key, value]) => [key.slice(PROJECT.length + 1), value]));
    const config = parseStackConfig(raw);
    return config.proxmox ? stackImages(config, planAuthentik(config)) : [];
}

function toRegistration(resource: RecordedResource): Registration {
    return { id: resource.urn, type: resource.type, name: resource.name, inputs: resource.inputs, parent: resource.parent, custom: resource.custom, dependencies: resource.dependencies, provider: resource.provider };
}

const shortType = (type: string) => type.split(":").pop() ?? type;

/** The settings a reviewer looks for first, per resource type; secrets never (they are not in inputs shown). */
export function keySettings(resource: RecordedResource): string {
    const inputs = resource.inputs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    switch (resource.type) {
        case "docker:index/container:Container":
            return [
                `name=${inputs.name}`,
                `memory=${inputs.memory}MB`,
                `restart=${inputs.restart}`,
                `health=${(inputs.healthcheck?.tests ?? []).slice(1).join(" ")}`,
                `ports=${(inputs.ports ?? []).map((port: { ip: string; external: number }) => `${port.ip}:${port.external}`).join(",") || "none"}`,
            ].join(" ");
        case "docker:index/remoteImage:RemoteImage":
            return `image=${inputs.name}`;
        case "docker:index/volume:Volume":
        case "docker:index/network:Network":
            return `name=${inputs.name}${inputs.ipamConfigs ? ` subnet=${inputs.ipamConfigs[0]?.subnet}` : ""}`;
        case "proxmoxve:index/vmLegacy:VmLegacy":
            return `node=${inputs.nodeName} vmId=${inputs.vmId} cores=${inputs.cpu?.cores} memory=${inputs.memory?.dedicated}MB disk=${inputs.disks?.[0]?.size}GB ip=${inputs.initialization?.ipConfigs?.[0]?.ipv4?.address}`;
        case "proxmoxve:download/file:File":
            return `url=${inputs.url}`;
        case "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared":
            return `name=${inputs.name}`;
        case "cloudflare:index/dnsRecord:DnsRecord":
            return `${inputs.type} ${inputs.name} -> ${inputs.content} proxied=${inputs.proxied}`;
        case "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig":
            return (inputs.config?.ingresses ?? []).map((rule: { hostname?: string; service: string }) => `${rule.hostname ?? "*"} -> ${rule.service}`).join(", ");
        case "command:remote:Command":
            return `host=${inputs.connection?.host}`;
        case "pulumi:providers:docker":
            return `host=${inputs.host}`;
        case "kubernetes:helm.sh/v3:Release":
            return `chart=${inputs.chart} version=${inputs.version} namespace=${inputs.namespace}`;
        case "kubernetes:postgresql.cnpg.io/v1:Cluster":
            return `instances=${inputs.spec?.instances} storage=${inputs.spec?.storage?.size}`;
        case "kubernetes:apps/v1:Deployment":
            return `replicas=${inputs.spec?.replicas} image=${inputs.spec?.template?.spec?.containers?.[0]?.image}`;
        default:
            return "";
    }
}

export function renderTree(plan: Plan): string {
    const byParent = new Map<string, RecordedResource[]>();
    for (const resource of plan.run.resources) {
        byParent.set(resource.parent, [...(byParent.get(resource.parent) ?? []), resource]);
    }
    // Dependency order: by the time the model says each is done (components by their last child).
    const doneAt = (resource: RecordedResource): number => {
        const own = plan.schedule.finish.get(resource.urn);
        if (own !== undefined) {
            return own;
        }
        return Math.max(0, ...(byParent.get(resource.urn) ?? []).map(doneAt));
    };
    const nameOf = (urn: string) => plan.registrations.get(urn)?.name ?? urn.split("::").pop();
    const lines: string[] = [];
    const walk = (parent: string, indent: string) => {
        const items = [...(byParent.get(parent) ?? [])].sort((a, b) => doneAt(a) - doneAt(b) || a.name.localeCompare(b.name));
        items.forEach((resource, index) => {
            const last = index === items.length - 1;
            const node = plan.nodes.find((item) => item.id === resource.urn);
            const after = node && node.after.length > 0 ? ` (after ${[...new Set(node.after.map(nameOf))].join(", ")})` : "";
            const flags = [resource.protect ? "protected" : "", resource.secretPaths.length > 0 ? `secret: ${resource.secretPaths.join(",")}` : ""].filter(Boolean).join("; ");
            const settings = keySettings(resource);
            lines.push(`${indent}${last ? "└─" : "├─"} ${shortType(resource.type)} ${resource.name}${settings ? `  ${settings}` : ""}${flags ? `  [${flags}]` : ""}${after}`);
            walk(resource.urn, `${indent}${last ? "   " : "│  "}`);
        });
    };
    walk("", "");
    return lines.join("\n");
}

export function renderMermaid(plan: Plan): string {
    const ids = new Map(plan.nodes.map((node, index) => [node.id, `r${index}`]));
    const lines = ["graph LR"];
    for (const node of plan.nodes) {
        const registration = plan.registrations.get(node.id) as Registration;
        lines.push(`  ${ids.get(node.id)}["${registration.name}<br/><small>${shortType(registration.type)} · ${node.seconds} s</small>"]`);
    }
    const critical = new Set(plan.schedule.criticalPath);
    plan.nodes.forEach((node) => {
        for (const dependency of node.after) {
            const onPath = critical.has(dependency) && critical.has(node.id) && plan.schedule.criticalPath.indexOf(node.id) === plan.schedule.criticalPath.indexOf(dependency) + 1;
            lines.push(`  ${ids.get(dependency)} ${onPath ? "==>" : "-->"} ${ids.get(node.id)}`);
        }
    });
    lines.push("  classDef critical stroke-width:3px");
    lines.push(`  class ${plan.schedule.criticalPath.map((id) => ids.get(id)).join(",")} critical`);
    return `${lines.join("\n")}\n`;
}

export function renderTiming(plan: Plan): string {
    const lines = [`Modeled \`pulumi up\` of a new ${plan.stack} stack (latencies: lib/upModel.ts):`, "", "Critical path:"];
    const nameOf = (id: string) => (plan.registrations.get(id) as Registration).name;
    const doneAt = (id: string) => plan.schedule.finish.get(id) as number;
    const step = (id: string) => `${nameOf(id)} (${latencyOf(plan.registrations.get(id) as Registration, { prePulled: plan.prePulled }).what})`;
    let previous = 0;
    for (const id of plan.schedule.criticalPath) {
        lines.push(`  ${formatDuration(doneAt(id)).padStart(12)}  +${String(doneAt(id) - previous).padStart(3)} s  ${step(id)}`);
        previous = doneAt(id);
    }
    lines.push("", "Every resource, by when it is done (and what it waits for):");
    for (const node of [...plan.nodes].sort((a, b) => doneAt(a.id) - doneAt(b.id) || nameOf(a.id).localeCompare(nameOf(b.id)))) {
        const waitsFor = node.after.map(nameOf).sort();
        lines.push(`  ${formatDuration(doneAt(node.id)).padStart(12)}  ${String(node.seconds).padStart(3)} s  ${step(node.id)}${waitsFor.length > 0 ? ` after ${waitsFor.join(", ")}` : ""}`);
    }
    lines.push("");
    lines.push(`Critical path: ${formatDuration(plan.schedule.totalSeconds)} over ${plan.schedule.criticalPath.length} resources`);
    lines.push(`One resource at a time: ${formatDuration(plan.schedule.serialSeconds)} over ${plan.nodes.length} resources`);
    return lines.join("\n");
}

function usage(): string {
    return `usage: npm run plan -- --stack <${stackNames().join("|")}> [--out <folder>]`;
}

export async function main(argv: string[]): Promise<number> {
    const stackIndex = argv.indexOf("--stack");
    const stack = stackIndex >= 0 ? argv[stackIndex + 1] : undefined;
    const outIndex = argv.indexOf("--out");
    const out = outIndex >= 0 ? argv[outIndex + 1] : "plan-out";
    if (!stack || !out || !stackNames().includes(stack)) {
        console.error(usage());
        return 2;
    }
    const plan = await buildPlan(stack);
    console.log(`${plan.run.resources.length} resources in stack ${stack}, in dependency order:\n`);
    console.log(renderTree(plan));
    console.log("");
    console.log(renderTiming(plan));
    fs.mkdirSync(out, { recursive: true });
    const file = path.join(out, `${stack}.mmd`);
    fs.writeFileSync(file, renderMermaid(plan));
    console.log(`\nGraph (Mermaid): ${file}`);
    console.log(`Latency table: ${LATENCY_TABLE.length} rules, see lib/upModel.ts and the README.`);
    return 0;
}
