#!/bin/bash
# docpipe-summarize and docpipe-embed with the local backends, over pipes.
. "$(dirname "$0")/../lib/tap.sh"

cat >"$T_DIR/in.ndjson" <<'JSON'
{"v":1,"kind":"document","path":"/d/a.md","root":"/d","hash":"h1","meta":{"k":1},"chunks":[{"seq":0,"text":"# Guide\n\nThe pipeline stores documents in PostgreSQL tables. Every stage reads records.","heading":["Guide"]},{"seq":1,"text":"Vectors are computed for every chunk of every document.","heading":["Guide","Vectors"]}]}
{"v":1,"kind":"error","path":"/d/b.md","stage":"chunk","error":"invalid UTF-8"}
{"v":1,"kind":"document","path":"/d/c.md","chunks":[{"seq":0,"text":42}]}
{"v":1,"kind":"document","path":"/d/d.md","chunks":[]}
JSON

docpipe-summarize --chunk-summaries -j 2 <"$T_DIR/in.ndjson" >"$T_DIR/s.ndjson" 2>"$T_DIR/s.err"
is "$?" 1 "summarize exits 1 when a record failed"
docpipe-embed --threads 2 --dim 32 <"$T_DIR/s.ndjson" >"$T_DIR/e.ndjson" 2>"$T_DIR/e.err"
is "$?" 0 "embed exits 0 (the error record came from upstream)"
is "$(wc -l <"$T_DIR/e.ndjson" | tr -d ' ')" 4 "every record comes out"
a=$(jq -c 'select(.path=="/d/a.md")' "$T_DIR/e.ndjson")
is "$(jq -r .summarizer <<<"$a")" local/extractive-v1 "summarizer recorded"
like "$(jq -r .summary <<<"$a")" "pipeline stores documents" "document summary extracted"
is "$(jq -r '.chunks[1].summary' <<<"$a")" "Guide > Vectors: Vectors are computed for every chunk of every document." "chunk summary situates the chunk"
is "$(jq -r '.embedder + " " + (.dim|tostring)' <<<"$a")" "local/fh-v1 32" "embedder and dim recorded"
is "$(jq -r '.chunks[0].vec' <<<"$a" | base64 -d | wc -c | tr -d ' ')-$(jq -r '.chunks[1].vec' <<<"$a" | base64 -d | wc -c | tr -d ' ')" "128-128" "one float32[32] per chunk"
is "$(jq -c '.meta' <<<"$a")" '{"k":1}' "other fields kept"
is "$(jq -r 'select(.path=="/d/c.md") | .stage + ": " + .error' "$T_DIR/e.ndjson")" "summarize: chunks[0].text is not a string" "bad chunk text is an error record naming the field"
is "$(jq -r 'select(.path=="/d/b.md") | .stage' "$T_DIR/e.ndjson")" chunk "upstream error passes through"
is "$(jq -r 'select(.path=="/d/d.md") | [.summary, .embedder] | join(" ")' "$T_DIR/e.ndjson")" " local/fh-v1" "empty document passes with empty summary"
is "$(cat "$T_DIR/e.err")" "" "embed printed nothing on stderr"

# A chunk text holding "\u0000" (valid JSON) fails at once in either stage,
# naming the field: the store would refuse it after the model API was paid.
nul='{"v":1,"kind":"document","path":"/d/n.md","chunks":[{"seq":0,"text":"a\u0000b"}]}'
for st in summarize embed; do
	is "$(docpipe-$st <<<"$nul" 2>/dev/null | jq -r '.stage + ": " + .error')" \
		"$st: chunks[0].text holds a NUL character (\\u0000), which PostgreSQL's text cannot store" \
		"$st: a NUL in a chunk's text is an error record naming the field"
done

docpipe-embed --dim 0 </dev/null 2>"$T_DIR/u.err"
is "$?" 2 "bad --dim is a usage error"
docpipe-summarize --backend nope </dev/null 2>"$T_DIR/u.err"
is "$?" 2 "unknown backend is a usage error"
like "$(cat "$T_DIR/u.err")" "^docpipe-summarize: " "diagnostic names the stage"
docpipe-embed --help | grep -q "Exit status"
is "$?" 0 "--help lists exit codes"
done_testing
