#!/bin/sh
# Prepares authentik's storage root (/data, from 2025.12) before server and worker start. Run as root in a
# throwaway container with the data volume at DATA_DIR and the old media volume, read-only, at LEGACY_MEDIA_DIR.
#
# 1. Docker fills a new named volume with the image's /data, which holds a symlink media -> /media: uploads would
#    follow it into each container's own /media and be lost with the container. The symlink is replaced by a folder.
# 2. Once, the files of the media volume (where versions before 2025.12 kept them) are copied into DATA_DIR/media,
#    as authentik's 2025.12 upgrade note moves ./media to ./data/media. The media volume is left as it was, so the
#    pre-upgrade backup and a rollback keep their files. The copy goes to a staging folder first and is moved into
#    place whole: a copy cut short is never mistaken for a finished one.
# 3. Everything belongs to authentik (OWNER, uid 1000 in its image), which runs without root.
#
# Settings (environment): DATA_DIR (/data), LEGACY_MEDIA_DIR (/legacy-media), OWNER (1000:1000).
set -eu

DATA_DIR=${DATA_DIR:-/data}
LEGACY_MEDIA_DIR=${LEGACY_MEDIA_DIR:-/legacy-media}
OWNER=${OWNER:-1000:1000}
media="$DATA_DIR/media"
marker="$DATA_DIR/.authentik-sso-media-copied"
staging="$DATA_DIR/.authentik-sso-media-staging"

log() {
    printf 'prepare-data: %s\n' "$*"
}

is_empty() {
    [ -z "$(ls -A "$1" 2>/dev/null)" ]
}

[ -d "$DATA_DIR" ] || { echo "prepare-data: $DATA_DIR is not mounted" >&2; exit 1; }

if [ -L "$media" ]; then
    log "replacing the image's media symlink ($(readlink "$media")) with a folder"
    rm "$media"
fi
mkdir -p "$media"

if [ ! -e "$marker" ]; then
    if [ -d "$LEGACY_MEDIA_DIR" ] && ! is_empty "$LEGACY_MEDIA_DIR"; then
        if is_empty "$media"; then
            rm -rf "$staging"
            mkdir "$staging"
            cp -a "$LEGACY_MEDIA_DIR/." "$staging/"
            rmdir "$media"
            mv "$staging" "$media"
            log "copied the files of the media volume into $media"
        else
            log "$media already holds files; the media volume was not copied over them"
        fi
    fi
    date -u +%Y-%m-%dT%H:%M:%SZ >"$marker"
fi
rm -rf "$staging"
# authentik 2025.12.0 and .1 manage files only when media/public exists (authentik#19546, fixed in 2025.12.2).
mkdir -p "$media/public"

chown -R "$OWNER" "$DATA_DIR"
chmod u+rwx,g+rwx "$DATA_DIR" "$media"
log "ready"
