#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# The database away for a few seconds in the middle of a summarize run: the
# answers received meanwhile wait in the result cache's backlog and are
# written when it is back, so the next run pays nothing (they were dropped:
# the next run paid for them again).  Away until the stage ends: what it
# could not keep is said.
. "$(dirname "$0")/../lib/tap.sh"
release_only "timing-bound (an outage mid-round)"
newdb || exit 1
at_exit 'db_allow true'
# 200 ms an answer, 4 at a time: ~20 answers a second, a run of 12 s.
fakeapi --latency chat=200
SUMMARIZE=(docpipe-summarize --backend openai --chunk-summaries --threads 4)

# 40 documents of 5 chunks (distinct texts): rounds end during the outage.
chunked_doc /d/doc%d.md 5 40 | jq -c '.path as $p | .chunks |= map(.text = $p + " " + .text)' \
	>"$T_DIR/docs.ndjson"
# The server holds the requests after the 50th until the database is
# away, and those after the next 80 until it is back: the outage has
# answers within it and the run goes on after it whatever the load (a
# poll of the count on a loaded machine could see the run's end first).
api_control '{"hold_after": {"chat": 50}}'
"${SUMMARIZE[@]}" <"$T_DIR/docs.ndjson" >/dev/null 2>"$T_DIR/e1" &
S=$!
wait_for 60 api_requests_ge chat 51
db_allow false
killed=$(db_kick 'docpipe-summarize%')
ok $((killed >= 1 ? 0 : 1)) "database closed and summarize's connection cut ($killed)"
api_control '{"hold": false, "hold_after": {"chat": 80}}'
wait_for 60 api_requests_ge chat 131
db_allow true
api_control '{"hold": false}'
wait $S
is "$?" 0 "summarize ends (exit 0)"
TOTAL=$(api_requests chat)
like "$(cat "$T_DIR/e1")" "could not keep results for reuse: .*said once" "the outage is said once"
like "$(cat "$T_DIR/e1")" "the result cache works again" "and its end"
is "$(kept)" "$TOTAL" "every answer is kept, those received during the outage too"
api_reset
"${SUMMARIZE[@]}" <"$T_DIR/docs.ndjson" >/dev/null 2>"$T_DIR/e2"
is "$?:$(api_requests chat)" 0:0 "the next run pays nothing"

# Away from mid-run to the end: the backlog cannot be written; said.
# Answers in 50 ms: the hold, not the pace, puts the outage mid-run, and
# nothing here waits for the run to go on after it (at 200 ms the 150
# answers before it took 8-10 s).
sql "TRUNCATE docpipe.summary_cache"
api_reset
api_control '{"latency": "chat=50", "hold_after": {"chat": 150}}'
"${SUMMARIZE[@]}" <"$T_DIR/docs.ndjson" >/dev/null 2>"$T_DIR/e3" &
S=$!
wait_for 60 api_requests_ge chat 151
db_allow false
db_kick 'docpipe-summarize%' >/dev/null
api_control '{"hold": false}'
wait $S
is "$?" 0 "away until the end: summarize ends (exit 0)"
like "$(cat "$T_DIR/e3")" "[0-9]+ result\(s\) not kept for reuse \(the database is away\): a later run asks for them again" \
	"it says how many results it could not keep"
db_allow true
done_testing
