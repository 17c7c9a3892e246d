/** Settings every container of the stack shares, so the hardening rules live in one place. */
import type { HealthcheckPlan } from "./authentikPlan";

export interface ContainerHardening {
    restart: string;
    securityOpts: string[];
    logDriver: string;
    logOpts: Record<string, string>;
}

export function containerHardening(): ContainerHardening {
    return {
        restart: "unless-stopped",
        // No process in these containers may gain privileges through setuid binaries.
        securityOpts: ["no-new-privileges:true"],
        // Rotated logs: a chatty container must not fill the small VM disk.
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "3" },
    };
}

export interface HealthcheckArgs {
    tests: string[];
    interval: string;
    timeout: string;
    retries: number;
    startPeriod: string;
}

export function healthcheckArgs(plan: HealthcheckPlan): HealthcheckArgs {
    return {
        tests: [...plan.tests],
        interval: `${plan.intervalSeconds}s`,
        timeout: `${plan.timeoutSeconds}s`,
        retries: plan.retries,
        startPeriod: `${plan.startPeriodSeconds}s`,
    };
}
