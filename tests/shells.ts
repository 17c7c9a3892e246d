/**
 * The two shells the backup script must run under: dash with GNU tools (Debian, the VM), and busybox sh with only
 * busybox applets (the Alpine-based PostgreSQL image the backup container runs).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hasCommand } from "./tools";

/** Every tool scripts/authentik-backup.sh calls besides the PostgreSQL client and restic: busybox has them all. */
const BUSYBOX_APPLETS = [
    "basename", "cat", "cp", "cut", "date", "find", "grep", "gzip", "head", "ln", "ls", "mkdir", "mktemp", "mv", "printf",
    "rm", "sed", "sha256sum", "sleep", "sort", "tail", "tar", "timeout", "tr",
];

export interface Shell {
    name: string;
    command: string[];
    /** Put before PATH: the applets that stand in for the GNU tools. */
    pathPrefix?: string;
}

function busyboxShell(): Shell {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "busybox-applets-"));
    for (const applet of BUSYBOX_APPLETS) {
        fs.symlinkSync("/bin/busybox", path.join(dir, applet));
    }
    return { name: "busybox sh and applets (as in Alpine)", command: ["busybox", "sh"], pathPrefix: dir };
}

/** Dash, and busybox where it is installed (CI installs it). */
export function backupShells(): Shell[] {
    const shells: Shell[] = [{ name: "dash and GNU tools", command: ["sh"] }];
    if (hasCommand("busybox") || process.env.CI === "true") {
        shells.push(busyboxShell());
    }
    return shells;
}

export function shellPath(shell: Shell, ...more: string[]): string {
    return [shell.pathPrefix, ...more, process.env.PATH].filter(Boolean).join(":");
}
