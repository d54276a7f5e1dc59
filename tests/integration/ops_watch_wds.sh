#!/bin/bash
# docpipe-watch after many directories came and went (sweep 8, finding 4):
# the kernel gives every watch a new descriptor (wd), never reusing one
# until INT_MAX, and the watcher kept its directories in an array indexed
# by wd, ignoring wd >= 1 << 22: after 4,194,304 directories made under
# the roots in its life (a site rebuilt in place every 10 minutes for two
# weeks), new directories were watched by the kernel but their events
# dropped: new files never stored, silently.  Now wds are keys of an
# object; only the number of directories watched at once is bounded.
. "$(dirname "$0")/../lib/tap.sh"

# has_record FILE FILTER: a record of FILE that the jq test FILTER selects.
# (jq 1.6's -e looks at the last input's output only)
has_record() { jq -c "select($2)" "$1" 2>/dev/null | grep -q .; }
# max_wd PID: the largest watch descriptor PID's inotify instance holds.
max_wd() {
	local f
	for f in /proc/"$1"/fd/*; do
		[ "$(readlink "$f")" = anon_inode:inotify ] || continue
		sed -n 's/^inotify wd:\([0-9a-f]*\) .*/\1/p' /proc/"$1"/fdinfo/"${f##*/}"
	done | while read -r h; do echo $((16#$h)); done | sort -n | tail -1
}
WATCHERS=()
at_exit 'kill "${WATCHERS[@]}" 2>/dev/null'

# --- 3,000 directories made and removed, then a new one
D=$T_DIR/site
mkdir -p "$D"; printf '# a\n' >"$D/a.md"
docpipe-watch --settle 100 "$D" >"$T_DIR/d.out" 2>"$T_DIR/d.err" &
W=$!; WATCHERS+=("$W")
wait_for 30 has_record "$T_DIR/d.out" ".path == \"$D/a.md\""
ok $? "the first pass"
mkdir "$D/public"
(cd "$D/public" && mkdir $(seq -f d%g 1 1500) && mkdir $(seq -f e%g 1 1500))
printf '# built\n' >"$D/public/index.md"
wait_for 30 has_record "$T_DIR/d.out" ".path == \"$D/public/index.md\""
ok $? "3,000 directories made (each watched)"
rm -rf "$D/public"
wait_for 30 has_record "$T_DIR/d.out" ".kind == \"delete\" and .path == \"$D/public/index.md\""
ok $? "and removed"
mkdir "$D/new"; printf '# after\n' >"$D/new/after.md"
wait_for 30 has_record "$T_DIR/d.out" ".kind == \"file\" and .path == \"$D/new/after.md\""
ok $? "a new directory's file is taken after them"
wd=$(max_wd "$W")
ok "$([ "${wd:-0}" -gt 3000 ]; echo $?)" "its watch descriptor is past 3,000 (got ${wd:-none}): they only grow"

# --- watch descriptors past the bound.  Using up 1 << 22 of them takes
# minutes (about 40 us each here), so the test hooks take the bound down
# to 50 and use up 100 first: the old array dropped every wd >= its bound.
S=$T_DIR/big
mkdir -p "$S"; printf '# b\n' >"$S/b.md"
DOCPIPE_WATCH_TEST_MAX_DIRS=50 DOCPIPE_WATCH_TEST_SKIP_WDS=100 \
	docpipe-watch --settle 100 "$S" >"$T_DIR/s.out" 2>"$T_DIR/s.err" &
W=$!; WATCHERS+=("$W")
wait_for 30 has_record "$T_DIR/s.out" ".path == \"$S/b.md\""
ok $? "the first pass after 100 watch descriptors used up"
wd=$(max_wd "$W")
ok "$([ "${wd:-0}" -gt 100 ]; echo $?)" "the root's watch descriptor is past them (got ${wd:-none})"
printf '# b edited\n' >"$S/b.md"
wait_for 30 has_record "$T_DIR/s.out" ".path == \"$S/b.md\" and .seq > 0"
ok $? "an edit in the root is taken"
mkdir -p "$S/new/deeper"; printf '# c\n' >"$S/new/deeper/c.md"
wait_for 30 has_record "$T_DIR/s.out" ".path == \"$S/new/deeper/c.md\""
ok $? "a new directory is followed"
printf '# d\n' >"$S/new/deeper/d.md"
wait_for 30 has_record "$T_DIR/s.out" ".path == \"$S/new/deeper/d.md\""
ok $? "and a file made in it later is taken"
mv "$S/new" "$S/moved"
wait_for 30 has_record "$T_DIR/s.out" ".kind == \"delete\" and .path == \"$S/new/deeper/d.md\""
ok $? "a directory moved: its files are deleted under the old name"
wait_for 30 has_record "$T_DIR/s.out" ".kind == \"file\" and .path == \"$S/moved/deeper/d.md\""
ok $? "and taken under the new one"
kill "$W"

# --- the number of directories watched at once is the bound: past it,
# said once, and every root rescanned every --poll seconds
L=$T_DIR/many
mkdir -p "$L"/d{1..8}; printf '# l\n' >"$L/l.md"
DOCPIPE_WATCH_TEST_MAX_DIRS=5 docpipe-watch --settle 100 --poll 1 "$L" >"$T_DIR/l.out" 2>"$T_DIR/l.log" &
W=$!; WATCHERS+=("$W")
wait_for 30 has_record "$T_DIR/l.out" ".path == \"$L/l.md\""
like "$(cat "$T_DIR/l.log")" "cannot watch: the watcher's limit of 5 directories is reached: rescanning every 1 s instead" \
	"9 directories, 5 at most: said"
for i in 1 2 3 4 5 6 7 8; do printf '# in %s\n' $i >"$L/d$i/f.md"; done
for i in 1 2 3 4 5 6 7 8; do
	wait_for 30 has_record "$T_DIR/l.out" ".path == \"$L/d$i/f.md\"" || break
done
ok $? "a file made in each is taken (by its event or the rescan)"
is "$(grep -c 'limit of 5 directories' "$T_DIR/l.log")" 1 "said once"

for w in "${WATCHERS[@]}"; do kill "$w" 2>/dev/null; done
wait
is "$(cat "$T_DIR"/*.err)" "" "nothing said on stderr"
done_testing
