#!/bin/bash
# vector-rerun: no (a cluster of its own; the statistics do not depend on the vector type)
# A hybrid question with the file ranking (--file-weight, on by default)
# computes its term statistics (each term's chunk count from pg_stats or
# the index, the chunk count, the mean chunk length) once: the text side's
# statement returns them and the document scores take them as parameters.
# Before, both statements computed them.  Counted in the server's log of
# a cluster of this test's own (log_min_duration_statement 0 for
# docpipe-query's session): the statements that read pg_stats.
. "$(dirname "$0")/../lib/tap.sh"
private_pg
set -o pipefail
newdb || exit 1

# Documents /p/d0.md .. /p/d3.md, chunks "d<i> c<k> v1" (gen_docs.py).
gen_docs --docs 4 --chunks 3 --dim 4 >"$T_DIR/docs.ndjson"
E0=$(gen_docs --query --dim 4)
docpipe-store -q <"$T_DIR/docs.ndjson" >/dev/null
is "$?" 0 "stored"
sql "ANALYZE docpipe.chunks" >/dev/null

# stats_reads OPTIONS...: runs the question with OPTIONS, every statement
# logged; prints the result's chunks (path#seq), then how many statements read pg_stats
# (a statement's parse, bind and execute are each logged).
stats_reads() {
	local from
	from=$(wc -l <"$PGD/log")
	PGOPTIONS='-c log_min_duration_statement=0' docpipe-query --json --prf 0 --vector "$E0" -k 3 "$@" \
		'd1 c2' | jq -r '.path + "#" + (.seq|tostring)' | paste -sd ' ' -
	tail -n +"$((from + 1))" "$PGD/log" | grep -c 'execute .*most_common_elems'
}
out=$(stats_reads)
is "$(sed -n 1p <<<"$out")" "/p/d1.md#2 /p/d2.md#2 /p/d0.md#2" "hybrid: the file ranking's order"
is "$(sed -n 2p <<<"$out")" 1 "hybrid with the file ranking: the term statistics computed once"
out=$(stats_reads --file-weight 0)
is "$(sed -n 2p <<<"$out")" 1 "--file-weight 0: once (the text side's)"
# ts_rank_cd computes no statistics: the document scores compute them.
out=$(stats_reads --text-rank cd)
is "$(sed -n 1p <<<"$out")" "/p/d1.md#0 /p/d2.md#2 /p/d0.md#2" "--text-rank cd: the file ranking's order"
is "$(sed -n 2p <<<"$out")" 1 "--text-rank cd: computed once, for the document scores"
done_testing
