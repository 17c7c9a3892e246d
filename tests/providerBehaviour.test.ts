/**
 * What the providers do with what the program asks for (tests/providerModel.ts, read from their sources): every
 * container input comes back unchanged from the provider's read, so a refresh shows no change; a health-check
 * change replaces the container instead of an update the provider never applies; stopping is graceful; names that
 * Docker would adopt or refuse are replaced delete-first.
 */
import { goDuration } from "../lib/containerDefaults";
import { GO_DURATION_PATTERN, formatGoDuration, parseGoDuration } from "./goDuration";
import { ProgramRun, RecordedResource, dockerStackNames, loadStackFile, ofType, runProgram } from "./harness";
import { DaemonDefaults, containerReadBack, stepFor } from "./providerModel";

const CONTAINER = "docker:index/container:Container";

/** The VM's daemon.json (cloud-init) and a workstation's that rotates and compresses json-file logs. */
const DAEMONS: Record<string, DaemonDefaults> = {
    "the VM's daemon.json": { logDriver: "json-file", logOpts: { "max-size": "10m", "max-file": "3" } },
    "a workstation's daemon.json": { logDriver: "json-file", logOpts: { "max-size": "20m", "max-file": "5", compress: "true" } },
};

describe("goDuration prints what Go's time.Duration.String() prints", () => {
    test.each([
        [0, "0s"],
        [5, "5s"],
        [59, "59s"],
        [60, "1m0s"],
        [61, "1m1s"],
        [90, "1m30s"],
        [120, "2m0s"],
        [900, "15m0s"],
        [3599, "59m59s"],
        [3600, "1h0m0s"],
        [3661, "1h1m1s"],
        [86400, "24h0m0s"],
    ])("%s s → %s", (seconds, text) => {
        expect(goDuration(seconds)).toBe(text);
    });

    test("agrees with an independent formatter and parser on every second up to two hours", () => {
        for (let seconds = 0; seconds <= 7200; seconds++) {
            const text = goDuration(seconds);
            expect(text).toBe(formatGoDuration(seconds));
            expect(text).toMatch(GO_DURATION_PATTERN);
            expect(parseGoDuration(text)).toBe(seconds);
        }
    });

    test("refuses what it cannot print exactly", () => {
        expect(() => goDuration(1.5)).toThrow("whole, non-negative seconds");
        expect(() => goDuration(-1)).toThrow("whole, non-negative seconds");
    });
});

describe.each(dockerStackNames())("stack %s", (stack) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack, config: loadStackFile(stack) });
    });

    test.each(Object.entries(DAEMONS))("every container input comes back unchanged from the provider's read, with %s", (_, daemon) => {
        const containers = ofType(run, CONTAINER);
        expect(containers.length).toBeGreaterThanOrEqual(4);
        for (const container of containers) {
            const read = containerReadBack(container.inputs, daemon, formatGoDuration, parseGoDuration);
            const asked = Object.fromEntries(Object.keys(read).map((key) => [key, container.inputs[key]]));
            expect({ container: container.name, read }).toEqual({ container: container.name, read: asked });
        }
    });

    test("the read-back model itself sees the drift the program avoids", () => {
        const [container] = ofType(run, CONTAINER) as [RecordedResource];
        const daemon = DAEMONS["the VM's daemon.json"] as DaemonDefaults;
        const careless = { ...container.inputs, healthcheck: { ...(container.inputs.healthcheck as object), interval: "60s" }, memorySwap: undefined, logDriver: undefined, logOpts: { "max-size": "10m" } };
        const read = containerReadBack(careless, daemon, formatGoDuration, parseGoDuration);
        expect((read.healthcheck as { interval: string }).interval).toBe("1m0s");
        expect(read.memorySwap).toBe(Number(container.inputs.memory) * 2);
        expect(read.logOpts).toEqual({ "max-size": "10m", "max-file": "3" });
    });

    test("a health-check change replaces the container (the provider records it but never applies it); memory updates in place", () => {
        for (const container of ofType(run, CONTAINER)) {
            expect({ container: container.name, replaceOnChanges: container.replaceOnChanges }).toEqual({ container: container.name, replaceOnChanges: ["healthcheck"] });
            expect(stepFor(CONTAINER, ["healthcheck.interval"], container)).toBe("replace");
            expect(stepFor(CONTAINER, ["healthcheck.interval"], {})).toBe("update");
            expect(stepFor(CONTAINER, ["memory", "memorySwap"], container)).toBe("update");
            expect(stepFor(CONTAINER, ["envs"], container)).toBe("replace");
        }
    });

    test("every container stops gracefully: a grace period for the provider's stop and for Docker's own", () => {
        const minimum: Record<string, number> = { postgresql: 60, worker: 30 };
        for (const container of ofType(run, CONTAINER)) {
            const grace = Number(container.inputs.destroyGraceSeconds);
            const role = String(container.inputs.name).replace(/^authentik-/, "");
            expect({ container: container.name, grace: grace >= (minimum[role] ?? 10), stopTimeout: container.inputs.stopTimeout }).toEqual({ container: container.name, grace: true, stopTimeout: grace });
        }
    });

    test("swap: set explicitly, so the read finds the value and a later memory raise is accepted", () => {
        for (const container of ofType(run, CONTAINER)) {
            expect({ container: container.name, memorySwap: container.inputs.memorySwap }).toEqual({ container: container.name, memorySwap: -1 });
        }
    });

    test("no input the provider reads back in another form: no wait, no platform, no log options, no systempaths", () => {
        for (const container of ofType(run, CONTAINER)) {
            const inputs = container.inputs;
            expect({ container: container.name, wait: inputs.wait, platform: inputs.platform, logOpts: inputs.logOpts, logDriver: inputs.logDriver }).toEqual({
                container: container.name,
                wait: undefined,
                platform: undefined,
                logOpts: undefined,
                logDriver: "local",
            });
            for (const field of ["interval", "timeout", "startPeriod", "startInterval"]) {
                expect((inputs.healthcheck as Record<string, string>)[field]).toMatch(GO_DURATION_PATTERN);
            }
            expect(Number((inputs.healthcheck as { retries: number }).retries)).toBeGreaterThan(0);
        }
    });

    test("fixed names are replaced delete-first: containers, volumes (Docker would adopt the old one) and the network", () => {
        for (const resource of run.resources.filter((item) => [CONTAINER, "docker:index/volume:Volume", "docker:index/network:Network"].includes(item.type))) {
            expect({ name: resource.name, deleteBeforeReplace: resource.deleteBeforeReplace }).toEqual({ name: resource.name, deleteBeforeReplace: true });
        }
    });

    test("images are kept on the host when their resource goes: a removal the daemon refuses would fail the update", () => {
        for (const image of ofType(run, "docker:index/remoteImage:RemoteImage")) {
            expect({ image: image.name, keepLocally: image.inputs.keepLocally }).toEqual({ image: image.name, keepLocally: true });
        }
    });
});
