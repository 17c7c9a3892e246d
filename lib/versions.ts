/**
 * What each authentik release line needs from its deployment. Sources are authentik's release notes
 * (website/docs/releases/) as summarised in the project notes; every rule here has a test.
 */

/** Release lines this program knows how to deploy, oldest first. Upgrades walk this ladder one step at a time. */
export const SUPPORTED_RELEASE_LINES = [
    "2025.6",
    "2025.8",
    "2025.10",
    "2025.12",
    "2026.2",
    "2026.5",
    "2026.8",
] as const;

export type ReleaseLine = (typeof SUPPORTED_RELEASE_LINES)[number];

export interface AuthentikVersion {
    /** The exact tag, e.g. "2025.6.3". */
    readonly tag: string;
    readonly year: number;
    readonly month: number;
    readonly patch: number;
    /** "YYYY.M", e.g. "2025.6". */
    readonly line: string;
}

const VERSION_PATTERN = /^(\d{4})\.(\d{1,2})\.(\d+)$/;

/** Parses "YYYY.M.P"; returns undefined for anything else (release candidates and "latest" are not pinned versions). */
export function parseAuthentikVersion(tag: string): AuthentikVersion | undefined {
    const match = VERSION_PATTERN.exec(tag);
    if (!match) {
        return undefined;
    }
    const [year, month, patch] = [Number(match[1]), Number(match[2]), Number(match[3])];
    return { tag, year, month, patch, line: `${year}.${month}` };
}

export function isSupportedLine(line: string): line is ReleaseLine {
    return (SUPPORTED_RELEASE_LINES as readonly string[]).includes(line);
}

/** Orders two versions; negative when a is older than b. */
export function compareVersions(a: AuthentikVersion, b: AuthentikVersion): number {
    return a.year - b.year || a.month - b.month || a.patch - b.patch;
}

function atLeast(version: AuthentikVersion, line: ReleaseLine): boolean {
    const [year, month] = line.split(".").map(Number) as [number, number];
    return version.year > year || (version.year === year && version.month >= month);
}

/** Memory for one container of a release line, in MB: what it gets by default and the least it is allowed. */
export interface MemoryAdvice {
    readonly defaultMb: number;
    readonly minimumMb: number;
}

/** The deployment differences between release lines. */
export interface AuthentikFeatures {
    /** Redis is used before 2025.10 only (2025.10 moved everything to PostgreSQL). */
    readonly usesRedis: boolean;
    /**
     * From 2025.12 authentik keeps its files under a storage root, /data, and manages them only when /data (or
     * /data/media) is a mount point; the image makes /data/media a symlink to /media, and a symlink is never a
     * mount point for Python 3.12+ (authentik/admin/files/backends/file.py). Before 2025.12 the files live in /media.
     */
    readonly storageRoot: "/media" | "/data";
    /** /dev/shm size in MB; from 2026.2 authentik's compose gives server and worker 512 MB (the image's TMPDIR). */
    readonly shmSizeMb: number | undefined;
    /** AUTHENTIK_WEB__BASE_URL exists from 2026.8 (required from 2026.11). */
    readonly setsBaseUrl: boolean;
    /**
     * From 2026.5 authentik listens on [::] by default; on a host whose kernel has no IPv6 the worker crash-loops
     * (authentik#24303). The authentik network is IPv4-only, so the program sets the IPv4 addresses.
     */
    readonly listensOnIpv6ByDefault: boolean;
    /**
     * From 2026.5 an OAuth2 provider allows only the grant types it lists; one created without them lists none
     * (providers/oauth2 migration 0032 and views/authorize.py), so blueprints must name them.
     */
    readonly oauthGrantTypes: boolean;
    /** Start period of the image health check: first start runs migrations (120 s from 2026.8). */
    readonly healthStartPeriodSeconds: number;
    /** Memory for server and worker; README "Memory" gives the reports behind each figure. */
    readonly memory: { readonly server: MemoryAdvice; readonly worker: MemoryAdvice };
}

/**
 * Server and worker memory per line, from authentik's issue reports with the allocator tuning the program sets
 * (MALLOC_ARENA_MAX=2): 2025.8 idles near 375 MiB (server) and 360 MiB (worker) (authentik#17869); 2026.8 idles at
 * 365-690 MiB (server, two web processes) and about 480 MiB with the tuning (authentik#25683); from 2026.5 the
 * worker uses about 200 MB less (2026.5 release notes). The defaults fit the 2 GB VM with one web process.
 */
function memoryOf(version: AuthentikVersion): AuthentikFeatures["memory"] {
    if (atLeast(version, "2026.5")) {
        return { server: { defaultMb: 704, minimumMb: 512 }, worker: { defaultMb: 448, minimumMb: 320 } };
    }
    if (atLeast(version, "2025.10")) {
        return { server: { defaultMb: 640, minimumMb: 448 }, worker: { defaultMb: 512, minimumMb: 384 } };
    }
    return { server: { defaultMb: 576, minimumMb: 384 }, worker: { defaultMb: 512, minimumMb: 384 } };
}

export function featuresOf(version: AuthentikVersion): AuthentikFeatures {
    return {
        usesRedis: !atLeast(version, "2025.10"),
        storageRoot: atLeast(version, "2025.12") ? "/data" : "/media",
        shmSizeMb: atLeast(version, "2026.2") ? 512 : undefined,
        setsBaseUrl: atLeast(version, "2026.8"),
        listensOnIpv6ByDefault: atLeast(version, "2026.5"),
        oauthGrantTypes: atLeast(version, "2026.5"),
        healthStartPeriodSeconds: atLeast(version, "2026.8") ? 120 : 60,
        memory: memoryOf(version),
    };
}

export type UpgradeCheck =
    | { readonly ok: true }
    | { readonly ok: false; readonly reason: string; readonly steps: readonly string[] };

/**
 * authentik supports upgrades one release line at a time (refused outright from 2026.2 on) and no downgrades.
 * Patch releases within a line are always fine.
 */
export function checkUpgrade(deployed: AuthentikVersion, wanted: AuthentikVersion): UpgradeCheck {
    if (compareVersions(wanted, deployed) < 0) {
        return {
            ok: false,
            reason: `downgrade from ${deployed.tag} to ${wanted.tag} is not supported by authentik`,
            steps: [
                `keep authentik.version at ${deployed.tag} or newer`,
                "or restore the pre-upgrade dump (scripts/restore.sh) and set authentik-sso:upgrades.allowDowngrade to true for that one update",
            ],
        };
    }
    const from = SUPPORTED_RELEASE_LINES.indexOf(deployed.line as ReleaseLine);
    const to = SUPPORTED_RELEASE_LINES.indexOf(wanted.line as ReleaseLine);
    if (from < 0) {
        return {
            ok: false,
            reason: `the deployed release line ${deployed.line} is not one this program knows (${SUPPORTED_RELEASE_LINES.join(", ")})`,
            steps: ["upgrade it by hand to a supported line, following authentik's release notes, then run pulumi up"],
        };
    }
    if (to - from <= 1) {
        return { ok: true };
    }
    const steps = SUPPORTED_RELEASE_LINES.slice(from + 1, to + 1).map(
        (line) => `set authentik.version to the newest ${line}.x and run pulumi up`,
    );
    return {
        ok: false,
        reason: `upgrade from ${deployed.tag} to ${wanted.tag} skips release lines (${SUPPORTED_RELEASE_LINES.slice(from + 1, to).join(", ")})`,
        steps,
    };
}
