#!/bin/bash
# lane: beside (it waits for the model API's slow answers)
# The wall clock stepped back or forward while `docpipe run` runs (an NTP
# step, `date -s`, a VM resumed): only the monotonic clock drives the
# supervisor's waits (README, "Faults"), so a replica that died is restarted
# after its delay, whatever the wall clock did meanwhile.  Before, the
# supervisor timed them with bash's $SECONDS, which follows the wall clock:
# an hour's step back between a replica's death and its restart 4 s later
# put the restart an hour off, and the run stalled with no embed replica
# (fault sweep 27).  tests/lib/clockstep.c steps CLOCK_REALTIME,
# gettimeofday and time for every process of the run (LD_PRELOAD).
. "$(dirname "$0")/../lib/tap.sh"
release_only "an LD_PRELOAD shim over the clock for every process of a run (a sanitizer's runtime must come first)"
if ! ${CC:-cc} -shared -fPIC -O1 -o "$T_DIR/clockstep.so" "$TOP/tests/lib/clockstep.c" -ldl 2>"$T_DIR/cc.err"; then
	skip "no C compiler for tests/lib/clockstep.c"
	done_testing
fi
newdb || exit 1
# 300 documents, one summary at a time, 40 ms each: a run of ~15 s.
numbered_docs "$T_DIR/docs" 300 40 note
fakeapi --latency chat=40
STEP=$T_DIR/step
echo 0 >"$STEP"
env "$(tag_env run)" LD_PRELOAD="$T_DIR/clockstep.so" CLOCKSTEP_FILE="$STEP" OPENAI_API_KEY=k \
	docpipe run "$T_DIR/docs" --opt summarize=--backend=openai --opt "summarize=--base-url=$OPENAI_BASE_URL" \
	--opt summarize=--no-reuse >"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
at_exit 'kill $(tagged run) 2>/dev/null'
embed_pid() { pgrep -P "$SUP" -f "docpipe-embed " | head -1; }
restarts() { grep -c "embed-1 (pid [0-9]*) exited with status 137; restarting it" "$T_DIR/err"; }
restarted() { [ "$(restarts)" -ge "$1" ]; }

# The first deaths within the minute: restarted at once, then 2 s later.
killed=""
for n in 1 2; do
	wait_for 30 eval '[ -n "$(embed_pid)" ] && [ "$(embed_pid)" != "$killed" ]'
	killed=$(embed_pid)
	kill -9 "$killed"
	wait_for 20 restarted $n
done
wait_for 20 eval '[ -n "$(embed_pid)" ] && [ "$(embed_pid)" != "$killed" ]'
ok $? "two embed replicas killed within the minute are restarted"
# The third death: restarted 4 s later.  The wall clock goes back an hour
# as soon as the supervisor said so (its wait, 3-4 s, is the window).
killed=$(embed_pid)
kill -9 "$killed"
wait_for 20 restarted 3
echo -3600 >"$STEP"
t0=${EPOCHREALTIME/./}
wait_for 20 eval '[ -n "$(embed_pid)" ] && [ "$(embed_pid)" != "$killed" ]'
ok $? "the third one killed is restarted although the wall clock went back an hour" ||
	diag "$(grep -v 'procs  done\|in flight' "$T_DIR/err" | tail -5)"
took=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
ok $(( took >= 8000 )) "within its 4 s delay (${took} ms; a monotonic wait)"
# The wall clock forward by an hour: nothing the run waits for ends early.
echo 3600 >"$STEP"
wait_for 60 exited "$SUP"
wait "$SUP"
is "$?/$(jq -r '.complete' "$T_DIR/report")" "0/true" "the run completes, exit 0"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" 300 "every document stored once"
is "$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report")" "300	0" "the report: 300 added, none failed"
done_testing
