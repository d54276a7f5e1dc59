#!/bin/bash
# A child of the supervisor's shell that a signal hits between its fork and
# its exec (a replica stopped as it starts: a run whose hub ends at once,
# with nothing to do) runs the shell's traps.  They act in the supervisor's
# own shell only (in_main_shell).  Before: the test was
# [ "$BASHPID" = "$$" ], true in such a child for 180 of 300 children under
# bash 5.2: the child ran cleanup_run and removed the run's directory and
# its report (under load 1 run in 150 over a root with nothing to do ended
# status 3, "the run's directory ... was removed", no report).
. "$(dirname "$0")/../lib/tap.sh"
release_only "the supervisor's shell traps (bash, not C: 20 CPU-s under ASan for runs that end at once, whose C paths run under ASan in every graph test)"
SCRIPT=$(readlink -f "$(command -v docpipe)")
FN=$(sed -n '/^in_main_shell() {$/,/^}$/p' "$SCRIPT")
like "$FN" "^in_main_shell" "the supervisor defines in_main_shell" || { done_testing; exit; }

# The supervisor's traps (cmd_run, on_stop_signal), over 300 children sent
# TERM as they are forked: each says where it ran its EXIT trap.
cat >"$T_DIR/traps.sh" <<EOF
$FN
out=\$1
trap 'if in_main_shell; then echo main >>"\$out"; else echo child >>"\$out"; fi' EXIT
trap 'if in_main_shell; then :; else exit 143; fi' TERM
for i in \$(seq 300); do
	/bin/true &
	kill -TERM \$! 2>/dev/null
done
wait
EOF
bash "$T_DIR/traps.sh" "$T_DIR/said"
is "$(grep -c main "$T_DIR/said")" 1 "300 children signalled before their exec: only the shell itself takes it for its own" ||
	diag "$(sort "$T_DIR/said" | uniq -c)"

# A run with nothing to do, again and again: its hub ends while the replicas
# start; each run ends with its report and its directory removed.
export TMPDIR=$T_DIR/tmp
mkdir -p "$TMPDIR" "$T_DIR/empty"
newdb || exit 1
bad=0
for i in $(seq 10); do
	docpipe run "$T_DIR/empty" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
	rc=$?
	[ "$rc/$(jq -r .complete "$T_DIR/report" 2>/dev/null)" = 0/true ] || { bad=$((bad + 1)); diag "run $i: status $rc: $(cat "$T_DIR/err")"; }
done
is "$bad" 0 "10 runs over an empty root: each complete, with its report"
is "$(ls "$TMPDIR")" "" "and no run's directory left"
done_testing
