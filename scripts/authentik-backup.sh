#!/bin/sh
# authentik backups: a PostgreSQL dump and an archive of authentik's files, kept for RETENTION_DAYS.
#
# Runs inside the backup container (busybox sh on Alpine) and, for the restore, on any machine with the
# PostgreSQL client tools. POSIX sh only.
#
#   authentik-backup run [LABEL]        dump + archive now; prune only after both succeeded
#   authentik-backup startup            take the pre-upgrade dump if AUTHENTIK_VERSION changed, then report ready
#   authentik-backup loop               startup, then run every day at BACKUP_TIME (HH:MM, UTC; "off": never)
#   authentik-backup prune              delete daily backups older than RETENTION_DAYS (never the newest good one;
#                                       pre-upgrade and hand-labelled backups stay until removed by hand)
#   authentik-backup health             exit 0 while the last scheduled backup succeeded
#   authentik-backup ready VERSION      exit 0 once started for VERSION, its pre-upgrade dump taken
#   authentik-backup restore-db FILE    restore a dump into PGDATABASE (replaces its contents)
#   authentik-backup restore-files FILE unpack an archive into FILES_ROOT (replaces its contents)
#
# Settings (environment): BACKUP_DIR (/backups), FILES_ROOT (/sources), RETENTION_DAYS (7), BACKUP_TIME (03:00),
# AUTHENTIK_VERSION (the version being deployed), and libpq's PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
set -eu

BACKUP_DIR=${BACKUP_DIR:-/backups}
FILES_ROOT=${FILES_ROOT:-/sources}
RETENTION_DAYS=${RETENTION_DAYS:-7}
BACKUP_TIME=${BACKUP_TIME:-03:00}
STATE_DIR=${STATE_DIR:-$BACKUP_DIR/.state}
STARTED_MARKER=${STARTED_MARKER:-/tmp/authentik-backup-started}
# A day and a bit: the health check turns red when a daily run was missed or failed.
MAX_AGE_SECONDS=${MAX_AGE_SECONDS:-93600}

log() {
    printf '%s authentik-backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

fail() {
    log "FAILED: $*"
    mkdir -p "$STATE_DIR"
    date -u +%s >"$STATE_DIR/last-failure"
    exit 1
}

newest() {
    # Names carry a UTC timestamp and globs expand sorted, so the last match is the newest.
    latest=""
    for path in "$BACKUP_DIR"/$1; do
        [ -e "$path" ] && latest=$(basename "$path")
    done
    printf '%s' "$latest"
}

run_backup() {
    label=${1:-daily}
    case "$label" in
    *[!A-Za-z0-9._-]*) fail "label '$label' may hold only letters, digits, '.', '_' and '-'" ;;
    esac
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    mkdir -p "$BACKUP_DIR" "$STATE_DIR"
    umask 077
    partial_dump="$BACKUP_DIR/.partial-$stamp.dump"
    partial_files="$BACKUP_DIR/.partial-$stamp.tar.gz"
    trap 'rm -f "$partial_dump" "$partial_files"' EXIT INT TERM

    log "dumping database ${PGDATABASE:-?} on ${PGHOST:-local socket}"
    pg_dump --format=custom --compress=6 --file="$partial_dump" || fail "pg_dump exited with an error; older backups were left untouched"
    # A dump cut short is not a readable archive: list its table of contents before trusting it.
    pg_restore --list "$partial_dump" >/dev/null || fail "the new dump is unreadable; older backups were left untouched"
    mv "$partial_dump" "$BACKUP_DIR/authentik-db-$stamp-$label.dump"

    if [ -d "$FILES_ROOT" ]; then
        log "archiving $FILES_ROOT"
        tar -czf "$partial_files" -C "$FILES_ROOT" . || fail "archiving $FILES_ROOT failed; older backups were left untouched"
        gzip -t "$partial_files" || fail "the new archive is corrupt; older backups were left untouched"
        mv "$partial_files" "$BACKUP_DIR/authentik-files-$stamp-$label.tar.gz"
    fi
    trap - EXIT INT TERM

    date -u +%s >"$STATE_DIR/last-success"
    rm -f "$STATE_DIR/last-failure"
    log "backup $stamp-$label done"
    prune
}

prune() {
    case "$RETENTION_DAYS" in
    '' | *[!0-9]*) fail "RETENTION_DAYS must be a whole number of days, got '$RETENTION_DAYS'" ;;
    esac
    keep_db=$(newest 'authentik-db-*.dump')
    keep_files=$(newest 'authentik-files-*.tar.gz')
    minutes=$((RETENTION_DAYS * 1440))
    # Only the scheduled backups (and their retries) expire: the pre-upgrade dump is what a rollback restores.
    find "$BACKUP_DIR" -maxdepth 1 -type f \( -name 'authentik-db-*-daily.dump' -o -name 'authentik-files-*-daily.tar.gz' \
        -o -name 'authentik-db-*-retry.dump' -o -name 'authentik-files-*-retry.tar.gz' \) -mmin +"$minutes" |
        while IFS= read -r path; do
            name=$(basename "$path")
            if [ "$name" = "$keep_db" ] || [ "$name" = "$keep_files" ]; then
                continue
            fi
            log "pruning $name (older than $RETENTION_DAYS days)"
            rm -f "$path"
        done
}

health() {
    if [ ! -f "$STARTED_MARKER" ]; then
        # Still taking the pre-upgrade dump: stay unhealthy, so authentik is not replaced before it is done.
        echo "starting"
        exit 1
    fi
    now=$(date -u +%s)
    success=$(cat "$STATE_DIR/last-success" 2>/dev/null || echo 0)
    started=$(cat "$STARTED_MARKER")
    if [ -f "$STATE_DIR/last-failure" ]; then
        echo "the last backup failed (at $(cat "$STATE_DIR/last-failure") seconds since 1970); see the container log"
        exit 1
    fi
    if [ "$BACKUP_TIME" != "off" ] && [ $((now - success)) -gt "$MAX_AGE_SECONDS" ] && [ $((now - started)) -gt "$MAX_AGE_SECONDS" ]; then
        echo "no successful backup in the last $MAX_AGE_SECONDS seconds"
        exit 1
    fi
    echo "ok"
}

# authentik cannot be downgraded and upgrades run migrations: keep a dump of the database as it was before.
pre_upgrade_dump() {
    [ -n "${AUTHENTIK_VERSION:-}" ] || return 0
    mkdir -p "$STATE_DIR"
    recorded=$(cat "$STATE_DIR/authentik-version" 2>/dev/null || true)
    if [ -n "$recorded" ] && [ "$recorded" != "$AUTHENTIK_VERSION" ]; then
        log "authentik changes from $recorded to $AUTHENTIK_VERSION: taking the pre-upgrade dump"
        (run_backup "pre-upgrade-$recorded-to-$AUTHENTIK_VERSION") || fail "pre-upgrade dump failed; authentik stays at $recorded"
    fi
    echo "$AUTHENTIK_VERSION" >"$STATE_DIR/authentik-version"
}

# Ready for the deployment of VERSION: started (so the pre-upgrade dump, if one was due, is done) for that version.
ready() {
    wanted=${1:?usage: authentik-backup ready VERSION}
    [ -f "$STARTED_MARKER" ] || { echo "still starting (taking the pre-upgrade dump if one is due)"; exit 1; }
    recorded=$(cat "$STATE_DIR/authentik-version" 2>/dev/null || true)
    [ "$recorded" = "$wanted" ] || { echo "started for authentik ${recorded:-(none)}, not $wanted"; exit 1; }
    echo "ready for authentik $wanted"
}

startup() {
    case "$BACKUP_TIME" in
    off | [0-2][0-9]:[0-5][0-9]) ;;
    *) fail "BACKUP_TIME must be HH:MM or off, got '$BACKUP_TIME'" ;;
    esac
    rm -f "$STARTED_MARKER"
    # A run killed before its trap could clean up (SIGKILL, a host crash) leaves its partial files behind.
    rm -f "$BACKUP_DIR"/.partial-*
    pre_upgrade_dump
    if [ -f "$STATE_DIR/last-failure" ]; then
        if [ "$BACKUP_TIME" = off ]; then
            # Daily backups are off: an old failure says nothing any more.
            rm -f "$STATE_DIR/last-failure"
        else
            # A recorded failure would keep this new container unhealthy until the next daily run: retry now.
            log "the last backup failed; retrying now"
            (run_backup retry) || log "the retry failed too; the health check reports it until a backup succeeds"
        fi
    fi
    date -u +%s >"$STARTED_MARKER"
}

loop() {
    startup
    log "daily backup at $BACKUP_TIME (UTC), keeping $RETENTION_DAYS days in $BACKUP_DIR"
    last_day=""
    while true; do
        if [ "$(date -u +%H:%M)" = "$BACKUP_TIME" ] && [ "$(date -u +%Y-%m-%d)" != "$last_day" ]; then
            last_day=$(date -u +%Y-%m-%d)
            # A failed run is logged and marked for the health check; the schedule goes on.
            (run_backup daily) || true
        fi
        sleep 20
    done
}

restore_db() {
    dump=${1:?usage: authentik-backup restore-db FILE}
    [ -r "$dump" ] || fail "cannot read $dump"
    pg_restore --list "$dump" >/dev/null || fail "$dump is not a readable pg_dump archive"
    log "restoring $dump into ${PGDATABASE:?PGDATABASE must be set}"
    sql=$(mktemp "${TMPDIR:-/tmp}/authentik-restore.XXXXXX")
    trap 'rm -f "$sql"' EXIT INT TERM
    # The whole script first: a pipe would commit whatever arrived if pg_restore failed half-way.
    pg_restore --no-owner --file="$sql" "$dump" || fail "pg_restore could not read $dump"
    # Rebuild the schema from scratch, so tables a later (failed) migration added do not survive the restore.
    create_schema="CREATE SCHEMA public;"
    if grep -qx 'CREATE SCHEMA public;' "$sql"; then
        create_schema=""
    fi
    # One transaction: the database is replaced completely, or not at all.
    { printf 'DROP SCHEMA IF EXISTS public CASCADE;\n%s\n' "$create_schema"; cat "$sql"; } |
        psql --no-psqlrc --quiet --single-transaction -v ON_ERROR_STOP=1 --dbname="$PGDATABASE" >/dev/null ||
        fail "the restore failed; the database was left as it was"
    rm -f "$sql"
    trap - EXIT INT TERM
    log "database restored"
}

restore_files() {
    archive=${1:?usage: authentik-backup restore-files FILE}
    [ -r "$archive" ] || fail "cannot read $archive"
    gzip -t "$archive" || fail "$archive is corrupt"
    staging=$(mktemp -d "${TMPDIR:-/tmp}/authentik-files.XXXXXX")
    trap 'rm -rf "$staging"' EXIT INT TERM
    # Unpack aside first: a broken archive must not leave the live folders half-emptied.
    tar -xzf "$archive" -C "$staging" || fail "could not unpack $archive; the files were left as they were"
    found=""
    for unpacked in "$staging"/*/; do
        [ -d "$unpacked" ] && found=yes
    done
    [ -n "$found" ] || fail "$archive holds no folders to restore; the files were left as they were"
    mkdir -p "$FILES_ROOT"
    for unpacked in "$staging"/*/; do
        [ -d "$unpacked" ] || continue
        name=$(basename "$unpacked")
        target="$FILES_ROOT/$name"
        if [ "$name" = media ] && [ ! -d "$FILES_ROOT/media" ] && [ -d "$FILES_ROOT/data" ]; then
            # An archive from before 2025.12 restored into 2025.12 or later: the files now live in data/media.
            target="$FILES_ROOT/data/media"
        fi
        mkdir -p "$target"
        # The folders are volume mount points: replace their contents, not the folders.
        find "$target" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
        cp -a "$unpacked". "$target/"
    done
    rm -rf "$staging"
    trap - EXIT INT TERM
    log "files restored into $FILES_ROOT"
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
run) run_backup "$@" ;;
startup) startup ;;
loop) loop ;;
prune) prune ;;
health) health ;;
ready) ready "$@" ;;
restore-db) restore_db "$@" ;;
restore-files) restore_files "$@" ;;
*)
    echo "usage: authentik-backup run [LABEL] | startup | loop | prune | health | ready VERSION | restore-db FILE | restore-files FILE" >&2
    exit 2
    ;;
esac
