#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# --threads auto against a server of 4 slots whose answers become 10x
# slower mid-run, for good, past half of --timeout (a model server moved
# to a slower card, a bigger model behind the same name) (fault sweep 24,
# session 57).  A late answer (over half of --timeout and over 1.25x the
# quickest of its size) lowers the level; the quickest was the run's
# least, from before the slowdown, so every answer after it was late:
# the level fell to 1 and stayed at 1-2 for the rest of the run, each
# late answer doubling the hold (live, 60 documents: 52.4 s, against
# 21.7 s for auto on a server that slow from the start and 13.7 s for
# --threads 4 with the same slowdown).  Now (helper h57f) the quickest
# is the server's time now: the last two answers that none of the stage's
# own requests could have queued (sent alone, no give-up just before,
# which the server still serves) raise it (src/lib/limiter.c,
# server_time): 8.6-10.2 s after the slowdown, 2-4 in flight at the end.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
unset DATABASE_URL OPENAI_API_KEY PGDATABASE

# Distinct texts: copies would wait for one request (docs/reuse.md).
chunked_doc "/slow%d.md" 1 40 | jq -c '.path as $p | .chunks |= map(.text = $p + " " + .text)' >"$T_DIR/docs.ndjson"
fakeapi --slots 4 --latency chat=60
timeout 120 docpipe-summarize --backend openai --no-reuse --threads auto --timeout 1.2 \
	<"$T_DIR/docs.ndjson" >"$T_DIR/out" 2>"$T_DIR/err" &
stage=$!
wait_for 30 api_requests_ge chat 8
start=$EPOCHREALTIME
api_control '{"latency": "chat=700"}'
wait $stage
rc=$?
end=$EPOCHREALTIME
api_stats >"$T_DIR/stats"
is "$rc" 0 "auto, the server 10x slower mid-run (past half of --timeout): exit 0" || diag "$(cat "$T_DIR/err")"
is "$(jq -r .kind "$T_DIR/out" | sort | uniq -c | tr -s ' ')" " 40 document" "the 40 documents are summarized"
# After the slowdown ~32 answers of 0.7 s on 4 slots: ~6 s at 4 in
# flight, 22 s at 1.  Bound: 14 s (a loaded machine's slack; at 1-2 in
# flight it takes 15-22 s).
secs=$(echo "$end - $start" | bc)
diag "after the slowdown: $secs s; $(grep -o 'in flight: [^(]*' "$T_DIR/err")"
ok "$(echo "$secs < 14" | bc | grep -q 1 && echo 0 || echo 1)" "the rest within 14 s (the level back near the server's 4 slots): $secs s"
# The time bound above tells the limiter of session 57 from the one
# before (1-2 in flight after the slowdown); the last level only says it
# did not stay at 1.  Not 3: the test server serves its queue in order
# (session 60), so the requests given up at the slowdown are answered
# before the new ones, and one more late answer may end the run at 2
# (3 of 56 ASan runs under load).
like "$(grep -o 'in flight: [0-9]* at the end' "$T_DIR/err")" "in flight: [2-9] at the end|in flight: [1-9][0-9]+ at the end" \
	"... 2 or more in flight at the end"

done_testing
