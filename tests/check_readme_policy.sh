#!/bin/sh
# The README's access-policy matrix must be exactly what the code enforces:
# compare it with `kartoteka-server policy`. Regenerate with:
#   tests/check_readme_policy.sh SERVER_BIN README.md --fix
set -eu
bin=$1 readme=$2
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.new"' EXIT
"$bin" policy > "$tmp"
begin='<!-- policy:begin -->' end='<!-- policy:end -->'
if [ "${3:-}" = "--fix" ]; then
	awk -v b="$begin" -v e="$end" -v f="$tmp" '
		$0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$readme" > "$tmp.new"
	mv "$tmp.new" "$readme"
	exit 0
fi
awk -v b="$begin" -v e="$end" '$0 == e { p = 0 } p { print } $0 == b { p = 1 }' "$readme" > "$tmp.new"
if ! diff -u "$tmp.new" "$tmp"; then
	echo "README.md access policy differs from the code; run: $0 $bin $readme --fix" >&2
	exit 1
fi
echo "README policy matrix matches the code: 1 passed, 0 failed"
