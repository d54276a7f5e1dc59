#!/bin/bash
# lane: beside (tests/run: it mostly waits on a slowed pipeline)
# docpipe run --watch stopped (SIGTERM) while the watcher's pass is still
# sending: the hub, told that the run stops, read no more input, so the
# watcher blocked in its write and never read the signal: the stop waited
# out the supervisor's 15 s bound, killed the watcher ("did not stop
# within 15s") and ended status 5 (session 50, h50b: over 50,000 and
# 400,000 files).  Now the hub reads and drops its input while stopping:
# the watcher ends by itself within seconds, the run status 5 (not
# complete: what was dropped never entered), nothing killed.  Made certain
# cheaply: 30,000 empty files behind a window of 16 documents and a slowed
# embed.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

D=$T_DIR/docs
mkdir -p "$D/many" && (cd "$D/many" && seq -f 'e%.0f.txt' 1 30000 | xargs touch)
BURN='--jq=(reduce range(20000) as $i (0; . + 1)) as $burn | .'
env "$(tag_env w)" docpipe run "$D" --watch --window 16 --progress plain --opt "embed=$BURN" \
	>"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
at_exit 'kill $SUP 2>/dev/null'
# The watcher's records fill the FIFO and the hub's input queue (a few
# thousand), then its write blocks behind the window.
wait_for 60 sql_ge 'SELECT count(*) FROM docpipe.documents' 50
ok $? "the watcher's pass is being stored"
stopped_at=$SECONDS
kill -TERM $SUP
wait_for 60 exited $SUP
wait $SUP
is "$?" 5 "stopped during the watcher's pass: status 5 (interrupted)"
took=$((SECONDS - stopped_at))
diag "the stop took $took s"
ok $((took <= 8 ? 0 : 1)) "the stop took seconds, not the supervisor's 15 s bound (took $took s)"
is "$(grep -c 'did not stop within' "$T_DIR/err")" 0 "every process stopped by itself (none killed)"
like "$(cat "$T_DIR/err")" "docpipe-hub: stopping: [0-9]+ record\(s\) of the input read and dropped" \
	"the hub says it dropped the input that never entered"
is "$(jq -r .complete "$T_DIR/report")" false "its report says incomplete"
is "$(echo $(tagged w))" "" "no process of the run is left"
[ "$T_FAILED" = 0 ] || grep -v 'in flight\|procs' "$T_DIR/err" | tail -20 | sed 's/^/# /'
done_testing
