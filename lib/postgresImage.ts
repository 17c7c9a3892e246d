/**
 * What a PostgreSQL image reference says about the server inside it. The major version decides where the image keeps
 * its data and whether a change of image needs a dump and restore, so config validation insists that it can be read.
 */

/** The major version a tag starts with (`16.14-alpine` → 16), or undefined when the tag names none (`alpine3.22`). */
export function postgresMajorVersion(image: string): number | undefined {
    // registry:port/repo:tag@sha256:digest: the tag is the part after the last path segment's colon, before any
    // digest, and a major is the digits it starts with (a registry's port is followed by a slash, a digest's colon
    // comes after the @, and alpine3.22 names no major).
    const major = /^[^@]*:(\d+)[^:/@]*(?:@|$)/.exec(image);
    return major ? Number(major[1]) : undefined;
}

/** PostgreSQL 18 images keep data one level up (authentik issue #22016). */
export function postgresDataPath(image: string): string {
    const major = postgresMajorVersion(image);
    return major !== undefined && major >= 18 ? "/var/lib/postgresql" : "/var/lib/postgresql/data";
}
