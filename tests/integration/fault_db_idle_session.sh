#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A database's (or role's) idle_session_timeout (PostgreSQL 14) cut
# docpipe's idle sessions (helper h27's F3, session 31): the run's
# recorder, whose session holds the run's claim on its roots (a session
# lock), lost it and renewed it every second (a second run could take the
# roots meanwhile); docpipe-query, idle while the model API embedded its
# question, failed its search.  Every docpipe session sets
# idle_session_timeout = 0 for itself (src/lib/db.c, connect_settings):
# the claim is held by one session for the whole run, unsaid, and the
# query answers.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
if [ "$(sql 'SHOW server_version_num')" -lt 140000 ]; then
	skip "the server has no idle_session_timeout (PostgreSQL 14)"
	done_testing
fi
sql "ALTER DATABASE $PGDATABASE SET idle_session_timeout = '1s'" >/dev/null
is "$(sql 'SHOW idle_session_timeout')" 1s "the database cuts sessions idle for 1 s"

D=$T_DIR/docs
numbered_docs "$D" 4 30 doc
fakeapi
API=(--opt summarize=--backend=openai --opt embed=--backend=openai)
export OPENAI_BASE_URL=$BASE/v1

# idle_for PID SECONDS: session PID (of this database) has been idle for
# SECONDS.
idle_for() {
	sql_ge "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND datname = current_database()
		AND state = 'idle' AND now() - state_change >= interval '$2 s'" 1
}
# claim_pid: the session holding a live run's claim (its advisory lock).
claim_pid() {
	sql "SELECT coalesce(min(pid), 0) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND classid = 1685089394 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
}

# A run held by its model API: its recorder idles, holding the claim.
api_control '{"hold": true}'
docpipe run "$D" --progress none "${API[@]}" >"$T_DIR/run.json" 2>"$T_DIR/run.err" &
run=$!
wait_for 60 api_requests_ge chat 1
ok $? "a run is under way, held by its model API" || diag "$(cat "$T_DIR/run.err")"
holder=$(claim_pid)
ok $([ "$holder" != 0 ]; echo $?) "its claim is held (session $holder)"
wait_for 20 idle_for "$holder" 3
ok $? "the claim's session stays, idle 3 s against a 1 s idle_session_timeout" || diag "$(cat "$T_DIR/run.err")"
is "$(claim_pid)" "$holder" "... the claim held by that session all along"
timeout 120 docpipe run "$D" --progress none "${API[@]}" >/dev/null 2>"$T_DIR/second.err"
is "$?" 2 "a second run over the root is refused meanwhile" || diag "$(cat "$T_DIR/second.err")"
api_control '{"hold": false}'
wait $run
is "$?" 0 "the run ends, every document stored" || diag "$(cat "$T_DIR/run.err")"
is "$(grep -c 'connection was lost\|claim on its roots is renewed\|closed the connection' "$T_DIR/run.err")" 0 \
	"... its claim never lost, no connection lost" || diag "$(cat "$T_DIR/run.err")"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" 4 "... 4 documents stored"

# docpipe-query idles while the model API embeds its question.
api_control '{"hold": true}'
embeds=$(api_requests embed)
docpipe-query "doc 2" >"$T_DIR/query.out" 2>"$T_DIR/query.err" &
query=$!
wait_for 30 api_requests_ge embed $((embeds + 1))
qpid=$(sql "SELECT coalesce(min(pid), 0) FROM pg_stat_activity WHERE application_name = 'docpipe-query' AND datname = current_database()")
wait_for 20 idle_for "$qpid" 2
ok $? "docpipe-query's session stays while the model API embeds its question (idle 2 s)"
api_control '{"hold": false}'
wait $query
is "$?" 0 "... and the query answers" || diag "$(cat "$T_DIR/query.err")"
grep -q "doc2.md" "$T_DIR/query.out"
ok $? "... finding the documents" || diag "$(cat "$T_DIR/query.out")"
done_testing
