#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# docpipe run's directory (its edges' socket files, the report) removed
# while the run goes on (fault sweep 13, session 34): systemd-tmpfiles'
# age-based cleaning of /tmp (RHEL: 10 days, so a --watch run), a tmp
# reaper, an rm -rf.  Before, a replica started again could never reach
# the hub: the run stalled, re-sending to nobody, until --timeout x
# --attempts failed every document; a run that needed no restart ended
# with status 0 and no report (systemd-tmpfiles keeps live sockets but
# removes the report's file).  README, docpipe(1): the
# directory is locked (systemd-tmpfiles skips it), and a run that finds it
# gone stops with status 3, saying so.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
numbered_docs "$D" 40 30 doc
fakeapi
API=(--opt summarize=--backend=openai --opt embed=--backend=openai)
export TMPDIR=$T_DIR/tmp
mkdir -p "$TMPDIR"
at_exit 'for p in $(tagged run); do kill -9 $p 2>/dev/null; done'

rundir() { local d; for d in "$TMPDIR"/docpipe-run.*; do [ -S "$d/STATS" ] && echo "$d"; done; }
# summarize_pid SUPERVISOR: its summarize replica.
summarize_pid() {
	local p
	for p in $(tagged run); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = docpipe-summari ] &&
			[ "$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)" = "$1" ] && echo "$p"
	done
	return 0
}
old_enough() { [ $(( $(date +%s) - $(stat -c %Y "$T_DIR/mark") )) -ge 3 ]; }

# A run held by its model API, a replica killed once its directory is gone.
api_control '{"hold": true}'
env "$(tag_env run)" docpipe run "$D" --progress none "${API[@]}" >"$T_DIR/run.json" 2>"$T_DIR/run.err" &
run=$!
wait_for 60 api_requests_ge chat 1
ok $? "a run is under way, held by its model API" || diag "$(cat "$T_DIR/run.err")"
dir=$(rundir)
like "$dir" "^$TMPDIR/docpipe-run\." "its directory is under TMPDIR"

if command -v systemd-tmpfiles >/dev/null && [ "$(id -u)" = 0 ]; then
	# A cleaner of TMPDIR for whatever is older than 1 s, as tmp.conf's
	# "q /tmp 1777 root root 10d" is for 10 days.
	mkdir -p "$TMPDIR/old" && : >"$T_DIR/mark"
	wait_for 30 old_enough
	printf 'd %s - - - 1s\n' "$TMPDIR" >"$T_DIR/tmpfiles.conf"
	systemd-tmpfiles --clean "$T_DIR/tmpfiles.conf" 2>"$T_DIR/tmpfiles.err"
	ok $([ ! -e "$TMPDIR/old" ]; echo $?) "systemd-tmpfiles --clean removes an old directory beside it" ||
		diag "$(cat "$T_DIR/tmpfiles.err")"
	# It keeps live sockets, but removed the report's file, the crash
	# journals and the lock of a run that did not lock its directory.
	ok $([ -f "$dir/report.json" ] && [ -d "$dir/crash-chunk" ] && [ -f "$dir/lock" ]; echo $?) \
		"... not the run's, which the run holds locked (its report file, crash journals, lock kept)" ||
		diag "$(ls -la "$dir" 2>&1)"
else
	skip "no systemd-tmpfiles, or not root"
	skip "no systemd-tmpfiles, or not root"
fi

rm -rf -- "$dir"
sp=$(summarize_pid "$run")
ok $([ -n "$sp" ]; echo $?) "the run's summarize replica is found (pid $sp)"
kill -9 $sp
# Once the supervisor has said it stops, the server answers again: embed
# holds documents too (the hub sends each to summarize and embed at once),
# and held, it finished none and was killed after the supervisor's 15 s.
wait_for 30 grep -q "was removed or emptied during the run" "$T_DIR/run.err"
api_control '{"hold": false}'
wait_for 60 exited $run
ok $? "with its directory removed, the replica's death stops the run (no stall)" || diag "$(tail -5 "$T_DIR/run.err")"
kill -9 $run 2>/dev/null
wait $run
is "$?" 3 "... status 3"
grep -q "the run's directory $dir was removed or emptied during the run" "$T_DIR/run.err"
ok $? "... saying that its directory was removed" || diag "$(tail -5 "$T_DIR/run.err")"

# A run that needs no restart: its report is gone with the directory.
api_control '{"hold": true}'
chats=$(api_requests chat)
env "$(tag_env run)" docpipe run "$D" --progress none "${API[@]}" >"$T_DIR/run2.json" 2>"$T_DIR/run2.err" &
run=$!
wait_for 60 api_requests_ge chat $((chats + 1))
dir=$(rundir)
rm -rf -- "$dir"
api_control '{"hold": false}'
wait_for 60 exited $run
wait $run
is "$?" 3 "a run whose directory is removed and that needs no restart ends with status 3, not 0 without a report" ||
	diag "$(tail -5 "$T_DIR/run2.err")"
grep -q "the run's directory $dir was removed or emptied during the run" "$T_DIR/run2.err"
ok $? "... saying so" || diag "$(tail -5 "$T_DIR/run2.err")"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" 40 "... every document stored once"
done_testing
