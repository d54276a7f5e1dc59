#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# The database away for longer than the store's --db-retry (a disk full the
# server cannot recover from, a long maintenance) in the middle of a graph
# run: the store waits --db-retry, then exits 3.  The supervisor restarted
# it as a crash, the new store waited --db-retry again, and a store that
# waits 12 s or more never dies 5 times within the restart window: the run
# never ended (sweep 10, repro/db_away_forever.sh: 7 restarts in 150 s at
# --db-retry 15).  Now the run stops (status 3), saying why; the next run,
# with the database back, stores every document once.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
at_exit 'db_allow true'

N=600
numbered_docs "$T_DIR/docs" $N 200 doc
# A slow embed stage keeps the run going while the database goes away.
BURN='--jq=(reduce range(20000) as $i (0; . + 1)) as $burn | .'
# Its stderr lines stamped as they come (below: how long the store waited).
docpipe run "$T_DIR/docs" --progress none --timeout 120 --opt "embed=$BURN" --opt store=--db-retry=8 \
	>"$T_DIR/report" 2> >(while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$T_DIR/err") &
SUP=$!
wait_for 120 sql_ge 'SELECT count(*) FROM docpipe.documents' 20
db_allow false
away=$SECONDS
killed=$(db_kick 'docpipe-%')
ok $((killed >= 1 ? 0 : 1)) "database closed and the run's connections cut ($killed)"
wait_for 90 exited $SUP
ok $? "the run ends with the database still away"
# One outage, one --db-retry: each piece of the store's work (the batch's
# write, then the work after it) waited a whole --db-retry of its own, and
# the run ended twice --db-retry after the database went away (16-17 s
# here; fault sweep 18), now once (8-9 s).  Timed from the store's first
# "waiting up to" to the supervisor's word of its exit, both stamped as
# they came: from the database's closing to the run's end (SECONDS), the
# time also held the store's meeting the outage (at its next write, after
# the slow embed stage's next batch), the other stages' stop and a second
# of SECONDS' granularity: 15 s for one wait at load 13.
ended=$((SECONDS - away))
wait_for 10 grep -q 'store-1 (pid [0-9]*) exited with status 3' "$T_DIR/err"
waited=$(awk '/docpipe-store: .*; waiting up to [0-9]+ s for the database/ && !w { w = $1 }
	/store-1 \(pid [0-9]+\) exited with status 3/ && w { printf "%.1f", $1 - w; exit }' "$T_DIR/err")
ok "$(awk -v w="${waited:-99}" 'BEGIN { exit !(w < 14) }'; echo $?)" \
	"the store stopped ${waited:-?} s after it met the outage (the run ended ${ended} s after the database went away): one --db-retry (8 s), not two"
exited $SUP || { kill -TERM $SUP; wait_for 30 exited $SUP; }
wait $SUP
is "$?" 3 "status 3"
like "$(cat "$T_DIR/err")" "store-1 \(pid [0-9]+\) exited with status 3 after [0-9]+ s, its --db-retry \(8 s\) spent: the database away that long" \
	"the supervisor says why it stops"
is "$(grep -c '; restarting it' "$T_DIR/err")" 0 "the store not restarted"
grep '; restarting it' "$T_DIR/err" | sed 's/^/# /'
# The recorder waits --db-retry for a database away at the run's end (a
# restart); not after the store has waited it out.
like "$(cat "$T_DIR/err")" "the run's report is not recorded in the database: it stayed away for the store's --db-retry" \
	"the report is not recorded, said, without a second wait"
is "$(grep -c 'docpipe-status: .*waiting up to' "$T_DIR/err")" 0 "... only the store waited"
db_allow true
docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report2" 2>"$T_DIR/err2"
is "$?" 0 "the next run, the database back, completes"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" $N "every document stored"
is "$(sql 'SELECT count(*) FROM (SELECT document_id, seq FROM docpipe.chunks GROUP BY 1, 2 HAVING count(*) > 1) d')" 0 \
	"no duplicate chunk rows"
# Without --db-retry the supervisor takes the store's default from its
# --help (the one value is store.h's).
like "$(docpipe-store --help)" "giving up with status 3 \(default [0-9]+; 0: no wait\)" \
	"the store's --help names the default --db-retry the supervisor reads"
done_testing
