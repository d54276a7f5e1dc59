#!/bin/bash
# docpipe run's directory ($TMPDIR) on a full disk: the hub cannot write
# its report there.  Before, the run exited 0 with no report on stdout and
# no word (and nothing recorded in docpipe.runs); now the hub says so and
# the run exits 3.  The documents themselves are stored (the database is
# elsewhere).  A run directory that cannot be made at all is exit 3 with
# mktemp's reason (checked too).  Needs a tmpfs mount (root).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
# 21 files: the 21st goes before the last run (its sweep, below).
numbered_docs "$T_DIR/docs" 21 50 note
# Standard output on a full disk (a cron job's report file): the report
# cannot be printed: said, exit 3 (before: exit 0, bash's "write error").
docpipe run "$T_DIR/docs" --progress none >/dev/full 2>"$T_DIR/err"
is "$?" 3 "the report cannot be printed (stdout a full disk): exit 3"
like "$(cat "$T_DIR/err")" "docpipe: the report could not be written to standard output: No space left on device" \
	"... saying why"
TMPDIR=$T_DIR/missing/x docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
is "$?" 3 "a run directory that cannot be made: exit 3"
like "$(cat "$T_DIR/err")" "mktemp: .*No such file or directory" "... saying why"
# The run directory's file system fills at the run's end, its last step
# before the report: the run is held there (its sweep waits for the row of
# a document whose file is gone, which another session holds), the hub is
# stopped, the sweep's exit awaited, the file system filled to its last
# block, and the hub continued.  Only the report's write can then fail,
# whatever the order the run's processes wrote their files in and
# whatever a sanitizer keeps in TMPDIR meanwhile (filled from the start
# with one block left, ThreadSanitizer's runtime file of each process,
# 512 KiB, took it first, and the hub's endpoints file failed: session 59).
mkdir -p "$T_DIR/full"
if ! mount -t tmpfs -o size=16m tmpfs "$T_DIR/full" 2>/dev/null; then
	skip "cannot mount a tmpfs here (not root)"
	done_testing
fi
at_exit 'umount "$T_DIR/full" 2>/dev/null'
first=$(sql "SELECT string_agg(DISTINCT last_run, ',') FROM docpipe.documents")
rm "$T_DIR/docs/note21.md"
hold_lock holder "SELECT id FROM docpipe.documents WHERE path = '$T_DIR/docs/note21.md' FOR UPDATE"
TMPDIR=$T_DIR/full docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report" 2>"$T_DIR/err" &
run=$!
sweeping() { sql_ge "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()" 1; }
live_child() { ps -o stat= --ppid "$1" | grep -qv '^Z'; }
wait_for 60 sweeping && hub=$(pgrep -P $run -x docpipe-hub) && kill -STOP "$hub"
ok $? "the run is held at its sweep, its hub stopped"
at_exit 'kill -CONT "$hub" 2>/dev/null'
release_lock holder
wait_for 60 eval '! live_child "$hub"'
ok $? "the sweep ended"
dd if=/dev/zero of="$T_DIR/full/fill" bs=4k 2>/dev/null
is "$(stat -f -c %a "$T_DIR/full")" 0 "the run directory's file system is full"
kill -CONT "$hub"
wait "$run"
rc=$?
is "$rc:$(wc -c <"$T_DIR/report")" "3:0" "the report cannot be written: exit 3, no report"
like "$(cat "$T_DIR/err")" "docpipe-hub: the report could not be written: No space left on device" \
	"the hub says why"
is "$(grep -c '^docpipe-hub: *$' "$T_DIR/err")" 0 "and no empty line after it (fault sweep 19: an error buffer never set)"
is "$(sql "SELECT count(*) FILTER (WHERE last_run <> '$first') || '/' || count(*) FROM docpipe.documents")" 20/20 \
	"the run stored the documents (all seen by it), and swept the one whose file went"
[ "$rc" = 3 ] || sed 's/^/# /' "$T_DIR/err"
done_testing
