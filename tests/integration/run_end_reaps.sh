#!/bin/bash
# docpipe run's end reaps every process of the run at once: each one bash
# reaped already (gone from /proc) is looked for among the jobs bash lost
# (lost_child: a $(jobs -l), a fork of the supervisor's shell, 1 ms or
# more on a loaded machine).  One look serves them all while no child was
# started since (session 57, issue 8 (b): 7 forks at a run's end were 1-2);
# a child lost is still found (its job shown running), and a child started
# after the look is looked at anew.  The supervisor's own reap and
# lost_child, run on children of this test (before, one look per child:
# the first check fails).
. "$(dirname "$0")/../lib/tap.sh"
SCRIPT=$(readlink -f "$(command -v docpipe)")
declare -A REAPED=()
HUB_PID=""
check_stop() { :; }
eval "$(sed -n '/^JOBS_LOOK=/p; /^reap() {/,/^}/p; /^lost_child() {/,/^}/p' "$SCRIPT")"
# Each look at the jobs counted (it runs in the $(...) subshell).
jobs() { echo look >>"$T_DIR/looks"; builtin jobs "$@"; }
looks() { wc -l <"$T_DIR/looks" 2>/dev/null || echo 0; }
gone() { local p; for p in "$@"; do [ ! -e "/proc/$p" ] || return 1; done; }

pids=()
for i in 1 2 3 4 5 6; do (exit $i) & pids+=($!); done
wait_for 10 gone "${pids[@]}"
codes=""
for p in "${pids[@]}"; do reap "$p"; codes+="$RC "; done
is "$(looks)" 1 "six children reaped after their exits: one look at the jobs"
is "$codes" "1 2 3 4 5 6 " "each with its own status"

sleep 0.2 &
late=$!
wait_for 10 gone "$late"
reap "$late"
is "$RC/$(looks)" 0/2 "a child started after the look: looked at anew"
done_testing
