#!/usr/bin/env bash
# Restores authentik from the backup container's files, in authentik's recovery order:
#   1. stop server and worker, 2. restore the database dump, 3. restore media/data, certs and custom templates,
#   4. start worker and server (same image tag and same AUTHENTIK_SECRET_KEY: both come from the Pulumi stack).
#
# Run it wherever `docker` reaches the authentik host: on the VM, or from your machine with
#   DOCKER_HOST=ssh://authentik@<vm address> scripts/restore.sh ...
#
# usage: scripts/restore.sh [--prefix NAME] [--yes] [--no-start] DB_DUMP FILES_ARCHIVE
#        scripts/restore.sh [--prefix NAME] [--yes] [--no-start] --from-offsite SNAPSHOT
#   DB_DUMP, FILES_ARCHIVE  file names in the backup folder, e.g. authentik-db-20261126T030000Z-daily.dump
#   --from-offsite SNAPSHOT an off-site snapshot (restic id, or latest: this stack's newest), fetched into the
#                           backup folder first (backup.offsite; `docker exec NAME-backup authentik-backup
#                           offsite-snapshots` lists them)
#   --prefix NAME           the stack's docker.namePrefix (default: authentik)
#   --yes                   do not ask for confirmation
#   --other-key             restore a snapshot taken with another AUTHENTIK_SECRET_KEY than the running one (users'
#                           ids in the applications change, sessions and signed links break)
#   --no-start              leave server and worker stopped: for a rollback, whose older version `pulumi up` then
#                           deploys (the running containers are the newer version, which would migrate the
#                           restored database forward again)
# HEALTH_TIMEOUT_SECONDS (600) is how long step 4 waits for the server to turn healthy.
set -euo pipefail

prefix=authentik
assume_yes=false
start_after=true
from_offsite=""
other_key=false
positional=()
while [ $# -gt 0 ]; do
    case "$1" in
    --prefix) prefix=${2:?--prefix needs a value}; shift 2 ;;
    --yes) assume_yes=true; shift ;;
    --no-start) start_after=false; shift ;;
    --from-offsite) from_offsite=${2:?--from-offsite needs a snapshot id, or latest}; shift 2 ;;
    --other-key) other_key=true; shift ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) positional+=("$1"); shift ;;
    esac
done
expected=2
[ -z "$from_offsite" ] || expected=0
if [ ${#positional[@]} -ne "$expected" ]; then
    echo "usage: $0 [--prefix NAME] [--yes] [--no-start] DB_DUMP FILES_ARCHIVE | --from-offsite SNAPSHOT" >&2
    exit 2
fi

backup="$prefix-backup"
server="$prefix-server"
worker="$prefix-worker"

step() { printf '\n== %s\n' "$*"; }

manifest=""
if [ -n "$from_offsite" ]; then
    step "fetching off-site snapshot $from_offsite into $backup:/backups/offsite-restore (nothing is changed yet)"
    fetched=$(docker exec "$backup" authentik-backup offsite-fetch "$from_offsite") || { echo "could not fetch snapshot $from_offsite; nothing was changed" >&2; exit 1; }
    # Paths inside the backup folder, as the backup container printed them.
    dump=$(sed -n 's/^dump=//p' <<<"$fetched")
    archive=$(sed -n 's/^archive=//p' <<<"$fetched")
    manifest=$(sed -n 's/^manifest=//p' <<<"$fetched")
    secret_key=$(sed -n 's/^secretKey=//p' <<<"$fetched")
    if [ -z "$archive" ]; then
        echo "snapshot $from_offsite holds no files archive; nothing was changed" >&2
        exit 1
    fi
    # The database holds values derived from and signed with the secret key (the user ids applications see, among
    # them): restoring under another key changes them. Compared as hashes; neither key is printed.
    if [ -n "$secret_key" ] && [ "$other_key" != true ]; then
        snapshot_key=$(docker exec "$backup" sha256sum "/backups/$secret_key" | cut -d' ' -f1)
        if running_key=$(docker exec "$server" sh -c 'printf %s "$AUTHENTIK_SECRET_KEY" | sha256sum' 2>/dev/null | cut -d' ' -f1) && [ -n "$running_key" ]; then
            if [ "$snapshot_key" != "$running_key" ]; then
                echo "snapshot $from_offsite was taken with another AUTHENTIK_SECRET_KEY than $server runs: set authentik.secretKey to the snapshot's key and pulumi up first (README, \"the state is lost too\"), or pass --other-key; nothing was changed" >&2
                exit 1
            fi
        else
            echo "note: $server is not running, so its secret key could not be compared with the snapshot's" >&2
        fi
    fi
else
    dump=$(basename "${positional[0]}")
    archive=$(basename "${positional[1]}")
fi
case "$dump" in *..*) echo "$dump leaves the backup folder" >&2; exit 2 ;; esac
case "$archive" in *..*) echo "$archive leaves the backup folder" >&2; exit 2 ;; esac
case "$(basename "$dump")" in authentik-db-*.dump) ;; *) echo "$dump is not a database dump (authentik-db-*.dump)" >&2; exit 2 ;; esac
case "$(basename "$archive")" in authentik-files-*.tar.gz) ;; *) echo "$archive is not a files archive (authentik-files-*.tar.gz)" >&2; exit 2 ;; esac

step "checking the backup container $backup"
docker exec "$backup" test -r "/backups/$dump" || { echo "/backups/$dump not found in $backup" >&2; exit 1; }
docker exec "$backup" test -r "/backups/$archive" || { echo "/backups/$archive not found in $backup" >&2; exit 1; }
image=$(docker inspect --format '{{.Image}}' "$backup")
network=$(docker inspect --format '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}' "$backup")
# The backup container mounts authentik's volumes read-only; the restore mounts the same volumes writable.
mounts=()
while read -r kind source destination; do
    case "$kind:$destination" in
    volume:/sources/*) mounts+=(--volume "$source:$destination") ;;
    bind:/backups) mounts+=(--volume "$source:/backups:ro") ;;
    esac
done < <(docker inspect --format '{{range .Mounts}}{{.Type}} {{if eq .Type "volume"}}{{.Name}}{{else}}{{.Source}}{{end}} {{.Destination}}{{println}}{{end}}' "$backup")
if [ ${#mounts[@]} -lt 2 ]; then
    echo "could not read the volumes of $backup" >&2
    exit 1
fi

echo "This replaces authentik's database and files with:"
echo "  database: $dump"
echo "  files:    $archive"
if [ -n "$manifest" ]; then
    echo "  taken by: $(docker exec "$backup" cat "/backups/$manifest")"
fi
echo "Users are logged out while $server and $worker are stopped."
if [ "$assume_yes" != true ]; then
    read -r -p "Type 'restore' to go on: " answer
    [ "$answer" = restore ] || { echo "nothing was changed"; exit 1; }
fi

step "1/4 stopping $server and $worker"
docker stop "$server" "$worker"

step "2/4 restoring the database"
docker exec "$backup" authentik-backup restore-db "/backups/$dump"

step "3/4 restoring media/data, certs and custom templates"
docker exec "$backup" cat /usr/local/bin/authentik-backup |
    docker run --rm -i --user root --network "$network" "${mounts[@]}" --entrypoint /bin/sh "$image" -s restore-files "/backups/$archive"

if [ "$start_after" != true ]; then
    step "4/4 skipped: $server and $worker stay stopped"
    echo "Next (README, Restore): with authentik.version set to the version of this backup and"
    echo "  pulumi config set --path 'authentik-sso:upgrades.allowDowngrade' true"
    echo "run pulumi up (it replaces server and worker with that version and starts them), then"
    echo "  pulumi config set --path 'authentik-sso:upgrades.allowDowngrade' false"
    echo "Until then: no pulumi refresh, no deploy from CI (either would start the newer version on this database)."
    exit 0
fi

step "4/4 starting $worker and $server"
docker start "$worker" "$server"
timeout_seconds=${HEALTH_TIMEOUT_SECONDS:-600}
deadline=$((SECONDS + timeout_seconds))
while :; do
    status=$(docker inspect --format '{{.State.Health.Status}}' "$server")
    if [ "$status" = healthy ]; then
        echo "authentik is healthy again"
        exit 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        break
    fi
    sleep 10
done
echo "$server is not healthy after $timeout_seconds s (last status: $status): docker logs $server" >&2
exit 1
