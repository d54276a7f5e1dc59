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

E0=$(python3 - "$T_DIR/docs.ndjson" <<'PY'
import base64, json, struct, sys
def v(*x): return base64.b64encode(struct.pack("<4f", *x)).decode()
out = open(sys.argv[1], "w")
f = "Other words fill this part of the page so that it reads like real documentation."
docs = [("/f/x.md", [("A gizmo may frobnicate. " + f, (1, 0, 0, 0))]),
        ("/f/y.md", [("How to start. " + f, (0, 1, 0, 0)), ("The options. " + f, (0, 1, 0, 0))]),
        ("/f/z.md", [("Gizmo gizmo frobnicate frobnicate. " + f, (0, 1, 0, 0))])]
for path, chunks in docs:
    out.write(json.dumps({"v": 1, "kind": "document", "path": path, "root": "/f", "hash": path,
        "mtime": 1700000000, "chunker": "t", "embedder": "local/fh-v1", "dim": 4,
        "chunks": [{"seq": i, "text": t, "heading": ["Gizmo frobnicate"] if path == "/f/y.md" else [],
                    "vec": v(*x)} for i, (t, x) in enumerate(chunks)]}) + "\n")
print(v(1, 0, 0, 0))
PY
)
docpipe-store -q <"$T_DIR/docs.ndjson" >/dev/null
is "$?" 0 "stored"
sql "ANALYZE docpipe.chunks" >/dev/null

# stats_reads OPTIONS...: runs the question with OPTIONS, every statement
# logged; prints the result's paths, then how many statements read pg_stats
# (a statement's parse, bind and execute are each logged).
stats_reads() {
	local from
	from=$(wc -l <"$PGD/log")
	PGOPTIONS='-c log_min_duration_statement=0' docpipe-query --json --prf 0 --vector "$E0" -k 3 "$@" \
		'gizmo frobnicate' | jq -r .path | paste -sd ' ' -
	tail -n +"$((from + 1))" "$PGD/log" | grep -c 'execute .*most_common_elems'
}
out=$(stats_reads)
is "$(sed -n 1p <<<"$out")" "/f/y.md /f/y.md /f/z.md" "hybrid: the file ranking's order"
is "$(sed -n 2p <<<"$out")" 1 "hybrid with the file ranking: the term statistics computed once"
out=$(stats_reads --file-weight 0)
is "$(sed -n 2p <<<"$out")" 1 "--file-weight 0: once (the text side's)"
# ts_rank_cd computes no statistics: the document scores compute them.
out=$(stats_reads --text-rank cd)
is "$(sed -n 1p <<<"$out")" "/f/y.md /f/y.md /f/z.md" "--text-rank cd: the file ranking's order"
is "$(sed -n 2p <<<"$out")" 1 "--text-rank cd: computed once, for the document scores"
done_testing
