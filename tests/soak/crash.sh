#!/bin/sh
# Soak: the SIGKILL and power-cut durability tests (tests/integration/
# test_crash.py) with many kills each instead of the handful `make test` runs. Run from the repository root
# after `make build`:   tests/soak/crash.sh [KILLS] [SEED]
# Prints the seed; a failure names it so the run can be repeated exactly.
set -e
KILLS=${1:-100}
BUILD=${BUILD:-build}
SEED_ARG=""
[ -n "$2" ] && SEED_ARG="--seed $2"
exec /usr/bin/python3 tests/integration/test_crash.py --server "$BUILD/server/kartoteka-server-faults" \
    --client "$BUILD/clients/reference-c/kartoteka-client" --iterations "$KILLS" $SEED_ARG
