#!/bin/sh
# The production kartoteka-server must hold none of the test-only SQLite VFS
# shims (server/testing/faultvfs.c, server/testing/powerloss.c): no symbol of theirs and no
# name of the environment variables that arm them. The same patterns must be
# found in kartoteka-server-faults, so a pattern that matches nothing fails.
#   tests/check_no_test_shims.sh PRODUCTION_BIN FAULTS_BIN
set -eu
prod=$1 faults=$2
fail=0
# a binary without a symbol table would pass the symbol check vacuously
nm "$prod" | grep -q ' T server_run$' || { echo "$prod: no symbol table to check"; exit 1; }
for sym in faultvfs_ powerloss_; do
	if nm "$prod" | grep -q "$sym"; then
		echo "$prod: holds test-only symbols:"; nm "$prod" | grep "$sym"; fail=1
	fi
	nm "$faults" | grep -q "$sym" || { echo "$faults: no $sym symbol (the check looks for nothing)"; fail=1; }
done
for var in KT_FAULT KT_POWERLOSS_DIR; do
	if strings -a "$prod" | grep -q "$var"; then
		echo "$prod: mentions $var:"; strings -a "$prod" | grep "$var"; fail=1
	fi
	strings -a "$faults" | grep -q "$var" || { echo "$faults: no $var string (the check looks for nothing)"; fail=1; }
done
[ $fail = 0 ] && echo "kartoteka-server holds no test-only VFS shim"
exit $fail
