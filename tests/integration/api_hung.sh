#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A request the model API loses (it never answers: a dropped upstream, a
# stuck worker) used to hold its document for the whole --timeout (the
# fault suite's api_hang: two hung requests held the run's end 60 s, 7x
# the clean run).  Now it is given up once no byte of an answer came for
# 20 x its size class's no-load time (a class not answered yet: the
# nearest one's, x sqrt(2) a class above it; at least 5 s) while more than
# 2 x the level + 16 requests sent after it were answered, and sent
# again (an attempt, as a timeout).  A server slow for everyone overtakes
# no one: nothing is given up then.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
export OPENAI_API_KEY=k
numbered_docs "$T_DIR/d" 60 12 n
docpipe-discover "$T_DIR/d" | docpipe-chunk >"$T_DIR/chunks.ndjson"
# after N JSON: the server answers N chat requests, then holds the next
# ones until JSON is posted to its /_control (in the background: its pid
# in AFTER), so what JSON sets meets the requests after the N-th whatever
# the load.  (A poll of the count, then the post: on a loaded machine the
# stage had sent most of its 60 requests by then, too few were left to
# overtake the lost ones, and the test waited out their 120 s.)
after() {
	api_control "{\"hold_after\": {\"chat\": $1}}"
	(
		wait_for 60 api_requests_ge chat $(($1 + 1))
		api_control "$2"
		api_control '{"hold": false}'
	) &
	AFTER=$!
}
summarize() {
	docpipe-summarize --backend openai --no-reuse --threads "${1:-4}" --timeout 150 <"$T_DIR/chunks.ndjson" \
		>"$T_DIR/out" 2>"$T_DIR/err"
}

# Two requests hang 120 s (then the server closes them unanswered); the
# others take 100 ms.
fakeapi --latency chat=100
after 8 '{"faults":[{"endpoint":"chat","kind":"hang","seconds":120},{"endpoint":"chat","kind":"hang","seconds":120}]}'
start=$SECONDS
summarize
rc=$?
took=$((SECONDS - start))
wait $AFTER
is "$rc/$(jq -r .kind "$T_DIR/out" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" "0/document=60 " \
	"two requests the server loses: every document summarized"
like "$(cat "$T_DIR/err")" "2 given up as lost \(hung\)" "both given up as lost, and said so"
ok $((took < 100 ? 0 : 1)) "without waiting for the hangs (120 s): $took s"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err"

# The server stops answering everyone for 8 s (a pause, a queue): no
# request overtakes another, none is given up, nothing is asked twice.
# It holds every request after the 8th; the 8 s count from the 12th (4
# threads: the stage's whole level waits).
api_reset
api_control '{"hold_after": {"chat": 8}}'
(
	wait_for 60 api_requests_ge chat 12
	sleep 8
	api_control '{"hold":false}'
) &
release=$!
summarize
rc=$?
wait $release
is "$rc/$(jq -r .kind "$T_DIR/out" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" "0/document=60 " \
	"a server slow for everyone (8 s held): every document summarized"
ok "$(grep -c "given up as lost" "$T_DIR/err")" "none given up as lost"
is "$(api_requests chat)" 60 "each asked once"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err"

# A lost request whose size class none has answered yet (a long document
# among short ones: its prompt is ~5 classes above theirs) is judged by the
# nearest class's time, x sqrt(2) a class (~11 s here), not waited for to
# its --timeout (150 s; before, the whole of it).  Its file sorts early, so
# enough requests leave after it to overtake it.
api_reset
printf '# Big\n\nbigmarker %s\n' "$(seq -s ' ' 1 1500)" >"$T_DIR/d/n15-big.md"
docpipe-discover "$T_DIR/d" | docpipe-chunk >"$T_DIR/chunks.ndjson"
api_control '{"faults":[{"endpoint":"chat","kind":"hang","seconds":120,"input":"bigmarker"}]}'
start=$SECONDS
summarize
rc=$?
took=$((SECONDS - start))
is "$rc/$(jq -r .kind "$T_DIR/out" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" "0/document=61 " \
	"a lost request of a size class not yet answered: every document summarized"
like "$(cat "$T_DIR/err")" "1 given up as lost \(hung\)" "given up as lost, and said so"
ok $((took < 60 ? 0 : 1)) "without waiting for its --timeout (150 s): $took s"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err"
# The stage's very first request is lost.  Until a first success the
# stage keeps one request in flight (a refused key costs one request), so
# nothing overtook it and it held the stage idle for its --timeout (150 s
# here).  Now, unanswered for 5 s, it lets one more go; the first success
# opens the level, and the lost one is given up as above.
for threads in 4 auto; do
	api_reset
	api_control '{"faults":[{"endpoint":"chat","kind":"hang","seconds":120}]}'
	start=$SECONDS
	summarize $threads
	rc=$?
	took=$((SECONDS - start))
	is "$rc/$(jq -r .kind "$T_DIR/out" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" "0/document=61 " \
		"--threads $threads, the first request lost: every document summarized"
	like "$(cat "$T_DIR/err")" "1 given up as lost \(hung\)" "given up as lost, and said so"
	ok $((took < 60 ? 0 : 1)) "without waiting for its --timeout (150 s): $took s"
	[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err"
done
done_testing
