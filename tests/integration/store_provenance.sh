#!/bin/bash
# Chunk provenance (byte range, lines, pages) reaches docpipe.chunks by
# binary COPY and by INSERT, NULL where a chunk has none; bad values fail
# the document.  Also run on the pgvector server by tests/run ([vector]).
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
cat >docs.ndjson <<'EOF'
{"v":1,"kind":"document","path":"/p/a.md","root":"/p","hash":"a","chunker":"t","chunks":[{"seq":0,"text":"one","start":0,"end":120,"line_start":1,"line_end":7},{"seq":1,"text":"two","start":120,"end":5000000000,"line_start":8,"line_end":9,"page_start":2,"page_end":3},{"seq":2,"text":"three"}]}
{"v":1,"kind":"document","path":"/p/bad.md","root":"/p","hash":"b","chunker":"t","chunks":[{"seq":0,"text":"x","line_start":0}]}
{"v":1,"kind":"document","path":"/p/worse.md","root":"/p","hash":"c","chunker":"t","chunks":[{"seq":0,"text":"x","start":9,"end":3}]}
EOF
for m in copy insert; do
	newdb || exit 1
	docpipe-store -q --write-method $m <docs.ndjson >r.ndjson 2>/dev/null
	is "$(jq -r .status r.ndjson | xargs)" "stored failed failed" "$m: good document stored, bad ones failed"
	is "$(sql "SELECT concat_ws(',', seq, coalesce(byte_start::text, '-'), coalesce(byte_end::text, '-'), coalesce(line_start::text, '-'),
		coalesce(line_end::text, '-'), coalesce(page_start::text, '-'), coalesce(page_end::text, '-')) FROM docpipe.chunks ORDER BY seq" | xargs)" \
		"0,0,120,1,7,-,- 1,120,5000000000,8,9,2,3 2,-,-,-,-,-,-" "$m: provenance columns, NULL when absent"
	like "$(jq -r 'select(.path == "/p/bad.md") | .error' r.ndjson)" 'chunk 0: "line_start" must be a whole number from 1' "$m: bad line number named"
	like "$(jq -r 'select(.path == "/p/worse.md") | .error' r.ndjson)" '"end" is before "start"' "$m: reversed range named"
done
done_testing
