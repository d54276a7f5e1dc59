#!/bin/bash
# vector-rerun: no (a cluster of its own; text mode reads no vector)
# The text side's BM25 statement reads each candidate chunk's tsvector
# once, however many terms the question has: the tf of each term is a
# ts_rank of its own, and each of them given the stored value fetched it
# again (out of line, in the TOAST table, in about a third of a 100k
# corpus's chunks) and decompressed it.  Measured with auto_explain on a
# cluster of this test's own: the blocks that the candidates' CTE reads
# beyond its bitmap heap scan of the chunks (the TOAST fetches) for a
# question of one term and one of four, every chunk holding all four.
# Before, the four terms read four times the one's.  And the document
# scores (the file ranking of a hybrid question) unnest only the
# question's entries of each chunk's tsvector: before, every lexeme (704
# a chunk here) came out of unnest to be joined with the terms.  And a
# term's postings are counted once (before: four times).
. "$(dirname "$0")/../lib/tap.sh"
private_pg
set -o pipefail
newdb || exit 1

# 4 documents of 5 chunks, each chunk the four terms and 700 random words:
# a tsvector of ~10 KB that stays out of line even compressed (longer
# than a page: out of line whatever the column's storage).
python3 - >"$T_DIR/docs.ndjson" <<'EOF'
import base64, json, random, struct
rng = random.Random(7)
vec = lambda: base64.b64encode(struct.pack("<4f", *(rng.uniform(-1, 1) for _ in range(4)))).decode()
word = lambda: "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(rng.randint(6, 9)))
for d in range(4):
    chunks = [{"seq": k, "text": "alpha beta gamma delta " + " ".join(word() for _ in range(700)),
               "vec": vec()} for k in range(5)]
    print(json.dumps({"v": 1, "kind": "document", "path": "/t/d%d.md" % d, "root": "/t",
                      "hash": "h%d" % d, "chunker": "t", "embedder": "test/e4", "dim": 4,
                      "chunks": chunks}))
EOF
docpipe-store -q <"$T_DIR/docs.ndjson" >/dev/null
is "$?" 0 "stored"
sql "ANALYZE docpipe.chunks" >/dev/null
# An out-of-line value's stored size (pg_column_size) is its TOAST chunks'
# total: every tsvector is one of the TOAST table's values (too long for
# a page, it leaves its row whatever the column's storage).
is "$(sql "SELECT count(*) FROM docpipe.chunks c WHERE pg_column_size(c.tsv) IN (SELECT sum(octet_length(chunk_data))
	FROM $(sql "SELECT reltoastrelid::regclass FROM pg_class WHERE oid = 'docpipe.chunks'::regclass") GROUP BY chunk_id)")" \
	20 "every chunk's tsvector stored out of line"

# explained PROGRAM DOCPIPE-QUERY-ARGS...: prints the result's chunks
# (path#seq), then what PROGRAM (python, given each logged plan as
# "plan", "walk" and "blocks") prints of the plans that auto_explain
# logged for the question, with index scans preferred (as on a large
# corpus: a sequential scan's filter would fetch each tsvector once more
# for the match).
explained() {
	local from prog=$1
	shift
	from=$(wc -l <"$PGD/log")
	PGOPTIONS='-c enable_seqscan=off -c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0
		-c auto_explain.log_analyze=on -c auto_explain.log_buffers=on -c auto_explain.log_timing=off
		-c auto_explain.log_format=json' \
		docpipe-query --json -k 20 "$@" | jq -r '.path + "#" + (.seq|tostring)' | sort | paste -sd ' ' -
	tail -n +"$((from + 1))" "$PGD/log" | python3 -c '
import json, re, sys
def walk(n):
    yield n
    for c in n.get("Plans", []):
        yield from walk(c)
blocks = lambda n: n["Shared Hit Blocks"] + n["Shared Read Blocks"]
# Each logged plan: "LOG:  duration: ... plan:" and its JSON up to the next log line.
for entry in re.split(r"\n(?=\d{4}-\d\d-\d\d )", sys.stdin.read()):
    if "plan:" in entry:
        plan = json.loads(entry.split("plan:", 1)[1])
        query, plan = plan["Query Text"], plan["Plan"]
        exec(sys.argv[1])' "$prog"
}
# The blocks that the text side's candidate rows read beyond their scan
# of the chunks: the TOAST fetches.
toast_reads() {
	explained '
if "ts_rank(" in query:
    cand = next(n for n in plan["Plans"] if n.get("Subplan Name") == "CTE cand")
    rows = next(n for n in cand["Plans"] if n["Parent Relationship"] == "Outer")
    scan = next(n for n in walk(rows) if n.get("Relation Name") == "chunks")
    print(blocks(rows) - blocks(scan))' --mode text "$1"
}
one=$(toast_reads 'alpha')
four=$(toast_reads 'alpha beta gamma delta')
all=$(for d in 0 1 2 3; do for k in 0 1 2 3 4; do printf '/t/d%d.md#%d ' $d $k; done; done)
is "$(sed -n 1p <<<"$one")" "${all% }" "one term: every chunk found"
is "$(sed -n 1p <<<"$four")" "${all% }" "four terms: every chunk found"
n1=$(sed -n 2p <<<"$one") n4=$(sed -n 2p <<<"$four")
ok "$([ -n "$n1" ] && [ "$n1" -gt 0 ]; echo $?)" "the candidates' TOAST fetches counted ($n1)"
is "$n4" "$n1" "four terms read the candidates' tsvectors once, as one term does"

# The rows out of the document scores' unnest of the chunks' tsvectors.
E0=$(gen_docs --query --dim 4)
out=$(explained '
if "GROUP BY len.document_id" in query:
    print(sum(n["Actual Rows"] * n["Actual Loops"] for n in walk(plan)
              if n.get("Function Name") == "unnest" and n.get("Alias") == "u"))' \
	--mode hybrid --prf 0 --vector "$E0" 'alpha beta gamma delta')
is "$(sed -n 1p <<<"$out")" "${all% }" "hybrid: every chunk found"
is "$(sed -n 2p <<<"$out")" 80 "the document scores unnest the four terms of each of the 20 chunks, no other lexeme"

# A term without statistics (not among pg_stats' most common elements:
# one no chunk holds) has its postings counted through the GIN index
# once: the planner inlined the count into each of the four places that
# read the term's df.  The counts' runs, summed over the terms CTE.
out=$(explained '
if "ts_rank(" in query:
    terms = next(n for n in plan["Plans"] if n.get("Subplan Name") == "CTE terms")
    print(sum(n["Actual Loops"] for n in walk(terms) if n["Node Type"] == "Aggregate"
              and any(m.get("Relation Name") == "chunks" for m in walk(n))))' --mode text 'alpha zyzzyq qxqxqx')
is "$(sed -n 2p <<<"$out")" 2 "the two terms that no chunk holds: their postings counted once each"
done_testing
