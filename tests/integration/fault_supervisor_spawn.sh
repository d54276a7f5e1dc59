#!/bin/bash
# lane: beside (tests/run: it waits on a slowed start)
# The supervisor gone while it starts its children: each child asks for
# SIGTERM at its parent's death (setpriv --pdeathsig), but a parent that
# died before the child asked never sends it: the child ran for good,
# parent 1 (a summarize replica seen once in ~200 runs signalled in their
# first 35-80 ms, session 20).  Made certain here: a setpriv first in PATH
# waits 0.5 s before it runs the real one, and the supervisor is killed
# with -9 while its replicas are in that wait.  Now each child checks that
# its parent is still the supervisor once the signal is asked for, and
# exits if not: nothing is left.  And a signal in a run's first moments
# (while the run's directory is made) leaves no directory behind.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
numbered_docs "$T_DIR/docs" 5 20 note
real=$(command -v setpriv) || { skip "no setpriv"; done_testing; }
mkdir -p "$T_DIR/slow" "$T_DIR/tmp"
printf '#!/bin/sh\nsleep 0.5\nexec %s "$@"\n' "$real" >"$T_DIR/slow/setpriv"
chmod +x "$T_DIR/slow/setpriv"

env "$(tag_env slow)" PATH="$T_DIR/slow:$PATH" docpipe run "$T_DIR/docs" --progress none \
	>/dev/null 2>"$T_DIR/err" &
SUP=$!
starting() { grep -q "hub on" "$T_DIR/err" 2>/dev/null; }
wait_for 30 starting
ok $? "the run's hub is up, its replicas starting"
kill -9 $SUP
wait $SUP 2>/dev/null
none_left() { [ -z "$(tagged slow)" ]; }
wait_for 20 none_left
ok $? "the supervisor killed while its replicas start: none of its processes left within 20 s"
left=$(tagged slow)
# shellcheck disable=SC2086
[ -n "$left" ] && { ps -o pid,ppid,args -p "$(echo $left | tr ' ' ,)" | sed 's/^/# /'; kill -9 $left; }

# SIGTERM at once, again and again: the moment the run's directory is made
# is among them.
dirs=0
for i in $(seq 1 20); do
	mkdir -p "$T_DIR/tmp"
	TMPDIR="$T_DIR/tmp" docpipe run "$T_DIR/docs" --progress none >/dev/null 2>&1 &
	p=$!
	sleep "0.0$((i % 10))"
	kill -TERM $p
	wait $p
	[ -z "$(ls -A "$T_DIR/tmp")" ] || { dirs=$((dirs + 1)); rm -rf "${T_DIR:?}/tmp/"*; }
done
is "$dirs" 0 "SIGTERM in a run's first 0-90 ms: no run directory left behind (20 runs)"
done_testing
