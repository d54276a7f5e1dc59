#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# Two docpipe runs over the same roots at once (sweep 7, finding 15): the
# second paid the model API again for every document the first had not
# finished (138 + 114 chat requests against 138).  A run claims its roots
# in the database before discover starts (src/status/live.h): a second run
# over the same or an overlapping root (one under the other) in the same
# database refuses to start, naming the live run (id, pid, host, start,
# root), status 2, fast, nothing paid; a run over other roots starts
# beside it; --allow-concurrent starts beside it all the same; --wait
# waits for it to end.  Live is the claim's session lock held: a run
# killed with -9 is over at once (its row stays, and is removed by the
# next claim).  A --watch run is live until it stops.  docpipe status lists
# the live runs, and a row no session holds as stale, never as live.  The
# supervisor killed with -9 alone: its recorder lets the claim go and says
# why (it said "docpipe-status: -: empty").  The database away at the
# start: the claim waits for it (--db-retry) before anything starts, so two
# such runs do not both pay (before: each went on unclaimed, paying).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

D=$T_DIR/docs
numbered_docs "$D" 6 40 doc
numbered_docs "$D/sub" 3 5 sub
numbered_docs "$T_DIR/other" 2 5 other
two_apis
API=(--opt summarize=--backend=openai --threads summarize=2)

# claims: the live runs' advisory locks held on this database (pg_locks
# lists every database's: a run of a test beside holds one too).
claims() {
	sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1685089394
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
}
# first_run [ARGS...]: a run over D against the first API, whose answers
# are held (live until they are let go), in the background (its pid in
# FIRST), under way once it paid a request.
first_run() {
	BASE=$A_BASE api_control '{"hold": true}'
	OPENAI_BASE_URL=$A_BASE/v1 docpipe run "$D" --progress none "${API[@]}" "$@" \
		>"$T_DIR/first.json" 2>"$T_DIR/first.err" &
	FIRST=$!
	# Its own claim first: a request alone could be a killed run's
	# replica's, left running (the --wait case's first run, refused as
	# the waiter claimed before it, passed so: 5 checks failed in CI).
	wait_for 60 sql_ge "SELECT count(*) FROM docpipe.live_runs WHERE pid = $FIRST" 1 &&
		BASE=$A_BASE wait_for 60 api_requests_ge chat 1
}
# second NAME ROOT [ARGS...]: a run over ROOT against the second API;
# RC, TOOK (s, tenths) and PAID (its chat requests) after it.
second() {
	local name=$1 start=${EPOCHREALTIME/./} before
	shift
	before=$(BASE=$B_BASE api_requests chat)
	OPENAI_BASE_URL=$B_BASE/v1 timeout 120 docpipe run "$@" --progress none "${API[@]}" \
		>"$T_DIR/$name.json" 2>"$T_DIR/$name.err"
	RC=$? TOOK=$(((${EPOCHREALTIME/./} - start) / 100000))
	TOOK=$((TOOK / 10)).$((TOOK % 10))
	PAID=$(($(BASE=$B_BASE api_requests chat) - before))
}

first_run
ok $? "a first run over the root is under way (paying)"
run_id=$(sed -n 's/^docpipe: run \([^:]*\): hub on .*/\1/p' "$T_DIR/first.err")
# docpipe status lists it: id, pid, host, start, roots, live.
docpipe status >"$T_DIR/status.txt" 2>&1
like "$(cat "$T_DIR/status.txt")" "Live runs:
  $run_id  pid $FIRST on $(hostname), started [0-9-]+T[0-9:]+Z
    $D
" "docpipe status lists the live run: id, pid, host, start, its root" || diag "$(cat "$T_DIR/status.txt")"
is "$(docpipe status --json | jq -c '.live_runs | map([.run, .pid, .host, .roots, .live])')" \
	"$(jq -cn --arg r "$run_id" --argjson p $FIRST --arg h "$(hostname)" --arg d "$D" '[[$r, $p, $h, [$d], true]]')" \
	"... and so does status --json (live: true)"
second same "$D"
is "$RC" 2 "a second run over the same root: exit 2" || diag "$(cat "$T_DIR/same.err")"
# Not a wait for it: the first run, held by its API, is live still.
ok "$(kill -0 $FIRST 2>/dev/null; echo $?)" "... at once, while the first run goes on ($TOOK s)"
is "$PAID" 0 "... paying nothing"
like "$(cat "$T_DIR/same.err")" "^docpipe: another run is live over these roots: run $run_id \(pid $FIRST on $(hostname), started [0-9-]+ [0-9:]+ [A-Z]+\) is storing under $D, which is the root $D of this run; not starting .*--wait waits for it to end, --allow-concurrent starts beside it$" \
	"... naming that run: id, pid, host, start, root"
is "$(grep -c . "$T_DIR/same.err")" 1 "... in one message"
second under "$D/sub"
is "$RC/$PAID" 2/0 "a root under the live run's: refused too, nothing paid"
like "$(cat "$T_DIR/under.err")" "is storing under $D, which overlaps $D/sub of this run" "... saying which roots overlap"
second over "$T_DIR"
is "$RC/$PAID" 2/0 "a root above the live run's: refused too"
second beside "$T_DIR/other"
is "$RC/$PAID" 0/2 "a run over other roots starts beside it (and pays for its own)" || diag "$(cat "$T_DIR/beside.err")"
second allowed "$D/sub" --allow-concurrent
is "$RC/$(grep -c 'hub on' "$T_DIR/allowed.err")" 0/1 "--allow-concurrent: starts beside it all the same" || diag "$(cat "$T_DIR/allowed.err")"
ok $(kill -0 $FIRST 2>/dev/null; echo $?) "the first run went on meanwhile"

# kill -9, the recorder too (a supervisor's alone leaves its recorder,
# which ends its claim at its input's end): the claim's session ends with
# the process, at once; its row stays.
recorder=$(pgrep -P $FIRST -x docpipe-status)
# The recorder first: killed after the supervisor, it could see its input
# end and remove its row before its own SIGKILL came (1 run in ~10).
kill -KILL $recorder
kill -KILL $FIRST
wait $FIRST 2>/dev/null
is "$(sql 'SELECT count(*) FROM docpipe.live_runs')" 1 "the run and its recorder killed with -9: its row stays" || diag "recorder [$recorder]: $(cat "$T_DIR/first.err")"
wait_for 30 eval '[ "$(claims)" = 0 ]'
docpipe status >"$T_DIR/status.txt" 2>&1
like "$(cat "$T_DIR/status.txt")" "  $run_id  pid $FIRST on $(hostname), started [0-9-]+T[0-9:]+Z  STALE: no session holds its claim" \
	"docpipe status shows the killed run's row as stale, not live" || diag "$(cat "$T_DIR/status.txt")"
is "$(docpipe status --json | jq -c '[.live_runs[] | .live]')" '[false]' "... and so does status --json (live: false)"
second after_kill "$D/sub"
is "$RC" 0 "after it was killed with -9, a run over its root starts" || diag "$(cat "$T_DIR/after_kill.err")"
is "$(sql 'SELECT count(*) FROM docpipe.live_runs')" 0 "... the dead run's row removed, its own at its end"

# --wait: waits for the live run, saying so, then runs.  Over documents
# nothing summarized yet: the killed run's replicas, left running, had D's
# summaries answered and cached, and a first run over D then paid nothing
# and ended at once (the waiter rightly went on).
api_reset
BASE=$A_BASE api_reset
D=$T_DIR/docs2
numbered_docs "$D" 6 40 doc2
numbered_docs "$D/sub" 3 5 sub2
first_run
ok $? "a first run over the new root is under way (paying)"
# --progress tty: its messages go through the run's messages file, shown
# by the hub, which does not run yet while the run waits to start.
OPENAI_BASE_URL=$B_BASE/v1 timeout 120 docpipe run "$D/sub" --wait --progress tty "${API[@]}" \
	>"$T_DIR/waited.json" 2>"$T_DIR/waited.err" &
waiter=$!
wait_for 20 grep -q "waiting for it to end" "$T_DIR/waited.err"
ok $? "--wait: says it waits for the live run (--progress tty too)" || diag "$(cat "$T_DIR/waited.err")"
sleep 1
ok "$(! grep -q "hub on" "$T_DIR/waited.err"; echo $?)" "... and starts nothing meanwhile" || diag "$(cat "$T_DIR/waited.err")"
# A waiting recorder whose supervisor is killed with -9 ends at once
# (it waited on for nothing, then claimed the roots for a run gone).
bash -c 'docpipe-status --record-run - --claim t_orphan --overlap wait "$1" & wait' _ "$D" \
	>/dev/null 2>"$T_DIR/orphan.err" &
parent=$!
wait_for 20 grep -q "waiting for it to end" "$T_DIR/orphan.err"
orphan=$(pgrep -P $parent -x docpipe-status)
kill -KILL $parent
wait_for 20 exited "$orphan"
ok $? "a recorder waiting to claim ends when its supervisor is killed with -9" || diag "$(cat "$T_DIR/orphan.err")"
# A run whose recorder is killed (-9) while it waits to claim does not
# start (status 3) and says what happened (before: "see above", with
# nothing above).
OPENAI_BASE_URL=$B_BASE/v1 docpipe run "$D/sub" --wait --progress none "${API[@]}" >/dev/null 2>"$T_DIR/reckill.err" &
reckill=$!
wait_for 20 grep -q "waiting for it to end" "$T_DIR/reckill.err"
pkill -KILL -P $reckill -f 'docpipe-status --record-run -'
wait_for 30 exited $reckill
wait $reckill
is "$?" 3 "a waiting run whose recorder is killed does not start (status 3)"
like "$(cat "$T_DIR/reckill.err")" "could not be claimed in the database \(its recorder, docpipe-status \(pid [0-9]+\), died of signal 9 first\)" \
	"... and says why"
BASE=$A_BASE api_control '{"hold": false}'
wait $FIRST
is "$?" 0 "the live run ends" || diag "$(cat "$T_DIR/first.err")"
wait_for 60 exited $waiter
wait $waiter
is "$?" 0 "... and runs once the live run ended" || diag "$(cat "$T_DIR/waited.err")"

# The supervisor killed with -9 alone: its recorder, at its input's end,
# lets the claim go (its row removed, its lock with its session) and says
# why; without a report it exits 5 (interrupted).
D=$T_DIR/docs3
numbered_docs "$D" 6 40 doc3
BASE=$A_BASE api_reset
first_run
recorder=$(pgrep -P $FIRST -x docpipe-status)
ok $([ -n "$recorder" ]; echo $?) "a run under way, its recorder found"
kill -KILL $FIRST
wait $FIRST 2>/dev/null
wait_for 30 exited "$recorder"
wait_for 30 eval '[ "$(claims)" = 0 ]'
is "$(sql 'SELECT count(*) FROM docpipe.live_runs')" 0 "the supervisor killed with -9 alone: its recorder lets the claim go (row and lock)"
like "$(cat "$T_DIR/first.err")" "docpipe-status: no report came: the run's supervisor \(pid $FIRST\) is gone \(killed\?\); its claim on its roots is let go, nothing recorded" \
	"... saying why" || diag "$(cat "$T_DIR/first.err")"
is "$(grep -c 'empty' "$T_DIR/first.err")" 0 "... not \"-: empty\""
BASE=$A_BASE api_control '{"hold": false}'
docpipe-status --record-run - --claim t_gone "$D" </dev/null >/dev/null 2>"$T_DIR/gone.err"
is "$?/$(grep -c 'is gone' "$T_DIR/gone.err")" 5/1 "a recorder whose input ends without a report: said, exit 5"

# The database away at the start (it refuses connections): two runs over
# one root each wait for it, saying so, and pay nothing; once it is back,
# one claims the root and runs, the other is refused (before: both went
# on unclaimed at once, and both paid).
D=$T_DIR/docs4
numbered_docs "$D" 6 40 doc4
api_reset
BASE=$A_BASE api_reset
BASE=$A_BASE api_control '{"hold": true}'
api_control '{"hold": true}'
at_exit 'db_allow true'
db_allow false
for r in away1 away2; do
	[ $r = away1 ] && url=$A_BASE || url=$B_BASE
	OPENAI_BASE_URL=$url/v1 timeout 120 docpipe run "$D" --progress none "${API[@]}" \
		>"$T_DIR/$r.json" 2>"$T_DIR/$r.err" &
	eval "pid_$r=$!"
done
wait_for 30 grep -q "waiting up to 300 s for the database" "$T_DIR/away1.err"
ok $? "the database away at the start: the run waits for it to claim its roots, saying so" || diag "$(cat "$T_DIR/away1.err")"
wait_for 30 grep -q "waiting up to 300 s for the database" "$T_DIR/away2.err"
ok $? "... so does a second run over the same root"
sleep 1
is "$(BASE=$A_BASE api_requests chat)/$(api_requests chat)" 0/0 "... and neither pays meanwhile"
db_allow true
wait_for 60 eval 'exited $pid_away1 || exited $pid_away2'
ok $? "the database back: one of them ends (refused)"
BASE=$A_BASE api_control '{"hold": false}'
api_control '{"hold": false}'
wait $pid_away1; rc1=$?
wait $pid_away2; rc2=$?
is "$(echo $rc1 $rc2 | tr ' ' '\n' | sort | tr '\n' ' ')" "0 2 " "... refused (2), the other runs (0)" || diag "$(cat "$T_DIR/away1.err" "$T_DIR/away2.err")"
is "$(($(BASE=$A_BASE api_requests chat) + $(api_requests chat)))" 6 "the documents paid once (6 chat requests), not twice"
grep -q "another run is live over these roots" "$T_DIR/away1.err" "$T_DIR/away2.err"
ok $? "... the refused one naming the other"
# Away for longer than the store's --db-retry: the run stops, status 3,
# before anything is paid.
api_reset
db_allow false
OPENAI_BASE_URL=$B_BASE/v1 timeout 120 docpipe run "$D" --progress none "${API[@]}" --opt store=--db-retry=1 \
	>"$T_DIR/gone_db.json" 2>"$T_DIR/gone_db.err"
rc=$?
db_allow true
is "$rc/$(api_requests chat)" 3/0 "the database away past --db-retry: status 3, nothing paid" || diag "$(cat "$T_DIR/gone_db.err")"
like "$(cat "$T_DIR/gone_db.err")" "could not be claimed in the database \(see above\): not starting" "... said"

# A --watch run is live until it stops.
docpipe run "$T_DIR/other" --watch --progress plain >/dev/null 2>"$T_DIR/watch.err" &
watcher=$!
wait_for 30 grep -q "first pass complete" "$T_DIR/watch.err"
second over_watch "$T_DIR/other"
is "$RC/$PAID" 2/0 "a --watch run is live: a run over its root refused" || diag "$(cat "$T_DIR/over_watch.err")"
# Its recorder's connection lost (a database restart ends every session):
# made again, the claim renewed.
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'docpipe-status'
	AND datname = current_database()" >/dev/null
wait_for 20 grep -q "claim on its roots is renewed" "$T_DIR/watch.err"
ok $? "its recorder's session ended: the connection made again, the claim renewed, said" || diag "$(cat "$T_DIR/watch.err")"
second over_watch2 "$T_DIR/other"
is "$RC/$PAID" 2/0 "... a run over its root still refused"
kill -TERM $watcher
wait $watcher
second after_watch "$T_DIR/other"
is "$RC" 0 "... and starts once it stopped" || diag "$(cat "$T_DIR/after_watch.err")"

# The run's recorder says its lock waits (its stderr is the run's: it was
# dropped, and a run waiting on it said nothing).
hold_lock t_holder "LOCK TABLE docpipe.live_runs"
second locked "$T_DIR/other" &
locked=$!
wait_for 20 grep -qs "waiting for a lock on docpipe.live_runs held by pid [0-9]* (t_holder" "$T_DIR/locked.err"
ok $? "a run whose claim waits for a lock says so, naming the session that holds it" || diag "$(cat "$T_DIR/locked.err")"
release_lock t_holder
wait $locked
is "$(jq -r .complete "$T_DIR/locked.json")" true "... and runs once it is let go" || diag "$(cat "$T_DIR/locked.err")"
done_testing
