#!/bin/bash
# docpipe-watch and a file with two names under the roots (sweep 8,
# finding 3): inotify tells a write under the name written through only.
# Hard links: taking one name of a file with st_nlink > 1 marks the other
# names known of its inode.  A directory reached by two paths (a bind
# mount inside the tree; root only): the kernel gives both the one watch,
# and the watcher kept the last name added: an edit through the other was
# taken under the wrong name only.  Now every name of the watch takes the
# event, said once.
. "$(dirname "$0")/../lib/tap.sh"

# has_record FILE FILTER: a record of FILE that the jq test FILTER selects
# (jq 1.6's -e looks at the last input's output only).
has_record() { jq -c "select($2)" "$1" 2>/dev/null | grep -q .; }
# records FILE FILTER: how many records of FILE FILTER selects.
records() { jq -c "select($2)" "$1" | wc -l; }
hash_of() { docpipe-discover "$(dirname "$1")" | jq -r --arg p "$1" 'select(.path == $p) | .hash'; }
WATCHERS=()
at_exit 'kill "${WATCHERS[@]}" 2>/dev/null; mountpoint -q "$T_DIR/bound/loop" && umount "$T_DIR/bound/loop"'

# --- hard links, both names in the tree
H=$T_DIR/links
mkdir -p "$H/a" "$H/b" "$T_DIR/outside"
printf '# Shared\n\nversion one\n' >"$H/a/shared.md"; ln "$H/a/shared.md" "$H/b/shared.md"
printf '# Single\n' >"$H/a/single.md"
docpipe-watch --settle 100 "$H" >"$T_DIR/h.out" 2>"$T_DIR/h.err" &
W=$!; WATCHERS+=("$W")
wait_for 30 has_record "$T_DIR/h.out" ".path == \"$H/a/single.md\""
ok $? "the first pass"
echo "version two" >>"$H/a/shared.md"
new=$(hash_of "$H/a/shared.md")
wait_for 30 has_record "$T_DIR/h.out" ".path == \"$H/a/shared.md\" and .hash == \"$new\""
ok $? "written through one name: taken there"
wait_for 30 has_record "$T_DIR/h.out" ".path == \"$H/b/shared.md\" and .hash == \"$new\""
ok $? "and under the other name, which had no event"
echo "version three" >>"$H/b/shared.md"
new=$(hash_of "$H/b/shared.md")
wait_for 30 has_record "$T_DIR/h.out" ".path == \"$H/a/shared.md\" and .hash == \"$new\""
ok $? "the same through the other name"
ln "$H/a/single.md" "$H/b/third.md"
wait_for 30 has_record "$T_DIR/h.out" ".path == \"$H/b/third.md\""
ok $? "a link made to a file known by one name: the new name taken"
# (a link made to a file taken with one name: that name had no event, so
# an edit through the new name reaches it once it is taken again, below)
printf '# Single, edited\n' >>"$H/a/single.md"
new=$(hash_of "$H/a/single.md")
wait_for 30 has_record "$T_DIR/h.out" ".path == \"$H/b/third.md\" and .hash == \"$new\""
ok $? "and an edit through the first one taken under it"
printf '# Single, edited again\n' >>"$H/b/third.md"
new=$(hash_of "$H/b/third.md")
wait_for 30 has_record "$T_DIR/h.out" ".path == \"$H/a/single.md\" and .hash == \"$new\""
ok $? "then one through it under the first"
sleep 1
is "$(records "$T_DIR/h.out" ".path == \"$H/b/shared.md\"")" 3 \
	"each version once under each name (no name marks the other back)"
rm "$H/b/shared.md"
wait_for 30 has_record "$T_DIR/h.out" ".kind == \"delete\" and .path == \"$H/b/shared.md\""
ok $? "one name deleted: a delete record for it"
echo "version four" >>"$H/a/shared.md"
new=$(hash_of "$H/a/shared.md")
wait_for 30 has_record "$T_DIR/h.out" ".path == \"$H/a/shared.md\" and .hash == \"$new\""
ok $? "the other name still taken"
sleep 0.5
is "$(records "$T_DIR/h.out" ".kind == \"file\" and .path == \"$H/b/shared.md\" and .hash == \"$new\"")" 0 \
	"the deleted name not brought back"

# --- a link made while watching to a file taken under one name (session
# 30): the new name waited --writer-settle (IN_CREATE, as a file opened),
# and an edit through it reached the old name only at that name's next
# change.  --writer-settle of an hour: a link is no writer.
K=$T_DIR/linked
mkdir -p "$K/a" "$K/b"
printf '# One\n' >"$K/a/one.md"; touch -d '1 hour ago' "$K/a/one.md"
docpipe-watch --settle 100 --writer-settle 3600000 --writer-max 3600000 "$K" >"$T_DIR/k.out" 2>"$T_DIR/k.err" &
W=$!; WATCHERS+=("$W")
wait_for 20 has_record "$T_DIR/k.out" ".path == \"$K/a/one.md\""
ok $? "the first pass"
ln "$K/a/one.md" "$K/b/two.md"
wait_for 20 has_record "$T_DIR/k.out" ".path == \"$K/b/two.md\""
ok $? "a link made: the new name taken then"
printf 'edited through the new name\n' >>"$K/b/two.md"
new=$(hash_of "$K/b/two.md")
wait_for 20 has_record "$T_DIR/k.out" ".path == \"$K/a/one.md\" and .hash == \"$new\""
ok $? "an edit through the new name: taken under the old one"
wait_for 20 has_record "$T_DIR/k.out" ".path == \"$K/b/two.md\" and .hash == \"$new\""
ok $? "and the new"
printf 'edited through the old name\n' >>"$K/a/one.md"
new=$(hash_of "$K/a/one.md")
wait_for 30 has_record "$T_DIR/k.out" ".path == \"$K/b/two.md\" and .hash == \"$new\""
ok $? "one through the old name: taken under the new one"
# Under the old name too (its record may come after the new name's under
# load: a count taken at once could miss it).
wait_for 30 has_record "$T_DIR/k.out" ".path == \"$K/a/one.md\" and .hash == \"$new\""
sleep 0.5
is "$(records "$T_DIR/k.out" ".path == \"$K/a/one.md\"")" 3 "each version once under the old name"
is "$(records "$T_DIR/k.out" ".path == \"$K/b/two.md\"")" 3 "and under the new"
kill "$W"; wait "$W"

# --- a directory with two paths: a bind mount inside the tree (root only)
B=$T_DIR/bound
mkdir -p "$B/loop" "$B/sub"; printf '# one\n' >"$B/x.md"; printf '# s\n' >"$B/sub/s.md"
if mount --bind "$B" "$B/loop" 2>"$T_DIR/mount.err"; then
	docpipe-watch --settle 100 "$B" >"$T_DIR/b.out" 2>"$T_DIR/b.err" &
	W=$!; WATCHERS+=("$W")
	wait_for 30 has_record "$T_DIR/b.out" ".path == \"$B/loop/sub/s.md\""
	ok $? "the first pass, both names"
	printf '# two, longer\n' >"$B/x.md"
	new=$(hash_of "$B/x.md")
	wait_for 30 has_record "$T_DIR/b.out" ".path == \"$B/x.md\" and .hash == \"$new\""
	ok $? "written through the first name: taken there"
	wait_for 30 has_record "$T_DIR/b.out" ".path == \"$B/loop/x.md\" and .hash == \"$new\""
	ok $? "and under the bind mount's name"
	printf '# new\n' >"$B/loop/sub/new.md"
	wait_for 30 has_record "$T_DIR/b.out" ".path == \"$B/sub/new.md\""
	ok $? "a file made through the second name in a subdirectory: taken under the first"
	wait_for 30 has_record "$T_DIR/b.out" ".path == \"$B/loop/sub/new.md\""
	ok $? "and the second"
	like "$(cat "$T_DIR/b.err")" "$B(/loop)? and $B(/loop)? are the same directory" "said"
	is "$(grep -c 'same directory' "$T_DIR/b.err")" 1 "once (not for its subdirectories)"
	kill "$W"; wait "$W"
	umount "$B/loop"
else
	for _ in $(seq 7); do skip "cannot bind-mount here ($(head -1 "$T_DIR/mount.err"))"; done
fi

for w in "${WATCHERS[@]}"; do kill "$w" 2>/dev/null; done
wait
is "$(cat "$T_DIR"/h.err "$T_DIR"/k.err)" "" "nothing said for hard links"
done_testing
