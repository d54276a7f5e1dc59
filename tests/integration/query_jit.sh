#!/bin/bash
# vector-rerun: no (a cluster of its own; nothing here depends on the vector type)
# docpipe-query's statements are not JIT-compiled (no docpipe connection
# uses JIT: db.c's connect_settings): the server compiles a
# statement whose estimated cost passes jit_above_cost, and at 100k chunks
# the estimates of the text side (a long question) and of the document
# scores passed it for 13 of 361 questions, 6-58 ms of compiling for
# statements of 5-40 ms.  Here jit_above_cost 0 (every statement would
# be compiled) given at connect; auto_explain says whether any was
# (before: 6 of the question's statements were).
. "$(dirname "$0")/../lib/tap.sh"
private_pg
set -o pipefail
newdb || exit 1

if [ "$(sql "SELECT pg_jit_available()")" != t ]; then
	skip "this server has no JIT (llvmjit)"
	done_testing
fi
gen_docs --docs 4 --chunks 3 --dim 4 | docpipe-store -q >/dev/null
is "$?" 0 "stored"
E0=$(gen_docs --query --dim 4)
# found [ENV...]: the hybrid question's chunks (path#seq).
found() {
	env "$@" docpipe-query --json --vector "$E0" -k 3 'd1 c2' |
		jq -r '.path + "#" + (.seq|tostring)' | paste -sd ' ' -
}
want=$(found)
from=$(wc -l <"$PGD/log")
got=$(found PGOPTIONS='-c jit=on -c jit_above_cost=0 -c session_preload_libraries=auto_explain
	-c auto_explain.log_min_duration=0')
is "$got" "$want" "the same chunks"
# Each logged plan on one line; the connection's own first statement (the
# session's setup, dp_db_connect's, which turns JIT off: db.c's
# connect_settings) is planned before its settings take effect.
plans=$(tail -n +"$((from + 1))" "$PGD/log" | awk '/plan:/ { printf "\n" } { printf "%s ", $0 }' |
	grep -v 'pg_backend_pid()')
ok "$(grep -q 'ts_rank(' <<<"$plans"; echo $?)" "the statements' plans logged"
is "$(grep -c 'JIT:' <<<"$plans")" 0 "no statement JIT-compiled"
done_testing
