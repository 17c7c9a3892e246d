/**
 * Go's time.Duration.String() form for whole seconds, written independently of lib/containerDefaults.ts: the
 * Docker provider reads health-check durations back in exactly this form.
 */

/** Canonical: "0s".."59s", "1m0s".."59m59s", "1h0m0s" and up; never "60s", "90s" or "1m". */
export const GO_DURATION_PATTERN = /^(?:(?:[1-9]\d*h(?:\d|[1-5]\d)m)|(?:[1-9]|[1-5]\d)m)?(?:\d|[1-5]\d)s$/;

/** Seconds in a Go duration string such as "1h2m3s". */
export function parseGoDuration(text: string): number {
    const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
    if (!match || text === "") {
        throw new Error(`not a Go duration: ${text}`);
    }
    return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

/** Go's Duration.String() for whole seconds, written as Go does it: hours, then minutes, then seconds, once a larger unit appears. */
export function formatGoDuration(seconds: number): string {
    const units: [string, number][] = [
        ["h", 3600],
        ["m", 60],
    ];
    let rest = seconds;
    let text = "";
    for (const [unit, size] of units) {
        const count = Math.floor(rest / size);
        if (count > 0 || text !== "") {
            text += `${count}${unit}`;
        }
        rest -= count * size;
    }
    return `${text}${rest}s`;
}
