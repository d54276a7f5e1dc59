#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A stage's reader paused under load longer than the ZeroMQ heartbeat
# timeout the stages used to set (10 s): summarize's only thread waits 12 s
# for the model API (as a 429 backoff makes it wait) while its input queue
# is full.  libzmq 4.3.4 aborted there (`_input_stopped` assertion) with
# heartbeats on; now the run simply completes.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

numbered_docs "$T_DIR/docs" 60 20 doc
python3 "$TOP/tests/fakeapi.py" --port 0 --no-log --latency chat=12000+0 >"$T_DIR/port" 2>/dev/null &
SERVERS+=($!)
wait_for 30 grep -q PORT "$T_DIR/port"
PORT=$(awk '/PORT/ {print $2}' "$T_DIR/port")
export OPENAI_BASE_URL="http://127.0.0.1:$PORT/v1" OPENAI_API_KEY=test-key

# Plain progress every 5 s: a failure shows where the documents were.
docpipe run "$T_DIR/docs" --progress plain --opt hub=--progress-every=5 --threads summarize=1 \
	--opt summarize=--backend=openai \
	>"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
# The first request takes 12 s; the others none.
for _ in $(seq 200); do
	[ "$(curl -s "http://127.0.0.1:$PORT/_stats" | jq '.requests.chat // 0')" -ge 1 ] && break
	n=$(curl -s "http://127.0.0.1:$PORT/_stats" | jq '[.max_in_flight[]?] | add // 0')
	[ "$n" -ge 1 ] && break
	sleep 0.1
done
curl -s -X POST "http://127.0.0.1:$PORT/_control" -d '{"latency":"chat=0+0"}' >/dev/null
for _ in $(seq 600); do kill -0 $SUP 2>/dev/null || break; sleep 0.1; done
kill -0 $SUP 2>/dev/null && { diag "the run is still going after 60 s: stopping it"; kill -TERM $SUP; }
wait $SUP
rc=$?
is "$rc" 0 "the run completes"
[ "$rc" = 0 ] || { sed 's/^/# /' "$T_DIR/err"; curl -s "http://127.0.0.1:$PORT/_stats" | jq -c . | sed 's/^/# /'; }
is "$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report")" "$(printf '60\t0')" "60 stored, 0 failed"
is "$(grep -c 'Assertion' "$T_DIR/err")" 0 "no libzmq assertion"
is "$(grep -c 'restarting it' "$T_DIR/err")" 0 "no replica died"
is "$(grep -c 'unknown' "$T_DIR/err")" 0 "no unknown failure"
like "$(jq -r .seconds "$T_DIR/report")" "^1[2-9]|^[2-5][0-9]" "the pause lasted over 12 s"
done_testing
