#!/bin/sh
# push_instructions.sh BUILD_DIR [devices batches batch_size]
#
# Instructions the push writer executes per applied mutation: kt-bench-push
# runs the server under callgrind, counting only inside push_apply_step (the
# checks, the row, change log, audit and mutation record) and store_commit
# (the user-space part of the commit; the kernel's pwrite and fsync are not
# counted). Unlike mutations per second this figure does not move when other
# work shares the cores, so it is the one to compare two builds with on a
# busy machine. Takes about 90 s (the server runs 50x slower under valgrind).
# KT_KEEP=1 keeps the callgrind files (the directory is not removed) for
# callgrind_annotate.
set -eu
b=${1:?usage: push_instructions.sh BUILD_DIR [devices batches batch_size]}
b=$(cd "$b" && pwd)
devices=${2:-5} batches=${3:-4} size=${4:-100}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/kt-pushinstr-XXXXXX)
trap '[ -n "${KT_KEEP:-}" ] || rm -rf "$tmp"' EXIT
cat >"$tmp/server" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$tmp/cg.%p \
	--toggle-collect=push_apply_step --toggle-collect=store_commit "$b/server/kartoteka-server" "\$@"
EOF
chmod +x "$tmp/server"
"$b/tests/bench/kt-bench-push" "$tmp/server" "$devices" "$batches" "$size" >"$tmp/out" 2>&1 || {
	cat "$tmp/out" >&2
	exit 1
}
# the serving process is the one that counted anything (the demo set-up ran first)
ir=0
for f in "$tmp"/cg.*; do
	n=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
	[ -n "$n" ] && [ "$n" -gt "$ir" ] && ir=$n
done
# every device's mutations plus the probe device's single ones
muts=$(awk '/^push: .* rejected in/ { print $10 }' "$tmp/out")
probes=$(awk '/single-mutation answer/ { gsub("[(]", "", $(NF-1)); print $(NF-1) }' "$tmp/out")
total=$((muts + probes))
echo "push: $ir instructions in the writer for $total mutations = $((ir / total)) per mutation"
