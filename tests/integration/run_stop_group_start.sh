#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# SIGTERM to a run's whole process group (as systemd stops a service, or
# ^C at a terminal) while the start runs an external command (mkfifo, the
# run directory's flock) kills that command too: the run took its failure
# for the system's and ended status 3, "could not lock the run's
# directory" (8 of 160 runs so signalled 0-150 ms in, docs/RELIABILITY.md,
# session 55).  Now a failed step of the start looks at the stop first
# (start_failed in scripts/docpipe): status 5, interrupted, nothing left,
# and the next run stores every file.  Each moment is made certain by a
# wrapper of the command (first in PATH) that marks it and waits.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
numbered_docs "$T_DIR/docs" 3 20 note
export TMPDIR=$T_DIR/tmp
mkdir -p "$TMPDIR" "$T_DIR/path"

# slowed COMMAND: $T_DIR/path/COMMAND writes its process group to
# $T_DIR/COMMAND.go and waits 5 s before it runs the real COMMAND.
slowed() {
	printf '#!/bin/sh\ncut -d" " -f5 /proc/$$/stat >%s.tmp && mv %s.tmp %s\nsleep 5\nexec %s "$@"\n' \
		"$T_DIR/$1.go" "$T_DIR/$1.go" "$T_DIR/$1.go" "$(command -v "$1")" >"$T_DIR/path/$1"
	chmod +x "$T_DIR/path/$1"
}

for cmd in mkfifo flock; do
	rm -f "$T_DIR/path/"*
	slowed $cmd
	# A session of its own: its process group is the run's alone.
	PATH=$T_DIR/path:$PATH setsid docpipe run "$T_DIR/docs" --progress none \
		>"$T_DIR/$cmd.out" 2>"$T_DIR/$cmd.err" &
	sup=$!
	wait_for 30 test -s "$T_DIR/$cmd.go" || diag "$cmd: the moment never came"
	kill -TERM -- "-$(cat "$T_DIR/$cmd.go")"
	wait_for 30 exited $sup
	wait $sup
	is "$?" 5 "SIGTERM to the run's process group while its $cmd runs: status 5 (interrupted)" ||
		diag "$(cat "$T_DIR/$cmd.err")"
	is "$(grep -c 'could not lock' "$T_DIR/$cmd.err")" 0 "... not a failure to lock the run's directory" ||
		diag "$(cat "$T_DIR/$cmd.err")"
	is "$(ls -A "$TMPDIR")" "" "... no run directory left"
	docpipe run "$T_DIR/docs" --progress none >"$T_DIR/$cmd.next" 2>&1
	is "$?/$(sql "SELECT count(*) FROM docpipe.documents")" "0/3" "... the next run stores every file" ||
		diag "$(cat "$T_DIR/$cmd.next")"
	sql "TRUNCATE docpipe.documents CASCADE" >/dev/null 2>&1
done
done_testing
