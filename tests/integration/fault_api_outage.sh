#!/bin/bash
# The model API goes away mid-run (a restart, a deploy, a network blip):
# every request meets "Couldn't connect to server" for a while.  Before,
# that counted as an attempt like a 500, so each request in flight gave up
# after 6 attempts (~11 s) and its document failed: a 12 s outage failed
# every document that met it.  Now a server that has answered before and
# refuses the connection is weather, like a 429: retried within the retry
# budget without using up attempts.  A server never reached (a wrong URL)
# still fails after the attempts, fast.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
unset OPENAI_API_KEY

numbered_docs "$T_DIR/docs" 60 12 doc
docpipe-discover "$T_DIR/docs" | docpipe-chunk >"$T_DIR/chunked.ndjson"
fakeapi --latency chat=150,embed=50
PORT=${BASE##*:}
# The server killed after its first answers, started again on its port
# 12 s later.
(
	for _ in $(seq 200); do
		[ "$(curl -sf "$BASE/_stats" | jq '.requests.chat')" -ge 6 ] 2>/dev/null && break
		sleep 0.05
	done
	kill "$SERVER"
	sleep 12
	exec /usr/bin/python3 "$TOP/tests/fakeapi.py" --port "$PORT" --latency chat=150,embed=50 \
		>"$T_DIR/server-again.port" 2>"$T_DIR/server-again.err"
) &
outage=$!
docpipe-summarize --backend openai --no-reuse --threads 4 <"$T_DIR/chunked.ndjson" 2>"$T_DIR/err" |
	docpipe-embed --backend openai --no-reuse --threads 2 >"$T_DIR/out" 2>>"$T_DIR/err"
rc=$?
is "$rc" 0 "a 12 s outage of the model API: both stages exit 0"
is "$(jq -r .kind "$T_DIR/out" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" "document=60 " \
	"every document summarized and embedded, none failed"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/err"
like "$(grep -o '[0-9]* retries' "$T_DIR/err" | head -1)" "^[1-9][0-9]* retries" "the outage was met (retries)"
pkill -f "fakeapi.py --port $PORT" 2>/dev/null
wait $outage 2>/dev/null

# A server never reached: the attempts count, the document fails fast.
start=$(date +%s)
OPENAI_BASE_URL=http://127.0.0.1:1/v1 docpipe-summarize --backend openai --no-reuse --retries 3 \
	< <(head -n 1 "$T_DIR/chunked.ndjson") >"$T_DIR/out" 2>"$T_DIR/err"
rc=$?
is "$rc/$(jq -r .kind "$T_DIR/out")" "1/error" "a server never reached: the document fails (exit 1)"
like "$(jq -r .error "$T_DIR/out")" "gave up after 3 attempts in [0-9.]+ s: Couldn't connect to server" \
	"after its attempts, saying why"
ok $(( $(date +%s) - start < 30 ? 0 : 1 )) "without waiting out the retry budget"
done_testing
