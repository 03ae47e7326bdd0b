#!/bin/sh
# Fetch the pinned npm tarballs again, extract the files the web app imports,
# and check every tarball and every file against SHA256SUMS (exit 1 on a mismatch).
# Usage: clients/web/vendor/fetch-vendor.sh [--check-only]
#   --check-only  only verify the files already in this folder
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

if [ "${1:-}" = "--check-only" ]; then
    grep -v '\.tgz$' SHA256SUMS | sha256sum -c --quiet - && echo "vendor: files match SHA256SUMS"
    exit $?
fi

reg=https://registry.npmjs.org
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() { # name tarball-path file
    curl -fsSL --retry 3 -o "$tmp/$3" "$reg/$2" || { echo "vendor: cannot download $reg/$2" >&2; exit 1; }
    (cd "$tmp" && grep " $3\$" "$here/SHA256SUMS" | sha256sum -c --quiet -) \
        || { echo "vendor: $3 does not match SHA256SUMS" >&2; exit 1; }
    mkdir -p "$tmp/$1" && tar xzf "$tmp/$3" -C "$tmp/$1"
}

fetch msgpack @msgpack/msgpack/-/msgpack-3.1.3.tgz msgpack-3.1.3.tgz
fetch preact preact/-/preact-11.2.0.tgz preact-11.2.0.tgz
fetch htm htm/-/htm-3.1.1.tgz htm-3.1.1.tgz
fetch idb idb/-/idb-8.0.4.tgz idb-8.0.4.tgz

rm -rf msgpack preact htm idb
mkdir -p msgpack/utils preact htm idb
cp "$tmp"/msgpack/package/dist.esm/*.mjs msgpack/
cp "$tmp"/msgpack/package/dist.esm/utils/*.mjs msgpack/utils/
cp "$tmp"/msgpack/package/LICENSE msgpack/LICENSE
cp "$tmp"/preact/package/dist/preact.mjs preact/preact.mjs
# The one change we make: hooks import the bare name "preact", which a browser
# cannot resolve without an import map (CSP forbids the inline one); point it at the file.
sed 's|from"preact"|from"./preact.mjs"|g' "$tmp"/preact/package/hooks/dist/hooks.mjs > preact/hooks.mjs
cp "$tmp"/preact/package/LICENSE preact/LICENSE
cp "$tmp"/htm/package/dist/htm.mjs htm/htm.mjs
cp "$tmp"/htm/package/LICENSE htm/LICENSE
cp "$tmp"/idb/package/build/index.js idb/index.js
cp "$tmp"/idb/package/LICENSE idb/LICENSE

grep -v '\.tgz$' SHA256SUMS | sha256sum -c --quiet - || { echo "vendor: extracted files do not match SHA256SUMS" >&2; exit 1; }
echo "vendor: msgpack 3.1.3, preact 11.2.0, htm 3.1.1, idb 8.0.4 fetched and checked"
