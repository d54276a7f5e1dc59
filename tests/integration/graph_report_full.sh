#!/bin/bash
# docpipe run's directory ($TMPDIR) on a full disk: the hub cannot write
# its report there.  Before, the run exited 0 with no report on stdout and
# no word (and nothing recorded in docpipe.runs); now the hub says so and
# the run exits 3.  The documents themselves are stored (the database is
# elsewhere).  A run directory that cannot be made at all is exit 3 with
# mktemp's reason (checked too).  Needs a tmpfs mount (root).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
numbered_docs "$T_DIR/docs" 20 50 note
# Standard output on a full disk (a cron job's report file): the report
# cannot be printed: said, exit 3 (before: exit 0, bash's "write error").
docpipe run "$T_DIR/docs" --progress none >/dev/full 2>"$T_DIR/err"
is "$?" 3 "the report cannot be printed (stdout a full disk): exit 3"
like "$(cat "$T_DIR/err")" "docpipe: the report could not be written to standard output: No space left on device" \
	"... saying why"
TMPDIR=$T_DIR/missing/x docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
is "$?" 3 "a run directory that cannot be made: exit 3"
like "$(cat "$T_DIR/err")" "mktemp: .*No such file or directory" "... saying why"
mkdir -p "$T_DIR/full"
if ! mount -t tmpfs -o size=64k tmpfs "$T_DIR/full" 2>/dev/null; then
	skip "cannot mount a tmpfs here (not root)"
	done_testing
fi
at_exit 'umount "$T_DIR/full" 2>/dev/null'
# One 4 KiB block left: the hub's endpoints file takes it, the report finds none.
dd if=/dev/zero of="$T_DIR/full/fill" bs=1k count=60 2>/dev/null
TMPDIR=$T_DIR/full docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
rc=$?
is "$rc:$(wc -c <"$T_DIR/report")" "3:0" "the report cannot be written: exit 3, no report"
like "$(cat "$T_DIR/err")" "docpipe-hub: the report could not be written: No space left on device" \
	"the hub says why"
is "$(grep -c '^docpipe-hub: *$' "$T_DIR/err")" 0 "and no empty line after it (fault sweep 19: an error buffer never set)"
is "$(sql "SELECT count(*) FROM docpipe.documents")" 20 "the documents are stored"
[ "$rc" = 3 ] || sed 's/^/# /' "$T_DIR/err"
done_testing
