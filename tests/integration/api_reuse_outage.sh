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
DB=$PGDATABASE
block() { psql -X -q -d postgres -c "ALTER DATABASE $DB ALLOW_CONNECTIONS $1" >/dev/null; }
kick() { psql -X -q -A -t -d postgres -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	WHERE datname = '$DB' AND application_name LIKE 'docpipe-summarize%'"; }
at_exit 'block true'
# 200 ms an answer, 4 at a time: ~20 answers a second, a run of 12 s.
fakeapi --latency chat=200
kept() { sql "SELECT count(*) FROM docpipe.summary_cache"; }
SUMMARIZE=(docpipe-summarize --backend openai --chunk-summaries --threads 4)

# 40 documents of 5 chunks (distinct texts): rounds end during the outage.
chunked_doc /d/doc%d.md 5 40 | jq -c '.path as $p | .chunks |= map(.text = $p + " " + .text)' \
	>"$T_DIR/docs.ndjson"
"${SUMMARIZE[@]}" <"$T_DIR/docs.ndjson" >/dev/null 2>"$T_DIR/e1" &
S=$!
wait_for 60 api_requests_ge chat 50
block false
killed=$(kick)
ok $((killed >= 1 ? 0 : 1)) "database closed and summarize's connection cut ($killed)"
wait_for 60 api_requests_ge chat 130
block true
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
sql "TRUNCATE docpipe.summary_cache"
api_reset
"${SUMMARIZE[@]}" <"$T_DIR/docs.ndjson" >/dev/null 2>"$T_DIR/e3" &
S=$!
wait_for 60 api_requests_ge chat 150
block false
kick >/dev/null
wait $S
is "$?" 0 "away until the end: summarize ends (exit 0)"
like "$(cat "$T_DIR/e3")" "[0-9]+ result\(s\) not kept for reuse \(the database is away\): a later run asks for them again" \
	"it says how many results it could not keep"
block true
done_testing
