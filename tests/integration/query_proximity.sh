#!/bin/bash
# docpipe-query's term proximity (--proximity, BM25TP, issue 11, session
# 59): of two chunks that BM25 scores alike (the same words, the same
# length), the one where the question's terms stand together ranks first,
# in text and hybrid mode, also when fewer results are asked for than the
# 50 hits it re-orders; --proximity 0 leaves BM25's order (equal scores:
# document id order, the far chunk's document stored first).  Runs with
# real[]; tests/run runs it again with pgvector's vector type.
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail

E0=$(f32_base64 1 0 0 0)
# The same words and bytes in far.md and near.md; one vector for all.
while IFS='|' read -r path text; do
	jq -nc --arg p "$path" --arg t "$text" --arg vec "$(f32_base64 0 1 0 0)" '{v: 1, kind: "document",
		path: $p, root: "/p", hash: $p, mtime: 1700000000, chunker: "t", embedder: "local/fh-v1",
		dim: 4, chunks: [{seq: 0, text: $t, heading: [], vec: $vec}]}'
done >docs.ndjson <<'DOCS'
/p/far.md|Sort alpha beta gamma delta epsilon zeta eta theta vector.
/p/near.md|Alpha beta gamma delta epsilon zeta eta theta sort vector.
/p/other.md|Nothing here matches the question at all, iota kappa lambda.
DOCS
q() { docpipe-query --json --vector "$E0" "$@" | jq -r '.path' | paste -sd ' ' -; }
qt() { docpipe-query --json --mode text "$@" | jq -r '.path' | paste -sd ' ' -; }

newdb || exit 1
docpipe-store -q <docs.ndjson >/dev/null
is "$?" 0 "stored"
is "$(qt -k 2 --proximity 0 'how do I sort a vector')" "/p/far.md /p/near.md" \
	"--proximity 0: BM25 alone scores both alike (document order)"
is "$(docpipe-query --json -k 2 --mode text --proximity 0 'sort vector' | jq -r .text_score | uniq | wc -l)" 1 \
	"--proximity 0: the two text scores are equal"
is "$(qt -k 2 'how do I sort a vector')" "/p/near.md /p/far.md" \
	"text mode (default --proximity 1): the terms side by side first"
is "$(qt -k 1 'how do I sort a vector')" "/p/near.md" \
	"-k 1: the hits are re-ordered before the cut"
is "$(q -k 2 'how do I sort a vector')" "/p/near.md /p/far.md" "hybrid: the same"
is "$(q -k 2 --proximity 0 --file-weight 0 'how do I sort a vector')" "/p/far.md /p/near.md" \
	"hybrid, --proximity 0: BM25's order"
scores=$(docpipe-query --json -k 2 --mode text 'sort vector' | jq -r .text_score | paste -sd ' ' -)
is "$(awk -v s="$scores" 'BEGIN { split(s, a, " "); print (a[1] > a[2]) }')" 1 "--json: the near chunk's text score is the higher"
is "$(qt -k 2 'vector')" "/p/far.md /p/near.md" "one term: no pair, BM25's order"
is "$(docpipe-query --vector "$E0" --text-rank cd --proximity 2 sort 2>&1 >/dev/null)" \
	"docpipe-query: notice: --proximity is not used: it applies to --text-rank bm25" "--proximity with --text-rank cd: named as unused"
is "$(docpipe-query --vector "$E0" --mode vector --proximity 2 sort 2>&1 >/dev/null)" \
	"docpipe-query: notice: --mode vector does not use --proximity (it applies to --mode hybrid or text)" "--proximity in vector mode: named as unused"
# A tsvector without positions (strip(): not docpipe's, but a database's
# own) has no proximity: BM25's order, no error.
sql "UPDATE docpipe.chunks SET tsv = strip(tsv)" >/dev/null
is "$(qt -k 2 'how do I sort a vector')" "/p/far.md /p/near.md" "tsvectors without positions: BM25's order, no error"
out=$(docpipe-query --proximity -1 x 2>&1); is "$?/$out" "2/docpipe-query: --proximity: '-1' is not a number from 0 to 1000" "--proximity below 0: exit 2, named"
done_testing
