#!/bin/bash
# A directory under a root that the run's user may not read (a lost+found
# at a disk's top, a directory another user made mode 700, a root-owned
# build cache).  Before: the walk was not complete, so the run's sweep was
# skipped on every run ("discover did not walk everything"): the run ended
# "complete": false, status 5, and files deleted anywhere else under the
# root stayed stored for good.  Now discover's end record lists each path
# it could not read ("unread", at most 64: past them nothing is proven,
# as before), and the sweep deletes what it did not see except what is
# stored under those paths (src/discover/walk.c, src/lib/endrec.c,
# src/hub/loop.c tell_go, src/store/sweep.c).
. "$(dirname "$0")/../lib/tap.sh"
if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1; then
	skip "not root, or no user nobody: cannot make a directory unreadable to the run"
	done_testing
fi
newdb || exit 1
chmod 755 "$T_DIR" # mktemp's 700 keeps nobody out
D=$T_DIR/docs
mkdir -p "$D/sub" "$D/sub2" "$D/other"
for f in a.md b.md sub/c.md sub2/x.md other/o.md; do printf '# %s\n\ntext of %s\n' "$f" "$f" >"$D/$f"; done
chmod -R a+rX "$D"
# The run's user reaches the server over TCP (the test server's socket
# directory may be closed to it).
export DATABASE_URL="postgresql:///$PGDATABASE?host=127.0.0.1&port=$PGPORT&user=$PGUSER"
as_nobody() { setpriv --reuid nobody --regid nogroup --clear-groups env HOME=/tmp "$@"; }
stored() { sql "SELECT string_agg(substr(path, length('$D') + 2), ',' ORDER BY path) FROM docpipe.documents"; }

as_nobody "$(command -v docpipe)" run "$D" --progress none >"$T_DIR/run1.json" 2>"$T_DIR/run1.err"
is "$?/$(jq -c '.added' "$T_DIR/run1.json")" 0/5 "the first run stores 5 documents" || diag "$(cat "$T_DIR/run1.err")"

# sub unreadable; b.md and sub2/x.md deleted (sub2 shares sub's prefix).
chmod 000 "$D/sub"
rm "$D/b.md" "$D/sub2/x.md"
as_nobody "$(command -v docpipe)" run "$D" --progress none >"$T_DIR/run2.json" 2>"$T_DIR/run2.err"
is "$?/$(jq -c '[.complete, .sweep, .deleted, .failed]' "$T_DIR/run2.json")" '0/[true,"done",2,0]' \
	"a directory unreadable to the run: exit 0, complete, swept, 2 deleted" || diag "$(cat "$T_DIR/run2.err")"
is "$(stored)" "a.md,other/o.md,sub/c.md" "what is under the unread directory is kept, the deleted files are gone"
like "$(cat "$T_DIR/run2.err")" "sweep: what is stored under 1 path\(s\) the walk could not read is kept \($D/sub\)" \
	"the sweep says what it kept"
as_nobody "$(command -v docpipe-discover)" --end-record "$D" 2>/dev/null | jq -c 'select(.kind == "end") | [.complete, .unread]' >"$T_DIR/end"
is "$(cat "$T_DIR/end")" "[false,[\"$D/sub\"]]" "the end record lists the unread directory"

# A pipeline's sweep (--require-end) keeps it too.
chmod 755 "$D/sub" && printf '# d\n\nd\n' >"$D/sub/d.md" && chmod 644 "$D/sub/d.md"
as_nobody "$(command -v docpipe)" run "$D" --progress none >/dev/null 2>&1
chmod 000 "$D/sub"
rm "$D/other/o.md"
RUN=unread-1
as_nobody "$(command -v docpipe-discover)" --end-record "$D" 2>/dev/null | as_nobody "$(command -v docpipe-chunk)" --jq ".run = \"$RUN\"" |
	as_nobody "$(command -v docpipe-store)" >"$T_DIR/receipts" 2>/dev/null
docpipe-store --sweep "$RUN" --require-end "$T_DIR/receipts" "$D" >/dev/null 2>"$T_DIR/sweep.err"
is "$?/$(stored)" "0/a.md,sub/c.md,sub/d.md" "docpipe-store --sweep --require-end: the unread directory's documents kept, o.md swept" ||
	diag "$(cat "$T_DIR/sweep.err")"

# More unread paths than an end record lists (64): nothing is proven, no
# sweep, as before.
for i in $(seq 65); do mkdir "$D/closed$i" && chmod 000 "$D/closed$i"; done
rm "$D/a.md"
as_nobody "$(command -v docpipe)" run "$D" --progress none >"$T_DIR/run3.json" 2>"$T_DIR/run3.err"
is "$?/$(jq -c '[.complete, .sweep, .deleted]' "$T_DIR/run3.json")" '5/[false,"skipped",0]' \
	"65 unread directories: the sweep skipped, nothing deleted" || diag "$(cat "$T_DIR/run3.err"; head -c 3000 "$T_DIR/run3.json")"
is "$(stored)" "a.md,sub/c.md,sub/d.md" "a.md kept until a run can prove its walk"
chmod 755 "$D/sub"
done_testing
