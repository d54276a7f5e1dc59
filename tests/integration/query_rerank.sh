#!/bin/bash
# Hybrid search over real[] vectors in a corpus above QUERY_SCAN_MAX chunks
# (20,000): the vector side ranks the best text candidates exactly instead
# of streaming every vector, so a chunk only the vectors would find is left
# to --mode vector.
# vector-rerun: no (it tests the real[] path)
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail
newdb || exit 1

python3 "$TOP/bench/store-gen.py" --docs 2100 --chunks 10 --dim 8 >docs.ndjson
docpipe-store -q <docs.ndjson >/dev/null
sql "ANALYZE docpipe.chunks"
is "$(sql "SELECT reltuples > 20000 FROM pg_class WHERE oid = 'docpipe.chunks'::regclass")" t "21,000 chunks"
# The question's words are in document 1234's chunks; its vector is that of
# document 77's chunk 3.
V=$(jq -r 'select(.path == "/corpus/doc77.md") | .chunks[3].vec' docs.ndjson)
is "$(docpipe-query --mode vector --json -k 1 --vector "$V" 'document 1234' | jq -r '[.path, .seq] | join(" ")')" \
	"/corpus/doc77.md 3" "vector mode scans every vector"
out=$(docpipe-query --json -k 20 --vector "$V" 'document 1234')
is "$(jq -r 'select(.path == "/corpus/doc1234.md") | .seq' <<<"$out" | sort -n | paste -sd ' ')" "0 1 2 3 4 5 6 7 8 9" "hybrid: the text matches"
is "$(jq -r 'select(.path == "/corpus/doc1234.md") | .vector_rank | type' <<<"$out" | sort -u)" number "hybrid: each ranked by vector too"
is "$(jq -r 'select(.path == "/corpus/doc77.md") | .seq' <<<"$out")" "" "hybrid: the vector-only chunk is not scanned for"
is "$(docpipe-query --json -k 3 --vector "$V" '?' 2>/dev/null | jq -r '[.path, .seq] | join(" ")' | head -1)" \
	"/corpus/doc77.md 3" "hybrid without text terms: full scan"
done_testing
