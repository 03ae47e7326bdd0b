#!/bin/sh
# Soak: the leak oracle (tests/integration/test_visibility.py) over many seeds
# with thousands of operations each. Run from the repository root after
# `make build`:   tests/soak/visibility.sh [SEEDS] [OPS]
# Each run prints its seed; a failure names the seed and the first differing row.
set -e
SEEDS=${1:-20}
OPS=${2:-3000}
BUILD=${BUILD:-build}
i=0
while [ $i -lt "$SEEDS" ]; do
    /usr/bin/python3 tests/integration/test_visibility.py --server "$BUILD/server/kartoteka-server" \
        --client "$BUILD/clients/reference-c/kartoteka-client" --ops "$OPS"
    i=$((i + 1))
done
