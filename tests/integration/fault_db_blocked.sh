#!/bin/bash
# timing: alone (tests/run: with nothing beside it)
# A database that holds the store up without an error: a lock another
# session holds (a migration, a transaction left open in psql) or a
# server that hangs (SIGSTOP here; a storage stall, a paused VM).  The
# store waits; every document was sent to it, so a re-send would only
# wait too.  Before, the hub re-sent each after --timeout and failed all
# of them after --attempts ("no receipt"), and nothing said why the run
# stood still.  Now the store says it waits (stats "waiting"), the hub
# re-sends nothing meanwhile and shows the wait, and the store names the
# session that holds the lock.  On a cluster of this test's own (the
# SIGSTOP would stop every other test's server).
. "$(dirname "$0")/../lib/tap.sh"
release_only "a 13 s lock and an 11 s stopped server"

private_pg
server_pids() {
	local pm
	pm=$(head -n 1 "$PGD/data/postmaster.pid")
	echo "$pm" $(pgrep -P "$pm")
}
at_exit 'kill -CONT $(server_pids) 2>/dev/null' # before private_pg's stop
newdb || exit 1

numbered_docs "$T_DIR/docs" 30 8 doc
docpipe run "$T_DIR/docs" --progress none >/dev/null 2>"$T_DIR/err"
ok $? "a first run stores the corpus"
numbered_docs "$T_DIR/docs" 60 9 more

# A lock on the documents table held until the store has said who holds it
# (its first explanation, after 10 s of waiting: over --timeout 5 x
# --attempts 2).  A lock of a fixed 13 s went, on a loaded machine, before
# a store that started late had waited 10 s (nothing said), or as the store
# asked who held it ("no session holds a lock").  (--timeout 3 failed once
# under a loaded suite: documents sent before the store, starting slowly,
# could say it waits are re-sent, the lock or not.)
# The same in a shell pipeline, behind the same lock at the same time (one
# wait of 10 s, not one a case: the test runs alone, on the wall whole): the
# store waits and says why.  Each says when it waited 10 s; the lock goes
# when both have, so the first may say it answered after more than 19 s.
said_lock() { grep -q 'waiting .* for a lock held by' "$1"; }
numbered_docs "$T_DIR/docs2" 5 9 pipe
hold_lock locker "LOCK TABLE docpipe.documents IN ACCESS EXCLUSIVE MODE" || diag "the lock was not taken in 30 s"
docpipe run "$T_DIR/docs" --progress plain --timeout 5 --attempts 2 >"$T_DIR/report" 2>"$T_DIR/err" &
run=$!
docpipe-discover "$T_DIR/docs2" | docpipe-chunk | docpipe-embed | docpipe-store >/dev/null 2>"$T_DIR/err2" &
pipe=$!
wait_for 60 said_lock "$T_DIR/err"
wait_for 60 said_lock "$T_DIR/err2"
release_lock locker
wait $run
rc=$?
is "$rc" 0 "behind a lock: the run completes (exit 0)"
is "$(jq -r '[.added, .unchanged, .failed, .resent] | @tsv' "$T_DIR/report")" "$(printf '60\t30\t0\t0')" \
	"behind a lock: every document stored or unchanged, none failed, none re-sent" ||
	sed 's/^/# /' "$T_DIR/err"
like "$(grep 'waiting .* for a lock' "$T_DIR/err")" \
	"^docpipe-store: waiting 1[0-9] s for a lock held by pid [0-9]+ \(locker, [a-z ]+, transaction open [0-9]+ s: BEGIN; LOCK TABLE docpipe.documents" \
	"behind a lock: the store names the session: application, state, age, statement"
like "$(cat "$T_DIR/err")" "store .*waiting for the database [0-9]+ s" "behind a lock: the progress shows the wait"
like "$(cat "$T_DIR/err")" "docpipe-store: the database answered after [1-9][0-9] s" "behind a lock: the store says when it ended"
wait $pipe
rc=$?
is "$rc/$(sql "SELECT count(*) FROM docpipe.documents WHERE root = '$T_DIR/docs2'")" "0/5" \
	"shell pipeline behind a lock: stored when the lock goes"
like "$(cat "$T_DIR/err2")" "waiting 1[0-9] s for a lock held by pid [0-9]+ \(locker" "shell pipeline: the store names the session"

# A server that hangs while the store writes: every process of the
# cluster stopped for 11 s (over --timeout 5 x --attempts 2) during a run
# slowed down in embed.
numbered_docs "$T_DIR/docs" 60 10 hung
BURN='--jq=(reduce range(20000) as $i (0; . + 1)) as $burn | .'
docpipe run "$T_DIR/docs" --progress none --timeout 5 --attempts 2 --opt "embed=$BURN" \
	>"$T_DIR/report" 2>"$T_DIR/err" &
run=$!
for _ in $(seq 200); do
	[ "$(sql "SELECT count(*) FROM docpipe.documents WHERE path LIKE '%/hung%'")" -gt 0 ] && break
	sleep 0.05
done
pids=$(server_pids)
kill -STOP $pids
sleep 11
kill -CONT $pids
wait $run
rc=$?
is "$rc" 0 "a hung server: the run completes (exit 0)"
is "$(jq -r '[.added, .failed, .resent] | @tsv' "$T_DIR/report")" "$(printf '60\t0\t0')" \
	"a hung server: every document stored, none failed, none re-sent" ||
	sed 's/^/# /' "$T_DIR/err"
is "$(sql 'SELECT count(*) FROM (SELECT document_id, seq FROM docpipe.chunks GROUP BY 1, 2 HAVING count(*) > 1) d')" 0 \
	"no duplicate chunk rows"
done_testing
