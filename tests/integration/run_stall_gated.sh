#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A replica stopped (SIGSTOP: a debugger, a freezer) at its gate while a
# `docpipe run --wait` waits for the live run over its roots (fault sweep
# 24, session 57): it never sent its first stats, so the hub did not know
# it, and the run's documents waited for a stage with no replica, without
# a word, for ever (`--progress plain`: "chunk 0 procs"; nothing re-sent
# even with --timeout 5 --attempts 2); only SIGCONT got it going.
# Now, within HUB_STALL_SAY_S (10 s) of documents waiting on a stage with
# no live replica, the hub says so once, naming the replica as the
# supervisor does, its pid and its state (/proc/PID/stat), and the
# progress shows it; a stopped replica of this machine is then taken for
# a silent one (--kill-silent's rule for a stage's only replica, 30 s,
# DOCPIPE_HUB_TEST_EVICT_LONE_S here): killed, started again by the
# supervisor, and the run completes, nothing stored twice.  The
# supervisor says the death in its own words once: no "Killed" line of
# bash's, nor for a replica killed at its gate (SIGKILL: the OOM killer).
# (The stall checks fail before: nothing is said; so does the last.)
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
unset OPENAI_API_KEY

D=$T_DIR/docs
DOCS=20
numbered_docs "$D" $DOCS 30 doc

live_claim "$D"
ok $? "a live run's recorder claims the root" || diag "$(cat "$T_DIR/live.err")"

DOCPIPE_HUB_TEST_EVICT_LONE_S=13 docpipe run "$D" --wait --progress plain --opt hub=--progress-every=1 \
	--timeout 5 --attempts 2 >"$T_DIR/report.json" 2>"$T_DIR/err" &
SUP=$!
gated_chunk() { STOPPED=$(pgrep -P "$SUP" -f '/docpipe-chunk ') && [ -n "$STOPPED" ]; }
wait_for 30 grep -qs "waiting for it to end" "$T_DIR/err" && wait_for 30 gated_chunk
ok $? "the run waits, its chunk replica at its gate" || diag "$(cat "$T_DIR/err")"
kill -STOP "$STOPPED"
# Its summarize replica killed at the gate (the OOM killer): restarted once
# the claim holds, said once by the supervisor; before, bash said it too
# ("line N: PID Killed ...", fault sweep 24).
KILLED=$(pgrep -P "$SUP" -f '/docpipe-summarize ')
kill -KILL $KILLED
wait_for 10 exited "$KILLED"

# The live run ends: the waiting run claims and sends its documents to a
# chunk stage whose only replica is stopped.
live_claim_end
claimed=${EPOCHREALTIME/./}

said() { grep -qs "wait for chunk (.*), which has had no live replica" "$T_DIR/err"; }
wait_for 20 said
ok $? "the stall is said" || { diag "$(cat "$T_DIR/err")"; kill -CONT "$STOPPED"; }
secs=$(((${EPOCHREALTIME/./} - claimed) / 1000000))
ok "$([ "$secs" -le 16 ]; echo $?)" "... within 16 s of the claim (took $secs s; bound 10 s)"
like "$(grep "no live replica" "$T_DIR/err" | head -1)" \
	"^docpipe-hub: the run's documents wait for chunk \([0-9]+ in flight\), which has had no live replica for 1[0-9] s: chunk-1 \(pid $STOPPED\) stopped \(SIGSTOP or SIGTSTP\), never heard from" \
	"... naming the replica, its pid and its state"
wait_for 20 grep -qs "chunk-1 (pid $STOPPED) exited with status 137; restarting it" "$T_DIR/err"
ok $? "the stopped replica is killed after the lone silence and started again" || diag "$(cat "$T_DIR/err")"
like "$(grep "killed it" "$T_DIR/err")" "^docpipe-hub: chunk replica chunk-1 \(pid $STOPPED\), stopped and never heard from while documents waited on its stage [0-9]+ s: killed it" \
	"... as the hub says"
wait_for 30 exited $SUP || { kill -CONT "$STOPPED"; wait_for 30 exited $SUP; }
wait $SUP
is "$?:$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report.json")" "0:$(printf '%s\t0' $DOCS)" \
	"the run completes: exit 0, every document stored, none failed" || diag "$(cat "$T_DIR/err")"
is "$(sql "SELECT count(*) FROM docpipe.documents")" $DOCS "... each once"
is "$(grep -c "wait for chunk (.*), which has had no live replica" "$T_DIR/err")" 1 "the stall is said once, not at each check"
like "$(grep "^docpipe-hub: chunk " "$T_DIR/err")" "no live replica [0-9]+ s" "the progress shows the stall"
is "$(grep -c "summarize-1 (pid $KILLED) exited with status 137; restarting it" "$T_DIR/err")" 1 \
	"the replica killed at its gate: its death said once by the supervisor"
is "$(grep -c "Killed\|Terminated" "$T_DIR/err")" 0 "no job line of bash's for the killed replicas" ||
	diag "$(grep "Killed\|Terminated" "$T_DIR/err")"

done_testing
