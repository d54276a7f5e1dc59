#!/bin/bash
# docpipe-watch's walks: its rescans and its first pass (session 30).
# A rescan (the watch limit's every --poll seconds, an inotify queue
# overflow, SIGUSR1) sent every file again: a chunk pass each, and each a
# model request without the reuse cache.  Now it sends the files new,
# changed (size, times, inode) or gone since they were taken, and no
# other.  The first pass took a file still being written half-written,
# and again at its close: now a file it finds open for writing waits as
# one whose writer was seen (--writer-settle), and is taken once.
. "$(dirname "$0")/../lib/tap.sh"

has_record() { jq -c "select($2)" "$1" 2>/dev/null | grep -q .; } # (jq 1.6's -e: the last input only)
records() { jq -c "select($2)" "$1" | wc -l; }
hash_of() { docpipe-discover "$(dirname "$1")" | jq -r --arg p "$1" 'select(.path == $p) | .hash'; }
# said_ge FILE REGEX N: FILE has at least N lines matching REGEX.
said_ge() { [ "$(grep -Ec "$2" "$1")" -ge "$3" ]; }
WATCHERS=()
at_exit 'kill "${WATCHERS[@]}" 2>/dev/null; [ -n "$WRITER" ] && kill "$WRITER" 2>/dev/null'

# --- the watch limit's periodic rescans (the hook: one directory watched
# at most, so sub/ gives no event)
D=$T_DIR/limited
mkdir -p "$D/sub"
for f in top sub/a sub/b sub/c; do printf '# %s\n' "$f" >"$D/$f.md"; done
touch -d '1 hour ago' "$D"/*.md "$D"/sub/*.md
DOCPIPE_WATCH_TEST_MAX_DIRS=1 docpipe-watch --settle 100 --writer-settle 300 --poll 1 "$D" \
	>"$T_DIR/d.out" 2>"$T_DIR/d.err" &
W=$!; WATCHERS+=("$W")
wait_for 20 has_record "$T_DIR/d.out" ".path == \"$D/sub/c.md\""
ok $? "the first pass"
like "$(cat "$T_DIR/d.err")" "limit of 1 directories is reached: rescanning every 1 s" "the limit said"
printf '# a, edited\n' >"$D/sub/a.md"
new=$(hash_of "$D/sub/a.md")
rm "$D/sub/b.md"
printf '# n\n' >"$D/sub/n.md"
wait_for 20 has_record "$T_DIR/d.out" ".path == \"$D/sub/a.md\" and .hash == \"$new\""
ok $? "a rescan: a file edited in a directory not watched taken"
wait_for 20 has_record "$T_DIR/d.out" ".kind == \"delete\" and .path == \"$D/sub/b.md\""
ok $? "one deleted: deleted"
wait_for 20 has_record "$T_DIR/d.out" ".path == \"$D/sub/n.md\""
ok $? "a new one: taken"
n=$(grep -c 'periodic rescan' "$T_DIR/d.err")
wait_for 30 said_ge "$T_DIR/d.err" 'periodic rescan' $((n + 3))
ok $? "three rescans more"
is "$(records "$T_DIR/d.out" ".path == \"$D/sub/c.md\"")" 1 "an unchanged file is not sent again"
is "$(records "$T_DIR/d.out" ".path == \"$D/top.md\"")" 1 "nor one in the directory watched"
is "$(records "$T_DIR/d.out" ".path == \"$D/sub/a.md\"")" 2 "the edited one once a version"
is "$(records "$T_DIR/d.out" ".path == \"$D/sub/n.md\"")" 1 "the new one once"
is "$(records "$T_DIR/d.out" ".kind == \"delete\"")" 1 "one delete"
kill "$W"; wait "$W"

# --- SIGUSR1 after an edit no event told: through a name outside the
# roots (a hard link)
E=$T_DIR/signalled
mkdir -p "$E"
for f in x y z; do printf '# %s\n' "$f" >"$E/$f.md"; done
touch -d '1 hour ago' "$E"/*.md
ln "$E/x.md" "$T_DIR/outside.md"
docpipe-watch --settle 100 --writer-settle 300 "$E" >"$T_DIR/e.out" 2>"$T_DIR/e.err" &
W=$!; WATCHERS+=("$W")
wait_for 20 has_record "$T_DIR/e.out" ".path == \"$E/z.md\""
ok $? "the first pass"
printf 'edited outside\n' >>"$T_DIR/outside.md"
new=$(hash_of "$E/x.md")
kill -USR1 "$W"
wait_for 20 has_record "$T_DIR/e.out" ".path == \"$E/x.md\" and .hash == \"$new\""
ok $? "SIGUSR1: the file edited through a name outside the roots taken"
like "$(cat "$T_DIR/e.err")" "SIGUSR1: rescanning every root" "said"
sleep 0.5
is "$(records "$T_DIR/e.out" ".path != \"$E/x.md\"")" 2 "the unchanged files not sent again"
kill "$W"; wait "$W"

# --- the first pass and a file its writer holds open: one piece written,
# the watcher started, three more 0.3 s apart, the close.  --writer-settle
# 30000: the file, written before the walk, is still held however long the
# watcher takes to start on a busy machine (it is taken at the close).
F=$T_DIR/first
mkdir -p "$F"
printf '# old\n' >"$F/old.md"; touch -d '1 hour ago' "$F/old.md"
python3 - "$F/growing.md" "$T_DIR/started" "$T_DIR/go" <<'PY' &
import os, sys, time
with open(sys.argv[1], "w") as f:
    f.write("# Growing\n\npart 0\n\n"); f.flush()
    open(sys.argv[2], "w").close()
    for _ in range(1200):
        if os.path.exists(sys.argv[3]):
            break
        time.sleep(0.05)
    for i in range(1, 4):
        time.sleep(0.3)
        f.write("part %d\n\n" % i); f.flush()
PY
WRITER=$!
wait_for 20 test -e "$T_DIR/started"
docpipe-watch --settle 100 --writer-settle 30000 "$F" >"$T_DIR/f.out" 2>"$T_DIR/f.err" &
W=$!; WATCHERS+=("$W")
wait_for 20 has_record "$T_DIR/f.out" ".path == \"$F/old.md\""
ok $? "the first pass: a file not open taken at once"
touch "$T_DIR/go"
wait "$WRITER"; WRITER=
new=$(hash_of "$F/growing.md")
wait_for 20 has_record "$T_DIR/f.out" ".path == \"$F/growing.md\" and .hash == \"$new\""
ok $? "the file being written: taken whole after its close"
sleep 0.5
is "$(records "$T_DIR/f.out" ".path == \"$F/growing.md\"")" 1 "once (not half-written at the first pass)"
printf '# closed\n' >"$F/closed.md"
kill "$W"; wait "$W"
# A file written just before the walk but closed: not held (a read
# lease could be taken: no writer).
docpipe-watch --settle 100 --writer-settle 30000 "$F" >"$T_DIR/g.out" 2>"$T_DIR/g.err" &
W=$!; WATCHERS+=("$W")
wait_for 20 has_record "$T_DIR/g.out" ".path == \"$F/closed.md\""
ok $? "a file written just before the first pass, closed: taken at once"
kill "$W"; wait "$W"
is "$(cat "$T_DIR"/[efg].err)" "$(grep SIGUSR1 "$T_DIR/e.err")" "nothing else said"
done_testing
