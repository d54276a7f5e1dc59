#!/bin/bash
# SIGTERM to the supervisor mid-run: every process stops by itself, before
# the supervisor's 15 s SIGKILL, which it says (so a stage that ignores
# SIGTERM fails this test) and the run exits 5, the hub sending nothing again as the
# replicas exit; a second run completes the corpus
# without redoing the documents the first one stored, and the database is
# then the same as after a plain pipeline run.
. "$(dirname "$0")/../lib/tap.sh"

N=150
numbered_docs "$T_DIR/docs" $N 200 page
newdb || exit 1
docpipe-discover "$T_DIR/docs" | docpipe-chunk | docpipe-summarize | docpipe-embed | docpipe-store -q >/dev/null
ok $? "plain pipeline over the corpus"
want=$(fingerprint)

newdb || exit 1
BURN='--jq=(reduce range(150000) as $i (0; . + 1)) as $burn | .'
env "$(tag_env first)" docpipe run "$T_DIR/docs" --opt "embed=$BURN" --window 16 --progress plain \
	>"$T_DIR/report1" 2>"$T_DIR/err1" &
SUP=$!
# Interrupt once part of the corpus is stored.
wait_for 60 sql_ge 'SELECT count(*) FROM docpipe.documents' 10
ok $? "the first run stores documents"
kill -TERM $SUP
wait $SUP
is "$?" 5 "interrupted run exits 5"
# The supervisor says "did not stop within 15s; killing it" for a process
# that ignored SIGTERM: that, not a time bound of the test's (12 s failed
# under load), tells a process that stopped by itself.
is "$(grep -c 'did not stop within' "$T_DIR/err1")" 0 "every process stopped by itself (none killed)"
# A replica blocked sending to a hub that exits can die in libzmq 4.3.4
# ("Assertion failed: !_io_error (src/stream_engine_base.cpp:331)"): the
# supervisor stops the replicas before the hub (issue 13), which a window
# above the stages' high-water mark (16) makes this test prove.
is "$(grep -cE 'Assertion|Aborted|core dumped' "$T_DIR/err1")" 0 "no replica aborted"
is "$(echo $(tagged first))" "" "no process of the graph is left"
# The supervisor tells the hub that the run stops before it stops the
# replicas: their exits are no deaths to answer with a re-send of the window
# (it said "re-sending the 16 document(s) in flight" once per replica and
# counted them re-sent), nor is a silent one killed.
is "$(grep -cE 're-sending|killed it' "$T_DIR/err1")/$(jq .resent "$T_DIR/report1")" "0/0" \
	"the replicas' exits during the stop re-send nothing, and none is said"
stored=$(sql 'SELECT count(*) FROM docpipe.documents')
diag "first run stored $stored of $N"
ok $(( stored > 0 && stored < N ? 0 : 1 )) "first run stored part of the corpus"
is "$(jq -r .complete "$T_DIR/report1")" false "its report says incomplete"

docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report2" 2>"$T_DIR/err2"
is "$?" 0 "second run exits 0"
is "$(jq -r '[.unchanged, .added] | @tsv' "$T_DIR/report2")" "$(printf '%d\t%d' "$stored" $((N - stored)))" \
	"second run: what was stored is unchanged, the rest added"
is "$(fingerprint)" "$want" "the database is the plain pipeline's: every document once, whole, same content"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err1" "$T_DIR/err2" | grep -v 'in flight\|procs'

# SIGTERM once the hub has exited (the report complete, only its recording
# and the replicas' exits left): the run's status is the hub's, not 5
# (fault sweep 18: exit 5 with a complete report).  A trigger holds the
# report's recording for 2 s.
sql "CREATE FUNCTION slow_report() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN PERFORM pg_sleep(2); RETURN NEW; END \$\$;
CREATE TRIGGER slow_report BEFORE INSERT OR UPDATE ON docpipe.runs FOR EACH ROW
	WHEN (NEW.ended_at IS NOT NULL) EXECUTE FUNCTION slow_report()" >/dev/null
docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report4" 2>"$T_DIR/err4" &
SUP=$!
wait_for 60 sql_ge "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'
	AND application_name LIKE 'docpipe-status%' AND datname = current_database()" 1
ok $? "the run's report is being recorded"
kill -TERM $SUP
wait $SUP
is "$?:$(jq -r '[.complete, .unchanged] | @tsv' "$T_DIR/report4")" "$(printf '0:true\t%d' $N)" \
	"stopped after the hub's end: the hub's status (0), its report complete"
is "$(sql "SELECT count(*) FROM docpipe.runs WHERE complete AND unchanged = $N")" 1 "... and recorded"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err4"

# SIGHUP (the terminal closed, an ssh session dropped) stops the run the
# same way: before, bash died of it at once (exit 129), no report printed
# or recorded: docpipe.runs kept the run "without a report" for good.
newdb || exit 1
docpipe run "$T_DIR/docs" --opt "embed=$BURN" --window 16 --progress none >"$T_DIR/report3" 2>"$T_DIR/err3" &
SUP=$!
wait_for 60 sql_ge 'SELECT count(*) FROM docpipe.documents' 10
kill -HUP $SUP
wait $SUP
is "$?:$(jq -r .complete "$T_DIR/report3")" "5:false" "SIGHUP: exit 5, its report printed (incomplete)"
is "$(sql "SELECT count(*) FROM docpipe.runs WHERE ended_at IS NOT NULL AND complete = false")" 1 \
	"... and recorded as an incomplete run"

# SIGTERM to the run's whole process group (systemd's stop, timeout(1)),
# twice (^C pressed again): the recorder died of it too, and bash 5.2
# gives a child that the same signal killed the status -1 half the time
# when a trap waits for it: the report was then not recorded (3 of 12
# tries); the second signal began the stop again inside the first and
# killed the recorder started anew; ignoring it instead of running the
# trap again once the stop began keeps bash from losing the children it
# reaps (a wait for one hung the run).  Every process of the run now has
# its own session; the supervisor stops once.  Documents held (no embed
# replica) while the signals come.
newdb || exit 1
numbered_docs "$T_DIR/few" 5 3 doc
tries=$([ "$DOCPIPE_VARIANT" = asan ] && echo 1 || echo 3)
for ((try = 1; try <= tries; try++)); do
	setsid docpipe run "$T_DIR/few" --replicas embed=0 --progress none >"$T_DIR/report5" 2>"$T_DIR/err5" &
	SUP=$!
	# The replicas start once the run's claim is answered.
	wait_for 60 sql_ge "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'docpipe-store%'
		AND datname = current_database()" 1
	kill -TERM -- -$SUP
	sleep 0.0$try
	kill -TERM -- -$SUP 2>/dev/null
	wait $SUP
	rc=$?
	is "$rc:$(jq -r .complete "$T_DIR/report5"):$(sql "SELECT count(*) FROM docpipe.runs WHERE ended_at IS NOT NULL")" \
		"5:false:$try" "SIGTERM twice to the run's process group (try $try): exit 5, its report printed and recorded"
	is "$(grep -c 'stopping (signal)' "$T_DIR/err5")/$(grep -c 'Terminated\|could not' "$T_DIR/err5")" 1/0 \
		"... one stop, said once, nothing killed in it"
	[ "$T_FAILED" = 0 ] || { sed 's/^/# /' "$T_DIR/err5"; break; }
done

done_testing
