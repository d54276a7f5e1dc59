#!/bin/bash
# --threads auto under 429 weather (issue 8): a server that answers 30% of
# requests 429 (Retry-After 0.2 s) and 5% 503 at random, whatever the load.
# Before the limiter told weather from a wall, auto fell to one request in
# flight paced at its floor (0.1 a second) and this run took minutes; now
# it finishes, nothing failed.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
unset DATABASE_URL OPENAI_API_KEY PGDATABASE
SERVER=
trap 'kill $SERVER 2>/dev/null; rm -rf "$T_DIR"' EXIT

chunked_doc /big.md 80 >"$T_DIR/big.ndjson"
fakeapi --slots 16 --latency chat=20 --rate-429 0.3 --rate-5xx 0.05 --retry-after 0.2

start=$(date +%s.%N)
timeout 240 docpipe-summarize --backend openai --no-reuse --chunk-summaries --threads auto \
	--max-threads 32 <"$T_DIR/big.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
rc=$?
secs=$(echo "$(date +%s.%N) - $start" | bc)
curl -sf "$BASE/_stats" >"$T_DIR/stats"
diag "$(jq -c .status.chat "$T_DIR/stats"), $secs s; $(grep -o 'in flight: .*' "$T_DIR/err")"
is "$rc" 0 "auto under 30% 429 + 5% 503 at random: exit 0 within 240 s"
is "$(jq -r .kind "$T_DIR/out")" document "the document is summarized, nothing failed"
# 83 requests: at one request in flight paced at its floor (0.1 a second),
# as before, over 800 s; some runs still take a wrong turn early and need
# 30-50 s (docs/PERFORMANCE.md), most 5-15 s.  The bound leaves room for a
# loaded machine and the sanitizer build: this checks "finishes", not speed.
ok "$(echo "$secs < 240" | bc | grep -q 1 && echo 0 || echo 1)" "finished in bounded time (under 240 s: $secs s)"
most=$(jq -r .max_concurrent.chat "$T_DIR/stats")
ok "$([ "$most" -le 32 ] && echo 0 || echo 1)" "never above --max-threads (32): $most"
done_testing
