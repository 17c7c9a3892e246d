/**
 * Settings every container of the stack shares, written the way the Docker provider reads them back, so that a
 * refresh finds exactly what the program asked for (terraform-provider-docker, resource_docker_container_funcs.go,
 * resourceDockerContainerRead).
 */

/** What every container plan says about its health check, in whole seconds. */
export interface HealthcheckPlan {
    readonly tests: readonly string[];
    readonly intervalSeconds: number;
    readonly timeoutSeconds: number;
    readonly retries: number;
    readonly startPeriodSeconds: number;
}

/**
 * Probes run this often during the start period (Docker API 1.44+): a container reports healthy seconds after it
 * is, not one full interval later. Set on every container so that nothing is inherited from the image's
 * HEALTHCHECK: a zero field would be filled from the image and read back as the image's value (moby
 * daemon/commit.go, merge).
 */
export const HEALTH_START_INTERVAL_SECONDS = 5;

/**
 * A duration as Go's time.Duration.String() prints it, which is how the provider reads health-check durations
 * back: 30 → "30s", 60 → "1m0s", 90 → "1m30s", 3600 → "1h0m0s". "60s" would differ from the read-back value and
 * show a change on every refresh.
 */
export function goDuration(seconds: number): string {
    if (!Number.isInteger(seconds) || seconds < 0) {
        throw new Error(`goDuration takes whole, non-negative seconds, got ${seconds}`);
    }
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const rest = seconds % 60;
    if (hours > 0) {
        return `${hours}h${minutes}m${rest}s`;
    }
    if (minutes > 0) {
        return `${minutes}m${rest}s`;
    }
    return `${rest}s`;
}

export interface HealthcheckArgs {
    tests: string[];
    interval: string;
    timeout: string;
    retries: number;
    startPeriod: string;
    startInterval: string;
}

export function healthcheckArgs(plan: HealthcheckPlan): HealthcheckArgs {
    return {
        tests: [...plan.tests],
        interval: goDuration(plan.intervalSeconds),
        timeout: goDuration(plan.timeoutSeconds),
        retries: plan.retries,
        startPeriod: goDuration(plan.startPeriodSeconds),
        startInterval: goDuration(HEALTH_START_INTERVAL_SECONDS),
    };
}

export interface ContainerBaseArgs {
    restart: string;
    securityOpts: string[];
    logDriver: string;
    memory: number;
    memorySwap: number;
    destroyGraceSeconds: number;
    stopTimeout: number;
}

/**
 * What every container gets besides its own settings.
 *
 * - memorySwap -1 (no swap limit; the VM has no swap): the provider reads memory_swap back even when it is not set,
 *   and Docker stores twice the memory then, so an unset value shows a change after every refresh, and a later
 *   memory raise above that stored value is refused ("Memory limit should be smaller than already set memoryswap
 *   limit"). -1 reads back as -1 and never conflicts.
 * - destroyGraceSeconds: without it the provider stops a container with a zero timeout, i.e. SIGKILL right after
 *   the stop signal, on every replacement and on `pulumi destroy`. stopTimeout is the same grace for Docker's own
 *   stops (`docker stop`, a host shutdown).
 * - The "local" log driver rotates and compresses by default, with no options to set: log options would be merged
 *   with the daemon's own defaults and read back as a change whenever the daemon has other keys.
 */
export function containerBase(memoryMb: number, stopGraceSeconds: number): ContainerBaseArgs {
    return {
        restart: "unless-stopped",
        // No process in these containers may gain privileges through setuid binaries.
        securityOpts: ["no-new-privileges:true"],
        logDriver: "local",
        memory: memoryMb,
        memorySwap: -1,
        destroyGraceSeconds: stopGraceSeconds,
        stopTimeout: stopGraceSeconds,
    };
}

/**
 * Resource options every container needs. The provider applies a changed health check to the state only, never to
 * the container (Docker cannot update it): replacing the container is the only way the change takes effect.
 */
export const CONTAINER_REPLACE_ON_CHANGES = ["healthcheck"] as const;
