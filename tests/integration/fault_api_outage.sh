#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# The model API goes away mid-run (a restart, a deploy, a network blip):
# every request meets "Couldn't connect to server" for a while.  Before,
# that counted as an attempt like a 500, so each request in flight gave up
# after 6 attempts (~11 s) and its document failed: a 12 s outage failed
# every document that met it.  Now a server that has answered before (or
# taken a connection: a request cut off by its restart) and
# refuses the connection is weather, like a 429: retried within the retry
# budget without using up attempts.  A server never reached (a wrong URL)
# still fails after the attempts, fast.  So do a server answering 5xx to
# every call for a while (weather once 3 calls fail with no success), a
# storm of 5xx among successes (weather once 3 calls of the last 32
# answers met one) and a poison input (a 500 on one text while others
# succeed: counted).  Here the stages take --retries 3 (attempts over
# ~1.5 s, as the case of a server gone mid-request below) where the
# outage's length is not the point: a 5 s outage is then well beyond them
# (12 s was just beyond the 6 attempts' ~11 s), and the backoff after it
# is shorter.  The backoff begins at 50 ms, not 500 (the stages' test hook
# DOCPIPE_TEST_BACKOFF_MS): the attempts of --retries 3 then span ~0.15 s
# and the outages are further beyond them; a retry after the server came
# back waited up to 8 s (the doubling from 500 ms: 4 cases, ~30 s of this
# test), now ~1.6-3.2 s after the shorter outages (the 12 s one still
# reaches the 8 s cap).
. "$(dirname "$0")/../lib/tap.sh"
release_only "outages of the model API, one of 12 s"
set -o pipefail
unset OPENAI_API_KEY
export DOCPIPE_TEST_BACKOFF_MS=50

numbered_docs "$T_DIR/docs" 60 12 doc
docpipe-discover "$T_DIR/docs" | docpipe-chunk >"$T_DIR/chunked.ndjson"
# outage_after HOLD JQ-CONDITION SECONDS LATENCY: starts a test server
# (PORT, SERVER, BASE; --latency LATENCY) that holds every request once
# HOLD (fakeapi's "hold_after": {"chat": N, ...}) is met; it is killed
# once its /_stats meet JQ-CONDITION (the held requests cut off) and
# started again on its port SECONDS later, in the background (its pid in
# outage).  The hold makes the outage come mid-run whatever the load: a
# poll of the stats that met the condition late on a loaded machine would
# kill a server the stages had done with.  Its port is reserved
# (free_ports: below the kernel's ephemeral range): one the kernel picked
# for port 0 could be given to another test's server or hub during the
# outage, which would then take this test's requests, and the restart
# would fail.
outage_after() {
	PORT=$(free_ports 1) || { ok 1 "a free port for the test server"; done_testing; }
	fakeapi --port "$PORT" --latency "$4"
	api_control "{\"hold_after\": $1}"
	local cond=$2
	(
		wait_for 60 eval '[ "$(api_stats "$cond")" = true ]'
		kill "$SERVER"
		sleep "$3"
		exec python3 "$TOP/tests/fakeapi.py" --port "$PORT" --latency "$4" \
			>"$T_DIR/server-again-$PORT.port" 2>"$T_DIR/server-again-$PORT.err"
	) &
	outage=$!
}
# end_outage: stops the server started again (once it is: a run that gave
# up early ends before it), and the outage.
end_outage() {
	for _ in $(seq 400); do [ -s "$T_DIR/server-again-$PORT.port" ] && break; sleep 0.05; done
	pkill -f "fakeapi.py --port $PORT" 2>/dev/null
	wait $outage 2>/dev/null
}
# Once both stages have met the server (a stage that never reached it
# fails fast, as a wrong URL).  Held from embed's first request (or the
# 41st chat request: summarize writes its output in blocks, and embed's
# first request comes once one has left, after a number of documents, not
# of seconds), so summarize has documents left to ask for.
outage_after '{"chat": 40, "embed": 0}' '.requests.chat >= 6 and .requests.embed >= 1' 5 chat=150,embed=50
# Both stages append (a writer without O_APPEND overwrites the other's lines).
: >"$T_DIR/err"
docpipe-summarize --backend openai --no-reuse --threads 4 --retries 3 <"$T_DIR/chunked.ndjson" 2>>"$T_DIR/err" |
	docpipe-embed --backend openai --no-reuse --threads 2 --retries 3 >"$T_DIR/out" 2>>"$T_DIR/err"
rc=$?
is "$rc" 0 "a 5 s outage of the model API, --retries 3 (attempts over ~0.15 s): both stages exit 0"
is "$(jq -r .kind "$T_DIR/out" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" "document=60 " \
	"every document summarized and embedded, none failed"
[ "$rc" = 0 ] || { sed 's/^/# /' "$T_DIR/err"; jq -r 'select(.kind == "error") | "# \(.path): \(.error)"' "$T_DIR/out"; }
like "$(grep -o '[0-9]* retries' "$T_DIR/err" | head -1)" "^[1-9][0-9]* retries" "the outage was met (retries)"
end_outage

# The same outage in a graph: summarize says it waits on the model API
# (stats "waiting" once 3 distinct calls failed with no success), the
# hub's progress shows it and nothing is re-sent or failed.  12 s: over
# twice the hub's --timeout 5 (which its send-to-receipt estimate may
# lengthen).
newdb || exit 1
outage_after '{"chat": 6}' '.requests.chat >= 7' 12 chat=150,embed=50
docpipe run "$T_DIR/docs" --progress plain --timeout 5 --attempts 2 --opt summarize=--backend=openai \
	--opt summarize=--no-reuse --threads summarize=4 >"$T_DIR/report" 2>"$T_DIR/err"
rc=$?
is "$rc/$(jq -r '[.added, .failed, .resent] | @tsv' "$T_DIR/report")" "$(printf '0/60\t0\t0')" \
	"in a graph: every document stored, none failed, none re-sent (--timeout 5)"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/err"
like "$(cat "$T_DIR/err")" "summarize .*waiting for the model API [0-9]+ s" "the progress shows the wait"
end_outage

# The server goes away while the stage's first request is in flight: it
# took the connection, so it was there, and refusals after that are its
# outage (weather), not a wrong URL.  Before, the attempts counted: with
# --retries 3 the document failed after ~1.5 s of a 4 s outage.  (The
# hold keeps the request in flight until the kill; the server started
# again answers in 150 ms, not the 2 s that once kept it in flight.)
outage_after '{"chat": 0}' '.requests.chat >= 1' 4 chat=150
docpipe-summarize --backend openai --no-reuse --retries 3 < <(head -n 1 "$T_DIR/chunked.ndjson") \
	>"$T_DIR/out" 2>"$T_DIR/err"
rc=$?
is "$rc/$(jq -r .kind "$T_DIR/out")" "0/document" \
	"a server gone while the first request is in flight: retried as weather, the document summarized"
[ "$rc" = 0 ] || { sed 's/^/# /' "$T_DIR/err"; jq -r 'select(.kind == "error") | "# \(.error)"' "$T_DIR/out"; }
end_outage

# A server that answers 503 to every request for 5 s (a deploy behind a
# proxy whose upstream is away): once 3 distinct calls fail with no success
# between them it is down for all, and its errors are weather (before, each
# request gave up after its 3 attempts, ~1.5 s).
# The server holds the requests after the 6th until the 503s begin: the
# stage cannot have asked for every document before them.
fakeapi --latency chat=100,embed=5
api_control '{"hold_after": {"chat": 6}}'
(
	wait_for 60 api_requests_ge chat 7
	api_control '{"rate_5xx":1}'
	api_control '{"hold":false}'
	sleep 5
	api_control '{"rate_5xx":null}'
) &
down=$!
docpipe-summarize --backend openai --no-reuse --threads 4 --retries 3 <"$T_DIR/chunked.ndjson" 2>"$T_DIR/err" >"$T_DIR/out"
rc=$?
wait $down
is "$rc/$(jq -r .kind "$T_DIR/out" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" "0/document=60 " \
	"5 s of 503 to every request, --retries 3: every document summarized, none failed"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/err"
like "$(api_stats '.status.chat["503"]')" "^[1-9][0-9]*$" "(the 503s were met)"

# A storm of 5xx among successes (an overloaded provider): 40% of the
# requests answered 503 at random, --retries 3.  Never down for all (2xx
# keep coming), but many calls fail alike: their errors are weather too
# (DP_HTTP_STORM_ANSWERS).  Before, each request gave up after 3 straight
# 503s (6.4% of them: most runs failed some of the 60 documents).
api_control '{"rate_5xx":0.4}'
docpipe-summarize --backend openai --no-reuse --threads 4 --retries 3 <"$T_DIR/chunked.ndjson" \
	2>"$T_DIR/err" >"$T_DIR/out"
rc=$?
api_control '{"rate_5xx":null}'
is "$rc/$(jq -r .kind "$T_DIR/out" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" "0/document=60 " \
	"40% of requests 503 at random, --retries 3: every document summarized, none failed"
[ "$rc" = 0 ] || grep -v '^docpipe-summarize: progress' "$T_DIR/err" | head -5 | sed 's/^/# /'
like "$(api_stats '.status.chat["503"]')" "^[1-9][0-9]+$" "(the 503s were met)"

# A poison input: the server fails (500) on one document's text only,
# while the others succeed: not "down", its attempts count, it fails alone
# and fast.
printf '# Poison\n\nThis text holds POISON-INPUT for the server.\n' >"$T_DIR/docs/poison.md"
docpipe-discover "$T_DIR/docs" | docpipe-chunk >"$T_DIR/chunked2.ndjson"
api_control '{"bad_input":"POISON-INPUT","bad_input_status":500}'
start=$(date +%s)
docpipe-summarize --backend openai --no-reuse --threads 4 --retries 3 <"$T_DIR/chunked2.ndjson" 2>"$T_DIR/err" >"$T_DIR/out"
rc=$?
is "$rc/$(jq -r 'select(.kind == "error") | .path' "$T_DIR/out" | xargs -r -n1 basename)" "1/poison.md" \
	"a poison input (500 on its text only): its document alone fails (exit 1)"
like "$(jq -r 'select(.kind == "error") | .error' "$T_DIR/out")" "gave up after 3 attempts" "after its 3 attempts (--retries 3)"
ok $(( $(date +%s) - start < 60 ? 0 : 1 )) "without waiting out the retry budget"

# A server never reached: the attempts count, the documents fail fast
# (4 calls failing alike are no storm: the server never answered), and
# after DP_HTTP_NEVER_REACHED_CALLS (3) such calls given up the stage stops
# as a refused run does (exit 4): each later document would fail alike
# after its attempts, one at a time.
start=$(date +%s)
OPENAI_BASE_URL=http://127.0.0.1:1/v1 docpipe-summarize --backend openai --no-reuse --retries 3 --threads 4 \
	< <(head -n 4 "$T_DIR/chunked.ndjson") >"$T_DIR/out" 2>"$T_DIR/err"
rc=$?
is "$rc/$(jq -r .kind "$T_DIR/out" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" "4/error=4 " \
	"a server never reached: the documents fail, the stage stops as refused (exit 4)"
like "$(jq -r .error "$T_DIR/out")" "gave up after 3 attempts in [0-9.]+ s: Couldn't connect to server" \
	"after its attempts, saying why"
ok $(( $(date +%s) - start < 30 ? 0 : 1 )) "without waiting out the retry budget"
# 24 documents, 2 in flight: 3 calls given up (the third names the stop),
# then the stage stops; the rest fail at once, naming the cause (the code
# before: every document after its attempts, one pair at a time).
OPENAI_BASE_URL=http://127.0.0.1:1/v1 docpipe-summarize --backend openai --no-reuse --retries 3 --threads 2 \
	< <(head -n 24 "$T_DIR/chunked.ndjson") >"$T_DIR/out" 2>"$T_DIR/err"
rc=$?
is "$rc/$(jq -r .kind "$T_DIR/out" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" "4/error=24 " \
	"a server never reached over 24 documents: the stage stops (exit 4), every document failed by name"
given_up=$(jq -r .error "$T_DIR/out" | grep -c "gave up after")
ok $([ "$given_up" -ge 2 ] && [ "$given_up" -le 4 ] && echo 0 || echo 1) \
	"... only the calls in flight spent their attempts ($given_up)"
like "$(cat "$T_DIR/err")" "stopped: the model API was never reached, 3 calls given up \(Couldn't connect to server\): check its URL" \
	"... saying so"
done_testing
