#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# kill -9 of the supervisor or of the hub mid-run: no process of the run is
# left behind (parent-death signal, process groups), nothing is swept, and
# the next run completes.  Empty or malformed option values are usage
# errors; `docpipe worker` takes its endpoints from the hub.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

N=300
numbered_docs "$T_DIR/docs" $N 100 doc
docpipe run "$T_DIR/docs" --progress none >/dev/null 2>&1
is "$?" 0 "first run stores everything"
# Long enough that the kills below land mid-run (the run's own cost is ~0.2 s).
BURN='--jq=(reduce range(150000) as $i (0; . + 1)) as $burn | .'

# children PID: the processes a run started (direct children).
children() { pgrep -P "$1" | tr '\n' ' '; }
alive() { local n=0 p; for p in $1; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done; echo $n; }
for victim in supervisor hub; do
	docpipe run "$T_DIR/docs" --progress none --opt "embed=$BURN" >"$T_DIR/report" 2>"$T_DIR/err" &
	SUP=$!
	for _ in $(seq 100); do [ "$(pgrep -P $SUP | wc -l)" -ge 6 ] && break; sleep 0.05; done
	kids=$(children $SUP)
	sleep 0.5
	if [ $victim = supervisor ]; then
		kill -9 $SUP
	else
		kill -9 "$(pgrep -P $SUP -f 'docpipe-hub ' | head -1)"
	fi
	wait $SUP
	rc=$?
	[ $victim = hub ] && is "$rc" 3 "hub killed: the supervisor exits 3"
	[ $victim = hub ] && like "$(cat "$T_DIR/err")" "the hub died" "and says why"
	for _ in $(seq 200); do [ "$(alive "$kids")" = 0 ] && break; sleep 0.1; done
	is "$(alive "$kids")" 0 "kill -9 of the $victim: none of its $(echo $kids | wc -w) processes left"
	is "$(sql 'SELECT count(*) FROM docpipe.documents')" $N "nothing swept"
done
docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report" 2>/dev/null
is "$?/$(jq -r .unchanged "$T_DIR/report")" "0/$N" "the next run completes, every document unchanged"

# kill -9 of the supervisor while summarize holds many documents for a
# slow model API: its parent-death stop made it finish all it held (up to
# the window), each output then waiting 5 s for the gone hub: it lived
# over 75 s and kept paying (sweep 3).  Now the first output without a
# receiver abandons the rest: no request is begun, the stage exits.
unset OPENAI_API_KEY
fakeapi --latency chat=300
numbered_docs "$T_DIR/slow" 200 20 slow
docpipe run "$T_DIR/slow" --progress none --opt summarize=--backend=openai --threads summarize=4 \
	>/dev/null 2>"$T_DIR/err" &
SUP=$!
wait_for 60 sql_ge "SELECT count(*) FROM docpipe.documents WHERE path LIKE '%/slow%'" 4
kids=$(children $SUP)
kill -9 $SUP
wait $SUP
at_kill=$(api_stats .requests.chat)
for _ in $(seq 300); do [ "$(alive "$kids")" = 0 ] && break; sleep 0.1; done
is "$(alive "$kids")" 0 "kill -9 of the supervisor, summarize holding documents: no process left within 30 s"
after=$(( $(api_stats .requests.chat) - at_kill ))
ok "$([ "$after" -lt 40 ]; echo $?)" "and few requests after the kill ($after; the stage held up to 256 documents)"

for bad in "--run ''" "--run 'a b'" "--listen ''" "--window ''" "--window 1x" "--timeout -1" \
	"--progress loud" "--replicas embed=" "--glob ''"; do
	eval "docpipe run \"$T_DIR/docs\" $bad" >/dev/null 2>"$T_DIR/err"
	is "$?" 2 "usage error: $bad"
done
docpipe worker embed --connect '' >/dev/null 2>&1; is "$?" 2 "worker: empty --connect"
docpipe worker embed --connect h:x >/dev/null 2>&1; is "$?" 2 "worker: malformed --connect"
is "$(docpipe-hub --layout --listen tcp://h.example:7870 | grep ^embed)" \
	"embed tcp://h.example:7874 tcp://h.example:7875" "the hub prints the layout workers connect to"
done_testing
