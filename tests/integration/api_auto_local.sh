#!/bin/bash
# --threads auto against a server of one slot whose answers take a third
# of --timeout (a local model: Ollama or llama.cpp serving one request at
# a time).  Each request more in flight waits one answer more: the climb
# made the waits outlast the timeout, the requests were given up and sent
# again, and the give-ups were taken for weather (30 documents: 161
# requests sent again, 6.5x the time of --threads 1).  Now an answer over
# half the timeout lowers the level at once (src/lib/limiter.h, "Late
# answers"): nothing is asked twice.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
unset DATABASE_URL OPENAI_API_KEY PGDATABASE

# Distinct texts: copies would wait for one request (docs/reuse.md).
chunked_doc "/local%d.md" 1 10 | jq -c '.path as $p | .chunks |= map(.text = $p + " " + .text)' >"$T_DIR/docs.ndjson"
fakeapi --slots 1 --latency chat=700
timeout 120 docpipe-summarize --backend openai --no-reuse --threads auto --timeout 2 \
	<"$T_DIR/docs.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
rc=$?
api_stats >"$T_DIR/stats"
diag "$(jq -c .status.chat "$T_DIR/stats"); $(grep -o 'in flight: .*' "$T_DIR/err")"
is "$rc" 0 "auto against one slot answering in a third of --timeout: exit 0"
is "$(jq -r .kind "$T_DIR/out" | sort | uniq -c | tr -s ' ')" " 10 document" "the 10 documents are summarized"
is "$(jq -r .requests.chat "$T_DIR/stats")" 10 "one request each: none given up and sent again"
most=$(jq -r .max_concurrent.chat "$T_DIR/stats")
ok "$([ "$most" -le 2 ] && echo 0 || echo 1)" "at most 2 in flight (a third answer would wait past the timeout): $most"
done_testing
