#!/bin/sh
# Puts Renovate's published JSON schema for its config into .cache/, from the npm registry (Renovate's package
# ships renovate-schema.json), so that tests validate renovate.json offline. Renovate itself needs Node.js 24 and is
# not installed; its schema is what its validator checks against.
set -eu
RENOVATE_VERSION=44.121.2
cd "$(dirname "$0")/.."
# RENOVATE_SCHEMA_TARGET: another place for it (tests of .ci/run).
target=${RENOVATE_SCHEMA_TARGET:-.cache/renovate-schema.json}
if [ -f "$target" ] && grep -q "\"x-renovate-version\": \"$RENOVATE_VERSION\"" "$target"; then
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "renovate@$RENOVATE_VERSION" >/dev/null)
tar -xzf "$work/renovate-$RENOVATE_VERSION.tgz" -C "$work" package/renovate-schema.json
mkdir -p "$(dirname "$target")"
mv "$work/package/renovate-schema.json" "$target"
echo "Renovate $RENOVATE_VERSION schema in $target"
