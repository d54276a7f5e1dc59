#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A --wait claim behind a live run says, after DP_DB_LOCK_SAY_MS, what it
# waits for: the live run's claim is a lock of its recorder's session,
# which is idle with no transaction open.  Said before as any
# transaction's lock: "(docpipe-status, idle, transaction open ? s:
# COMMIT); it goes on when that session ends its transaction", which it
# never does (fault sweep 24).  A lock held by a transaction is still
# said as one (graph_sweep_wait, query_lock_wait, fault_db_blocked).
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
wait_for 30 grep -qs "waiting for a lock" "$T_DIR/wait.err"
ok $? "a waiting claim says what it waits for" || diag "$(cat "$T_DIR/wait.err")"
like "$(grep "waiting for a lock" "$T_DIR/wait.err")" \
	"^docpipe-status: waiting for a lock held by pid [0-9]+ \(docpipe-status[^,]*, idle, a lock of its session, no transaction open; its last statement: .*\); it goes on when that session lets its lock go or ends$" \
	"... the live run's claim, a lock of its recorder's session, not a transaction's"
ok "$(! grep -q "transaction open [0-9?]" "$T_DIR/wait.err"; echo $?)" "... and no transaction said open"

# The live run ends: its report recorded, its claim let go; the waiter claims.
live_claim_end
is "$?" 0 "the live run's recorder records its report and ends"
wait_for 30 grep -qx claimed "$T_DIR/wait.out"
ok $? "the waiting claim is made once the live run has ended" || diag "$(cat "$T_DIR/wait.err")"
exec {WAIT_FD}>&-
wait $waiter

done_testing
