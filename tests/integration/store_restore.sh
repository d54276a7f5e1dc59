#!/bin/bash
# A document whose text is unchanged is stored again when the summarizer or
# the embedder that produced its record changed (the store compares hash,
# chunker, summarizer and embedder), and only then.
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
mkdir -p docs
for i in 1 2 3; do printf '# Doc %d\n\nFirst sentence of %d. Second one here.\n' "$i" "$i" >"docs/d$i.md"; done
statuses() { jq -r .status "$1" | sort | uniq -c | xargs; }

# The summarizer changes: local, then an API model, then that model again.
newdb || exit 1
docpipe-discover docs | docpipe-chunk | docpipe-summarize | docpipe-embed | docpipe-store -q >r1.ndjson
is "$?/$(statuses r1.ndjson)" "0/3 stored" "local summarizer: three documents stored"
docpipe-discover docs | docpipe-chunk | docpipe-summarize | docpipe-embed | docpipe-store -q >r2.ndjson
is "$(statuses r2.ndjson)" "3 unchanged" "same summarizer again: unchanged"

python3 "$TOP/tests/fakeapi.py" --port 0 >port 2>server.err &
SERVERS+=($!)
wait_for 30 test -s port || { ok 1 "the test API server starts"; done_testing; }
export OPENAI_BASE_URL=http://127.0.0.1:$(awk '{print $2}' port)/v1 OPENAI_API_KEY=sk-test-restore
before=$(sql "SELECT string_agg(summarizer || ':' || summary, '|' ORDER BY path) FROM docpipe.documents")
docpipe-discover docs | docpipe-chunk | docpipe-summarize --backend openai --no-reuse 2>/dev/null |
	docpipe-embed | docpipe-store -q >r3.ndjson
is "$?/$(statuses r3.ndjson)" "0/3 stored" "another summarizer: stored again"
is "$(sql "SELECT count(DISTINCT summarizer) FROM docpipe.documents WHERE summarizer LIKE 'openai/%'")" 1 \
	"the new summarizer is recorded"
ok $([ "$(sql "SELECT string_agg(summarizer || ':' || summary, '|' ORDER BY path) FROM docpipe.documents")" != "$before" ]; echo $?) \
	"and its summaries replace the old ones"
docpipe-discover docs | docpipe-chunk | docpipe-summarize --backend openai --no-reuse 2>/dev/null |
	docpipe-embed | docpipe-store -q >r4.ndjson
is "$(statuses r4.ndjson)" "3 unchanged" "that summarizer again: unchanged"

# The embedder changes: none (a corpus stored without vectors), then the
# local embedder.
newdb || exit 1
docpipe-discover docs | docpipe-chunk | docpipe-summarize | docpipe-store -q >e1.ndjson
is "$?/$(statuses e1.ndjson)" "0/3 stored" "no embedder: three documents stored without vectors"
docpipe-discover docs | docpipe-chunk | docpipe-summarize | docpipe-embed --dim 64 | docpipe-store -q >e2.ndjson
is "$?/$(statuses e2.ndjson)" "0/3 stored" "embedded now: stored again"
is "$(sql "SELECT DISTINCT embedder || ' ' || dim FROM docpipe.documents")" "local/fh-v1 64" "the embedder is recorded"
is "$(sql 'SELECT count(*) FROM docpipe.chunks WHERE embedding IS NULL')" 0 "every chunk has its vector"
docpipe-discover docs | docpipe-chunk | docpipe-summarize | docpipe-embed --dim 64 | docpipe-store -q >e3.ndjson
is "$(statuses e3.ndjson)" "3 unchanged" "same embedder again: unchanged"
done_testing
