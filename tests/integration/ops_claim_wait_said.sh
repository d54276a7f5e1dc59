#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# What a waiting claim says.  A --wait claim behind a live run says
# "waiting for it to end: run ..." once, and nothing more while it waits:
# the generic lock-wait line (dp_db_say_lock_waits, after DP_DB_LOCK_SAY_MS)
# told the same wait a second time, naming the live run's recorder by pid
# (session 58, helper h58d).  A lock someone else's session holds (a psql
# left holding the claim's turn) is said by that line, as a session's lock:
# before, as any transaction's, "(psql, idle, transaction open ? s:
# COMMIT); it goes on when that session ends its transaction", which it
# never does (fault sweep 24).  A lock held by a transaction is still said
# as one (graph_sweep_wait, query_lock_wait, fault_db_blocked).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
mkdir -p "$D"

# The live run's recorder: claims $D and holds the claim until its report
# comes (live_claim_end).
live_claim "$D"
ok $? "the live run's recorder claims its root" || diag "$(cat "$T_DIR/live.err")"

mkfifo "$T_DIR/wait.in"
docpipe-status --record-run - --claim t_wait --overlap wait "$D" <"$T_DIR/wait.in" >"$T_DIR/wait.out" 2>"$T_DIR/wait.err" &
waiter=$!
exec {WAIT_FD}>"$T_DIR/wait.in"
wait_for 30 grep -qs "waiting for it to end" "$T_DIR/wait.err"
ok $? "a waiting claim says it waits for the live run" || diag "$(cat "$T_DIR/wait.err")"
sleep 3 # past DP_DB_LOCK_SAY_MS (2 s)
is "$(grep -c . "$T_DIR/wait.err")" 1 "... once: no second line for the same wait" || diag "$(cat "$T_DIR/wait.err")"

# The live run ends: its report recorded, its claim let go; the waiter claims.
live_claim_end
is "$?" 0 "the live run's recorder records its report and ends"
wait_for 30 grep -qx claimed "$T_DIR/wait.out"
ok $? "the waiting claim is made once the live run has ended" || diag "$(cat "$T_DIR/wait.err")"
exec {WAIT_FD}>&-
wait $waiter

# A psql session holding the claims' turn (LIVE_TURN_KEY, src/status/live.c)
# as a lock of its session, idle: a claim waits for it and says who holds it.
mkfifo "$T_DIR/psql.in"
psql -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" <"$T_DIR/psql.in" >"$T_DIR/psql.out" 2>&1 &
holder=$!
exec {PSQL_FD}>"$T_DIR/psql.in"
echo "SELECT pg_advisory_lock(7237112460664137036); \\echo held" >&"$PSQL_FD"
wait_for 30 grep -qx held "$T_DIR/psql.out"
ok $? "a psql session holds the claims' turn" || diag "$(cat "$T_DIR/psql.out")"
mkfifo "$T_DIR/turn.in"
# (without psql's input: its end, below, must be psql's EOF)
docpipe-status --record-run - --claim t_turn "$D" <"$T_DIR/turn.in" >"$T_DIR/turn.out" 2>"$T_DIR/turn.err" {PSQL_FD}>&- &
turn=$!
exec {TURN_FD}>"$T_DIR/turn.in"
wait_for 30 grep -qs "waiting for a lock" "$T_DIR/turn.err"
ok $? "a claim held up by it says what it waits for" || diag "$(cat "$T_DIR/turn.err")"
like "$(grep "waiting for a lock" "$T_DIR/turn.err")" \
	"^docpipe-status: waiting for a lock held by pid [0-9]+ \(psql[^,]*, idle, a lock of its session, no transaction open; its last statement: .*\); it goes on when that session lets its lock go or ends$" \
	"... a lock of the psql session, not a transaction's"
ok "$(! grep -q "transaction open [0-9?]" "$T_DIR/turn.err"; echo $?)" "... and no transaction said open"
exec {PSQL_FD}>&-
wait $holder
wait_for 30 grep -qx claimed "$T_DIR/turn.out"
ok $? "the claim is made once the psql session ends" || diag "$(cat "$T_DIR/turn.err")"
exec {TURN_FD}>&-
wait $turn

done_testing
