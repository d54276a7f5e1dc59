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
# exits if not: nothing is left.  (The replicas now take their session and
# signal themselves, DOCPIPE_SUPERVISOR: the slowed setpriv delays the hub
# and discover; the replicas' own check is tested at the end.)  And a
# signal in a run's first moments (while the run's directory is made)
# leaves no directory behind.
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
# A replica docpipe run starts (DOCPIPE_SUPERVISOR=its pid, src/lib/cli.c):
# its own session; a supervisor already gone when it asks for its
# parent-death signal (another pid than its parent's) ends it with that
# signal at once; and the supervisor's kill -9 later ends it too.
DOCPIPE_SUPERVISOR=1 docpipe-chunk --help >/dev/null 2>&1
is "$?" 143 "a replica whose supervisor is already gone ends at once, as by SIGTERM"
mkfifo "$T_DIR/in"
bash -c 'DOCPIPE_SUPERVISOR=$$ docpipe-chunk <"$1" >/dev/null & echo $! >"$2"; exec 3>"$1"; sleep 60' \
	_ "$T_DIR/in" "$T_DIR/pid" &
SH=$!
has_pid() { [ -s "$T_DIR/pid" ]; }
wait_for 20 has_pid
child=$(cat "$T_DIR/pid")
session() { read -r stat <"/proc/$child/stat" && set -- ${stat##*) } && [ "$4" = "$child" ]; }
wait_for 20 session
ok $? "the replica leads a session of its own (the supervisor stops it as a group)"
kill -9 $SH
gone() { ! kill -0 "$child" 2>/dev/null; }
wait_for 20 gone
ok $? "the supervisor killed with -9: the replica gets its parent-death signal and ends"
kill -9 "$child" 2>/dev/null
done_testing
