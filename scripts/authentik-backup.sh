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
#   authentik-backup offsite-push       push the backups not yet off-site, forget old snapshots, check weekly
#   authentik-backup offsite-init       create the repository (a path repository is never created by itself)
#   authentik-backup offsite-check      read the whole off-site repository and check it
#   authentik-backup offsite-snapshots  list the off-site snapshots of this stack
#   authentik-backup offsite-fetch [SNAPSHOT]  restore a snapshot (default: latest) into BACKUP_DIR/offsite-restore,
#                                       verify it, print dump=, archive=, manifest=, secretKey= (relative to BACKUP_DIR)
#
# Settings (environment): BACKUP_DIR (/backups), FILES_ROOT (/sources), RETENTION_DAYS (7), BACKUP_TIME (03:00),
# AUTHENTIK_VERSION (the version being deployed), and libpq's PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
# Off-site copies (restic), when RESTIC_REPOSITORY is set (directly or in OFFSITE_ENV_FILE, which is sourced):
# RESTIC_PASSWORD and the backend's credentials, RESTIC (the binary), RESTIC_HOST (the host name the snapshots carry),
# KEEP_DAILY/KEEP_WEEKLY/KEEP_MONTHLY (7/4/6), CHECK_DAY (sunday), STACK_NAME, POSTGRES_IMAGE, AUTHENTIK_SECRET_KEY
# (stored in every snapshot), OFFSITE_PROBE_SECONDS (60), OFFSITE_RETRY_SECONDS (3600). BACKUP_STAMP sets a backup's
# name and so its snapshot's time (tests).
set -eu

BACKUP_DIR=${BACKUP_DIR:-/backups}
FILES_ROOT=${FILES_ROOT:-/sources}
RETENTION_DAYS=${RETENTION_DAYS:-7}
BACKUP_TIME=${BACKUP_TIME:-03:00}
STATE_DIR=${STATE_DIR:-$BACKUP_DIR/.state}
STARTED_MARKER=${STARTED_MARKER:-/tmp/authentik-backup-started}
# A day and a bit: the health check turns red when a daily run was missed or failed.
MAX_AGE_SECONDS=${MAX_AGE_SECONDS:-93600}
OFFSITE_ENV_FILE=${OFFSITE_ENV_FILE:-}
RESTIC=${RESTIC:-restic}
RESTIC_HOST=${RESTIC_HOST:-authentik-sso}
KEEP_DAILY=${KEEP_DAILY:-7}
KEEP_WEEKLY=${KEEP_WEEKLY:-4}
KEEP_MONTHLY=${KEEP_MONTHLY:-6}
CHECK_DAY=${CHECK_DAY:-sunday}
OFFSITE_RETRY_SECONDS=${OFFSITE_RETRY_SECONDS:-3600}
OFFSITE_PROBE_SECONDS=${OFFSITE_PROBE_SECONDS:-60}
# Set while the container starts: backups are queued, and the loop pushes them once the container counts as started.
OFFSITE_DEFER=""
# Snapshot times and every date here are UTC.
export TZ=UTC
PENDING_DIR=$STATE_DIR/offsite-pending
STAGING=$BACKUP_DIR/.offsite-staging

offsite=""
if [ -n "$OFFSITE_ENV_FILE" ] && [ -r "$OFFSITE_ENV_FILE" ]; then
    # shellcheck disable=SC1090 # written by the stack: export NAME='value' lines
    . "$OFFSITE_ENV_FILE"
fi
if [ -n "${RESTIC_REPOSITORY:-}" ]; then
    offsite=yes
    export RESTIC_REPOSITORY
fi

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
    stamp=${BACKUP_STAMP:-$(date -u +%Y%m%dT%H%M%SZ)}
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
    if [ -n "$offsite" ]; then
        mkdir -p "$PENDING_DIR"
        : >"$PENDING_DIR/$stamp-$label"
        if [ -n "$OFFSITE_DEFER" ]; then
            log "backup $stamp-$label is queued for the off-site copy, right after the container has started"
            return 0
        fi
        if ! offsite_push; then
            # Nothing local goes before it is off-site: the next run pushes this backup again.
            log "local backups are kept until the off-site copy succeeds"
            return 0
        fi
    fi
    prune
}

offsite_failed() {
    log "FAILED (off-site): $*"
    mkdir -p "$STATE_DIR"
    date -u +%s >"$STATE_DIR/offsite-last-failure"
    printf '%s\n' "$*" >"$STATE_DIR/offsite-last-error"
    return 1
}

# Which repository, opened with which password: a new repository or password must prove itself again.
offsite_identity() {
    printf '%s\n%s\n' "$RESTIC_REPOSITORY" "${RESTIC_PASSWORD:-}" | sha256sum | cut -d' ' -f1
}

# The repository was opened with this configuration before: a failure now is an outage, not a misconfiguration.
offsite_proven() {
    [ "$(cat "$STATE_DIR/offsite-proven" 2>/dev/null || true)" = "$(offsite_identity)" ]
}

# Opens the repository (a probe: at most OFFSITE_PROBE_SECONDS, restic itself would retry an unreachable store for
# 15 minutes), and creates it only where it is known to be missing and never existed for this stack. restic 0.17 and
# later exit 10 when there is no repository and 12 on a wrong password; older ones (Debian's, in the tests) exit 1
# for both, so there only a local path's "no such file or directory" counts as missing. A path repository is never
# created by itself: an unmounted share would get a repository on the VM's own disk; `offsite-init` creates it.
offsite_open() {
    mkdir -p "$STATE_DIR"
    errors="$STATE_DIR/restic-open.err"
    code=0
    timeout "$OFFSITE_PROBE_SECONDS" "$RESTIC" cat config >/dev/null 2>"$errors" || code=$?
    reason=$(grep -m 1 -i 'fatal' "$errors" || head -n 1 "$errors" || true)
    case "$code" in
    0)
        offsite_identity >"$STATE_DIR/offsite-proven"
        rm -f "$STATE_DIR/offsite-last-failure" "$STATE_DIR/offsite-last-error"
        return 0
        ;;
    10) ;;
    12) offsite_failed "wrong password for the repository (restic: $reason)"; return 1 ;;
    124 | 143) offsite_failed "the repository did not answer within $OFFSITE_PROBE_SECONDS s"; return 1 ;;
    *)
        case "$RESTIC_REPOSITORY" in
        /*) grep -q 'no such file or directory' "$errors" || { offsite_failed "the repository cannot be opened (restic exit $code: $reason)"; return 1; } ;;
        *) offsite_failed "the repository cannot be opened (restic exit $code: $reason)"; return 1 ;;
        esac
        ;;
    esac
    if offsite_proven; then
        # An unmounted share or an emptied bucket: a new repository in its place would hide the loss.
        offsite_failed "the repository this stack used before is gone ($reason); it is not created again"
        return 1
    fi
    case "$RESTIC_REPOSITORY" in
    /*)
        offsite_failed "there is no repository at $RESTIC_REPOSITORY: if the share is mounted there, create it once with: docker exec <name>-backup authentik-backup offsite-init"
        return 1
        ;;
    esac
    offsite_create
}

offsite_create() {
    log "initialising the off-site repository"
    "$RESTIC" init >/dev/null 2>"$errors" || {
        cat "$errors" >&2
        offsite_failed "the repository cannot be created: $(grep -m 1 -i 'fatal' "$errors" || head -n 1 "$errors")"
        return 1
    }
    offsite_identity >"$STATE_DIR/offsite-proven"
    rm -f "$STATE_DIR/offsite-last-failure" "$STATE_DIR/offsite-last-error"
}

# One snapshot per backup: its dump and files archive, a manifest and the secret key, under one fixed folder name,
# so that every snapshot has the same layout.
offsite_push_one() {
    name=$1
    label=${name#*Z-}
    case "$label" in
    daily | retry) tag=daily ;;
    pre-upgrade-*) tag=pre-upgrade ;;
    *) tag=manual ;;
    esac
    rm -rf "$STAGING"
    mkdir -p "$STAGING"
    found=""
    for file in "$BACKUP_DIR/authentik-db-$name.dump" "$BACKUP_DIR/authentik-files-$name.tar.gz"; do
        if [ -e "$file" ]; then
            ln "$file" "$STAGING/" 2>/dev/null || cp -p "$file" "$STAGING/"
            found=yes
        fi
    done
    if [ -z "$found" ]; then
        log "backup $name is gone locally; nothing to push"
        rm -rf "$STAGING"
        return 0
    fi
    printf '{"stack":"%s","backup":"%s","authentikVersion":"%s","postgresImage":"%s","pushedAt":"%s"}\n' \
        "${STACK_NAME:-}" "$name" "${AUTHENTIK_VERSION:-}" "${POSTGRES_IMAGE:-}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$STAGING/manifest.json"
    if [ -n "${AUTHENTIK_SECRET_KEY:-}" ]; then
        # No newline: `pulumi config set --secret … < authentik-secret-key` takes it as it is.
        (umask 077 && printf '%s' "$AUTHENTIK_SECRET_KEY" >"$STAGING/authentik-secret-key")
    fi
    # The snapshot carries the backup's own time, not the push's: backups queued during an outage keep their days,
    # and the keep policy counts them as the days they are.
    taken=$(printf '%s' "$name" | sed -n 's/^\([0-9]\{4\}\)\([0-9]\{2\}\)\([0-9]\{2\}\)T\([0-9]\{2\}\)\([0-9]\{2\}\)\([0-9]\{2\}\)Z-.*/\1-\2-\3 \4:\5:\6/p')
    log "pushing $name off-site"
    "$RESTIC" backup --quiet --host "$RESTIC_HOST" --tag authentik-sso --tag "$tag" --tag "backup=$name" ${taken:+--time "$taken"} "$STAGING" >/dev/null || return 1
    rm -rf "$STAGING"
}

offsite_push() {
    [ -n "$offsite" ] || return 0
    mkdir -p "$STATE_DIR" "$PENDING_DIR"
    # One push at a time: the schedule, its hourly retries and a push by hand share the staging folder. (startup
    # removes a lock that a killed container left.)
    lock="$STATE_DIR/offsite.lock"
    if ! mkdir "$lock" 2>/dev/null; then
        log "another off-site push is running (or $lock was left behind)"
        return 1
    fi
    trap 'rm -rf "$lock" "$STAGING"' EXIT INT TERM
    pushed=0
    offsite_push_locked || pushed=$?
    rm -rf "$lock"
    trap - EXIT INT TERM
    return "$pushed"
}

offsite_push_locked() {
    offsite_open || return 1
    for marker in "$PENDING_DIR"/*; do
        [ -e "$marker" ] || continue
        name=$(basename "$marker")
        offsite_push_one "$name" || { offsite_failed "pushing $name failed; it stays queued"; return 1; }
        rm -f "$marker"
    done
    # The daily snapshots follow the keep policy; pre-upgrade and hand-labelled ones are kept.
    "$RESTIC" forget --quiet --host "$RESTIC_HOST" --tag daily --keep-daily "$KEEP_DAILY" --keep-weekly "$KEEP_WEEKLY" --keep-monthly "$KEEP_MONTHLY" --prune >/dev/null ||
        { offsite_failed "restic forget --prune failed"; return 1; }
    today=$(date -u +%Y-%m-%d)
    if [ "$(date -u +%A | tr '[:upper:]' '[:lower:]')" = "$CHECK_DAY" ] && [ "$(cat "$STATE_DIR/offsite-last-check" 2>/dev/null || true)" != "$today" ]; then
        # A fifth of the data each week: all of it over five weeks.
        subset=$(( ($(date -u +%j | sed 's/^0*//') / 7) % 5 + 1 ))
        log "weekly off-site check, reading data subset $subset/5"
        "$RESTIC" check --read-data-subset "$subset/5" >/dev/null || { offsite_failed "restic check found a problem in the repository"; return 1; }
        echo "$today" >"$STATE_DIR/offsite-last-check"
    fi
    date -u +%s >"$STATE_DIR/offsite-last-success"
    rm -f "$STATE_DIR/offsite-last-failure" "$STATE_DIR/offsite-last-error"
    log "off-site copy done"
}

offsite_pending() {
    for marker in "$PENDING_DIR"/*; do
        [ -e "$marker" ] && return 0
    done
    return 1
}

# A configuration that never worked (wrong password, credentials or address): waiting will not help. (`ready` probes
# again first, so a passing failure at the first start costs one `pulumi up`, not a day.)
offsite_unusable() {
    [ -n "$offsite" ] && [ -f "$STATE_DIR/offsite-last-failure" ] && ! offsite_proven || return 1
    echo "the off-site repository cannot be used: $(cat "$STATE_DIR/offsite-last-error" 2>/dev/null || echo 'see the container log')"
}

# What the health check reports: an unusable configuration at once; a failed copy once the container has had an
# hour to retry it (so that a deployment during an outage of the store goes through); no copy for MAX_AGE_SECONDS.
offsite_problem() {
    [ -n "$offsite" ] || return 1
    offsite_unusable && return 0
    now=$(date -u +%s)
    last=$(cat "$STATE_DIR/offsite-last-success" 2>/dev/null || echo 0)
    started=$(cat "$STARTED_MARKER" 2>/dev/null || echo "$now")
    if [ -f "$STATE_DIR/offsite-last-failure" ] && [ $((now - started)) -ge "$OFFSITE_RETRY_SECONDS" ]; then
        echo "the last off-site copy failed: $(cat "$STATE_DIR/offsite-last-error" 2>/dev/null || echo 'see the container log')"
        return 0
    fi
    if [ $((now - last)) -gt "$MAX_AGE_SECONDS" ] && [ $((now - started)) -gt "$MAX_AGE_SECONDS" ]; then
        echo "no off-site copy in the last $MAX_AGE_SECONDS seconds: $(cat "$STATE_DIR/offsite-last-error" 2>/dev/null || echo 'none was due')"
        return 0
    fi
    return 1
}

offsite_check() {
    [ -n "$offsite" ] || fail "off-site backups are not configured"
    "$RESTIC" check --read-data || { offsite_failed "restic check found a problem in the repository"; exit 1; }
}

offsite_fetch() {
    [ -n "$offsite" ] || fail "off-site backups are not configured (backup.offsite)"
    snapshot=${1:-latest}
    target="$BACKUP_DIR/offsite-restore"
    rm -rf "$target"
    mkdir -p "$target"
    log "restoring off-site snapshot $snapshot into $target"
    if [ "$snapshot" = latest ]; then
        "$RESTIC" restore latest --host "$RESTIC_HOST" --target "$target" >&2 || fail "restic could not restore the latest snapshot of $RESTIC_HOST"
    else
        "$RESTIC" restore "$snapshot" --target "$target" >&2 || fail "restic could not restore snapshot $snapshot"
    fi
    dump=$(find "$target" -type f -name 'authentik-db-*.dump' | head -n 1)
    archive=$(find "$target" -type f -name 'authentik-files-*.tar.gz' | head -n 1)
    [ -n "$dump" ] || fail "snapshot $snapshot holds no database dump"
    pg_restore --list "$dump" >/dev/null || fail "the dump in snapshot $snapshot is unreadable"
    if [ -n "$archive" ]; then
        gzip -t "$archive" || fail "the files archive in snapshot $snapshot is corrupt"
    fi
    echo "dump=${dump#"$BACKUP_DIR"/}"
    [ -z "$archive" ] || echo "archive=${archive#"$BACKUP_DIR"/}"
    manifest=$(find "$target" -type f -name manifest.json | head -n 1)
    [ -z "$manifest" ] || echo "manifest=${manifest#"$BACKUP_DIR"/}"
    key=$(find "$target" -type f -name authentik-secret-key | head -n 1)
    [ -z "$key" ] || echo "secretKey=${key#"$BACKUP_DIR"/}"
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
    if problem=$(offsite_problem); then
        echo "$problem"
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
    if offsite_unusable >/dev/null && ! offsite_open 2>/dev/null && problem=$(offsite_unusable); then
        # Waiting would not help: the deployment stops here with the reason (exit code 2 is "never" to the gate).
        echo "$problem"
        exit 2
    fi
    echo "ready for authentik $wanted"
}

startup() {
    case "$BACKUP_TIME" in
    off | [0-2][0-9]:[0-5][0-9]) ;;
    *) fail "BACKUP_TIME must be HH:MM or off, got '$BACKUP_TIME'" ;;
    esac
    rm -f "$STARTED_MARKER"
    OFFSITE_DEFER=yes
    # A run killed before its trap could clean up (SIGKILL, a host crash) leaves its partial files behind.
    rm -f "$BACKUP_DIR"/.partial-*
    rm -rf "$STATE_DIR/offsite.lock" "$STAGING"
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
    if [ -n "$offsite" ]; then
        # Opens (or creates) the repository now, so that wrong credentials stop this deployment instead of the first
        # night's copy. Only a probe: queued backups are pushed by the loop, once the container has started.
        offsite_open || log "the off-site repository cannot be used yet"
    fi
    date -u +%s >"$STARTED_MARKER"
    OFFSITE_DEFER=""
}

loop() {
    startup
    log "daily backup at $BACKUP_TIME (UTC), keeping $RETENTION_DAYS days in $BACKUP_DIR"
    last_day=""
    # 0: what the start queued goes off-site at once.
    last_retry=0
    while true; do
        if [ "$(date -u +%H:%M)" = "$BACKUP_TIME" ] && [ "$(date -u +%Y-%m-%d)" != "$last_day" ]; then
            last_day=$(date -u +%Y-%m-%d)
            # A failed run is logged and marked for the health check; the schedule goes on.
            (run_backup daily) || true
        elif [ -n "$offsite" ] && [ $(($(date -u +%s) - last_retry)) -ge "$OFFSITE_RETRY_SECONDS" ]; then
            last_retry=$(date -u +%s)
            # An outage of the off-site store: what it missed goes up within the hour after it is back; a failed
            # probe is tried again, so the health check recovers with the store.
            if offsite_pending; then
                (offsite_push) || true
            elif [ -f "$STATE_DIR/offsite-last-failure" ]; then
                offsite_open || true
            fi
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
offsite-push) offsite_push ;;
offsite-init)
    [ -n "$offsite" ] || fail "off-site backups are not configured"
    mkdir -p "$STATE_DIR"
    errors="$STATE_DIR/restic-open.err"
    if "$RESTIC" cat config >/dev/null 2>&1; then echo "the repository exists already"; offsite_open; else offsite_create; fi
    ;;
offsite-check) offsite_check ;;
offsite-snapshots) [ -n "$offsite" ] || fail "off-site backups are not configured"; "$RESTIC" snapshots --host "$RESTIC_HOST" ;;
offsite-fetch) offsite_fetch "$@" ;;
*)
    echo "usage: authentik-backup run [LABEL] | startup | loop | prune | health | ready VERSION | restore-db FILE | restore-files FILE | offsite-push | offsite-init | offsite-check | offsite-snapshots | offsite-fetch [SNAPSHOT]" >&2
    exit 2
    ;;
esac
