#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A replica stopped (SIGSTOP) beside a live one of its stage, which does
# the stage's work: the run completes, and at its end the supervisor's
# SIGTERM to the stopped one waited until it ran again, for STOP_BOUND
# (15 s), then it was killed ("pid N did not stop within 15s").  The
# supervisor sends SIGCONT after SIGTERM now, as systemd does: it takes
# its SIGTERM at once.  (Both checks fail before.)
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
numbered_docs "$T_DIR/docs" 10 30 doc
started=$SECONDS
docpipe run "$T_DIR/docs" --replicas summarize=2 --progress none >"$T_DIR/report.json" 2>"$T_DIR/err" &
SUP=$!
two_summarize() { [ "$(pgrep -P "$SUP" -f '/docpipe-summarize ' | wc -l)" = 2 ]; }
wait_for 30 two_summarize
kill -STOP "$(pgrep -P "$SUP" -f '/docpipe-summarize ' | head -1)"
wait $SUP
is "$?:$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report.json")" "$(printf '0:10\t0')" \
	"the run completes with a summarize replica stopped" || diag "$(cat "$T_DIR/err")"
took=$((SECONDS - started))
ok $((took < 10 ? 0 : 1)) "... and ends within seconds, not the 15 s bound (took $took s)"
is "$(grep -c 'did not stop within' "$T_DIR/err")" 0 "the stopped replica ended on its SIGTERM (none killed)"
done_testing
