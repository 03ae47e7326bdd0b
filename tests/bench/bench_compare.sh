#!/bin/sh
# bench_compare.sh BUILD_DIR [ROUNDS] - `make bench-compare`: Kartoteka's
# owner first sync (kt-bench-snapshot, one run) and PouchDB's replication
# (tests/bench/pouchdb/bench_pouchdb.mjs, one run) of the same salon
# records, alternated for ROUNDS rounds (default 3; the first Kartoteka run
# writes the records PouchDB loads, later rounds swap who goes first), then
# both mean rates, CPU per row and the ratio. The npm packages are
# installed here (npm ci, tests/bench/pouchdb/package-lock.json) and only
# here: not by `make test` or `make run`.
set -eu
B=${1:-build}
ROUNDS=${2:-3}
SERVER=$B/server/kartoteka-server
SNAP=$B/tests/bench/kt-bench-snapshot
DIR=$(cd "$(dirname "$0")" && pwd)/pouchdb

if [ ! -f "$DIR/node_modules/.package-lock.json" ] || [ "$DIR/package-lock.json" -nt "$DIR/node_modules/.package-lock.json" ]; then
	echo "installing the PouchDB bench's npm packages (npm ci in $DIR)"
	(cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi

tmp=$(mktemp -d /tmp/kt-bench-compare-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
rows=$tmp/rows.ndjson

kartoteka() {
	if [ "$1" = 1 ]; then
		KT_BENCH_EXPORT=$rows "$SNAP" "$SERVER" 1 > "$tmp/k.out"
	else
		"$SNAP" "$SERVER" 1 > "$tmp/k.out"
	fi
	grep '^snapshot run' "$tmp/k.out" | sed "s/^snapshot run 1/kartoteka round $1/"
	grep '^snapshot run' "$tmp/k.out" >> "$tmp/k.all"
}
pouchdb() {
	node "$DIR/bench_pouchdb.mjs" "$rows" 1 > "$tmp/p.out"
	grep '^pouchdb run' "$tmp/p.out" | sed "s/^pouchdb run 1/pouchdb   round $1/"
	grep '^pouchdb run' "$tmp/p.out" >> "$tmp/p.all"
}

for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then kartoteka "$r"; pouchdb "$r"; else pouchdb "$r"; kartoteka "$r"; fi
done

# rate: the field before "rows/s" / "docs/s"; CPU per row: before "us/row" / "us/doc"
awk -v n="$(wc -l < "$rows")" '
	FILENAME ~ /k.all$/ { for (i = 1; i <= NF; i++) { if ($i == "rows/s") kr += $(i-1); if ($i == "us/row)") kc += $(i-1) } kn++ }
	FILENAME ~ /p.all$/ { for (i = 1; i <= NF; i++) { if ($i == "docs/s") pr += $(i-1); if ($i == "us/doc)") pc += $(i-1) } pn++ }
	END {
		kr /= kn; pr /= pn; kc /= kn; pc /= pn
		printf "compare: %d records, %d alternated rounds\n", n, kn
		printf "compare: Kartoteka %.0f rows/s (client+server CPU %.2f us/row), PouchDB %.0f docs/s (%.2f us/doc)\n", kr, kc, pr, pc
		printf "compare: Kartoteka/PouchDB %.1fx by rate, %.1fx by CPU per row (target: >= 35x)\n", kr / pr, pc / kc
	}' "$tmp/k.all" "$tmp/p.all"
