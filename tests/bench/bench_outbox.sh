#!/bin/sh
# bench_outbox.sh BUILD_DIR - `make bench-outbox`: the outbox's throughput
# (kt-bench-outbox), then push and propagation latency (kt-bench-push,
# kt-bench-propagation) twice: without and with an outbox that keeps
# draining (OUTBOX_RATE mails/s, default 600, queued beside the bench and
# sent to a local SMTP sink). Both runs serve the same config (smtp_url of
# the sink); only the mails differ.
set -eu
B=${1:-build}
SERVER=$B/server/kartoteka-server
BENCH=$B/tests/bench
RATE=${OUTBOX_RATE:-600}
MAILS=${OUTBOX_MAILS:-20000}

"$BENCH/kt-bench-outbox" "$SERVER" "$MAILS"

tmp=$(mktemp -d /tmp/kt-bench-outbox-XXXXXX)
"$BENCH/kt-bench-outbox" sink > "$tmp/port" 2> "$tmp/sink.log" &
sink=$!
trap 'kill $sink 2>/dev/null; rm -rf "$tmp"' EXIT
while [ ! -s "$tmp/port" ]; do sleep 0.05; done
printf 'smtp_url = smtp://127.0.0.1:%s\nsmtp_from = Studio Lepota <salon@lepota.example>\n' "$(cat "$tmp/port")" \
	> "$tmp/serve.conf"
export KT_BENCH_SERVER_CONFIG="$tmp/serve.conf"

# push and propagation: ROUNDS alternating runs of each (a push p99 comes
# from ~90 samples, and the machine may be shared)
for round in $(seq 1 "${ROUNDS:-3}"); do
	for mode in without with; do
		if [ "$mode" = with ]; then
			export KT_BENCH_ON_SERVE="$BENCH/kt-bench-outbox feed $RATE 600"
		else
			unset KT_BENCH_ON_SERVE || true
		fi
		"$BENCH/kt-bench-push" "$SERVER" 20 30 100 | grep -E 'p99|mutations/s' | sed "s/^/[$mode outbox, round $round] /"
		"$BENCH/kt-bench-propagation" "$SERVER" 100 200 | grep -E 'p99|synced' |
			sed "s/^/[$mode outbox, round $round] /" || true
	done
done
kill "$sink"
wait "$sink" 2>/dev/null || true
cat "$tmp/sink.log"   # the mails the runs with an outbox sent meanwhile
trap - EXIT
rm -rf "$tmp"
