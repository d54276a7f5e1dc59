#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A stage's only replica stopped (SIGSTOP) after the hub heard from it:
# its silence makes it a dead one (HUB_SILENT_S), and --kill-silent kills
# it once its stage has had no live replica for HUB_EVICT_LONE_S (30 s;
# DOCPIPE_HUB_TEST_EVICT_LONE_S=14 here).  Meanwhile, at HUB_STALL_SAY_S
# (10 s), the hub says once that the documents wait for that stage,
# naming the replica as the supervisor does, its pid, its state and how
# long it has been silent (src/hub/stall.h); before, only "1 replica(s)
# exited or fell silent for 3 s", which named neither (the first check
# fails before).  The supervisor says its death once, with no "Killed"
# line of bash's.
. "$(dirname "$0")/../lib/tap.sh"
unset OPENAI_API_KEY
DOCS=40
numbered_docs "$T_DIR/docs" $DOCS 300 doc
newdb || exit 1
fakeapi --latency chat=300
DOCPIPE_HUB_TEST_EVICT_LONE_S=14 run_then_stop docpipe-summari "$T_DIR/report.json" "$T_DIR/err" "$T_DIR/docs" \
	--opt summarize=--backend=openai --threads summarize=4 --replicas summarize=1
ok $? "the run is under way, its only summarize replica stopped"
said() { grep -qs "wait for summarize (.*), which has had no live replica" "$T_DIR/err"; }
wait_for 30 said
ok $? "the stall is said" || diag "$(cat "$T_DIR/err")"
like "$(grep "which has had no live replica" "$T_DIR/err")" \
	"^docpipe-hub: the run's documents wait for summarize \([0-9]+ in flight\), which has had no live replica for 1[0-9] s: summarize-1 \(pid $STOPPED\) stopped \(SIGSTOP or SIGTSTP\), silent 1[0-9] s; a stopped one is killed at 14 s without a live replica, and started again$" \
	"... naming the replica, its pid, its state and its silence"
wait_for 30 exited $SUP || { ok 1 "the run ends"; kill -CONT "$STOPPED"; wait_for 30 exited $SUP; }
wait $SUP
is "$?:$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report.json")" "0:$(printf '%s\t0' $DOCS)" \
	"exit 0, every document stored, none failed" || diag "$(cat "$T_DIR/err")"
like "$(cat "$T_DIR/err")" "summarize replica .* silent for 1[0-9] s with no other replica of its stage live: killed it" \
	"the hub killed it after the lone silence"
is "$(grep -c "summarize-1 (pid $STOPPED) exited with status 137; restarting it" "$T_DIR/err")" 1 \
	"the supervisor says its death once"
is "$(grep -c "Killed\|Terminated" "$T_DIR/err")" 0 "no job line of bash's for it" ||
	diag "$(grep "Killed\|Terminated" "$T_DIR/err")"
like "$(cat "$T_DIR/err")" "summarize has a live replica again, after 1[0-9] s without" "... and its end"
done_testing
