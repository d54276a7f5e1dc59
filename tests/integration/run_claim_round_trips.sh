#!/bin/bash
# docpipe run's claim (docpipe-status --record-run - --claim, its
# recorder) is on every run's start, into a fresh database in issue 8
# (b)'s benchmark: each of its round trips to the server is a wake-up of
# the recorder and of its backend, a millisecond or more on a loaded
# machine.  Its statements, counted in the server's log
# (log_min_duration_statement = 0) up to the claim's row: 10 into a fresh
# database and into one that has the tables (session 57: BEGIN sent with
# its lock, the tables' statements in one; 17 before, the first check
# fails).  The claim is still made, and refused beside a live one.
. "$(dirname "$0")/../lib/tap.sh"
PG_OPTS="-c log_min_duration_statement=0 -c log_line_prefix='%a|%p|'" private_pg
newdb || exit 1
ROOT=$T_DIR/root
mkdir -p "$ROOT"

# claim RUN: a recorder claiming ROOT for RUN, as docpipe run starts it
# (its pid in REC_PID); ANSWER = its answer; its input (REC_IN) left open:
# the claim held.
claim() {
	mkfifo "$T_DIR/in.$1" "$T_DIR/out.$1"
	DOCPIPE_SUPERVISOR=$$ docpipe-status --record-run - --claim "$1" -- "$ROOT" \
		<"$T_DIR/in.$1" >"$T_DIR/out.$1" 2>>"$T_DIR/err" &
	REC_PID=$!
	exec {REC_IN}>"$T_DIR/in.$1"
	ANSWER=""
	IFS= read -r -t 30 ANSWER <"$T_DIR/out.$1"
}
# release: ends the last recorder (its input closed: nothing recorded).
release() {
	exec {REC_IN}>&-
	wait "$REC_PID"
}
# trips PID: the round trips of backend PID (a simple query's statements
# are one; an extended query's parse, bind and execute one) up to its
# claim's row (INSERT INTO docpipe.live_runs).
trips() {
	awk -F'|' -v pid="$1" '$1 == "docpipe-status" && $2 == pid && /duration: .* (statement|execute [^:]*):/ {
		n++; if (/INSERT INTO docpipe.live_runs/) { print n; exit } }' "$PGD/log"
}
# backend: the pid of the last recorder's backend, from the log.
backend() { awk -F'|' '$1 == "docpipe-status" && /connection authorized|duration:/ {p = $2} END {print p}' "$PGD/log"; }

claim first
is "$ANSWER" claimed "a recorder claims the root in a fresh database" || diag "$(cat "$T_DIR/err")"
fresh=$(trips "$(backend)")
ok "$([ -n "$fresh" ] && [ "$fresh" -le 10 ]; echo $?)" "its claim took $fresh round trips (at most 10)"
release

claim second
is "$ANSWER" claimed "and again once the first let it go, the tables there"
again=$(trips "$(backend)")
ok "$([ -n "$again" ] && [ "$again" -le 10 ]; echo $?)" "its claim took $again round trips (at most 10)"
first_in=$REC_IN first_pid=$REC_PID
claim third
like "$ANSWER" '^refused: run second ' "a third beside the live second is refused"
wait "$REC_PID"
is $? 2 "status 2"
REC_IN=$first_in REC_PID=$first_pid release
is "$(sql 'SELECT count(*) FROM docpipe.live_runs')" 0 "no claim left"
done_testing
