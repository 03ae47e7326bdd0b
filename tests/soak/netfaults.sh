#!/bin/sh
# Soak: the network-fault test (tests/integration/test_netfaults.py: links cut at
# random byte offsets of snapshots, streams and pushes) with many cuts instead of
# the handful `make test` runs. Run from the repository root after `make build`:
#   tests/soak/netfaults.sh [CUTS] [SEED]
# Prints the seed; a failure names it so the run can be repeated exactly.
set -e
CUTS=${1:-50}
BUILD=${BUILD:-build}
SEED_ARG=""
[ -n "$2" ] && SEED_ARG="--seed $2"
exec /usr/bin/python3 tests/integration/test_netfaults.py --server "$BUILD/server/kartoteka-server" \
    --client "$BUILD/clients/reference-c/kartoteka-client" --cuts "$CUTS" $SEED_ARG
