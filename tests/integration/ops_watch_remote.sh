#!/bin/bash
# docpipe-watch on a network or FUSE filesystem, and the watch limit's name
# (sweep 8, finding 11).  inotify tells only the changes made through this
# machine's kernel: another machine's edits of an NFS, SMB or FUSE root
# never reached the watcher, and nothing said so.  Now such a root (statfs
# f_type) is said once and looked through every --poll seconds: changed,
# new and deleted files are found, unchanged ones not sent again.  Here a
# bindfs (FUSE) mount of a directory stands for it: writes to the directory
# itself do not go through the mount, as another machine's would not.
# The watch limit's message named fs.inotify.max_user_watches also when
# the limit reached was a user namespace's (a container's); a user
# namespace (unshare -U) with a limit of 20 tells it here.
. "$(dirname "$0")/../lib/tap.sh"

has_record() { jq -c "select($2)" "$1" 2>/dev/null | grep -q .; } # (jq 1.6's -e: the last input only)
records() { jq -c "select($2)" "$1" | wc -l; }
hash_of() { docpipe-discover "$(dirname "$1")" | jq -r --arg p "$1" 'select(.path == $p) | .hash'; }
WATCHERS=()
M=$T_DIR/mnt
at_exit 'kill "${WATCHERS[@]}" 2>/dev/null; wait; mountpoint -q "$M" && umount "$M"'

SRC=$T_DIR/server
mkdir -p "$SRC/sub" "$M"
printf '# a\n' >"$SRC/a.md"; printf '# b\n' >"$SRC/b.md"; printf '# c\n' >"$SRC/sub/c.md"
if command -v bindfs >/dev/null && bindfs "$SRC" "$M" 2>"$T_DIR/mount.err"; then
	docpipe-watch --settle 100 --poll 1 "$M" >"$T_DIR/r.out" 2>"$T_DIR/r.err" &
	W=$!; WATCHERS+=("$W")
	wait_for 30 has_record "$T_DIR/r.out" ".path == \"$M/sub/c.md\""
	ok $? "the first pass"
	like "$(cat "$T_DIR/r.err")" "$M: on a FUSE .* filesystem: inotify tells only the changes made through this machine: looking through $M every 1 s for the others" \
		"a FUSE root: said"
	printf '# a, edited elsewhere\n' >"$SRC/a.md"
	new=$(hash_of "$SRC/a.md")
	wait_for 30 has_record "$T_DIR/r.out" ".path == \"$M/a.md\" and .hash == \"$new\""
	ok $? "a file edited elsewhere (no event): taken"
	rm "$SRC/b.md"
	wait_for 30 has_record "$T_DIR/r.out" ".kind == \"delete\" and .path == \"$M/b.md\""
	ok $? "one deleted elsewhere: deleted"
	mkdir "$SRC/new"; printf '# n\n' >"$SRC/new/n.md"
	wait_for 30 has_record "$T_DIR/r.out" ".path == \"$M/new/n.md\""
	ok $? "a new directory's file: taken"
	printf '# n2\n' >"$M/new/n2.md"
	wait_for 30 has_record "$T_DIR/r.out" ".path == \"$M/new/n2.md\""
	ok $? "a file made through the mount: taken"
	sleep 2.5
	is "$(records "$T_DIR/r.out" ".path == \"$M/sub/c.md\"")" 1 "an unchanged file is not sent again"
	is "$(records "$T_DIR/r.out" ".path == \"$M/a.md\"")" 2 "nor a changed one twice"
	is "$(grep -c 'FUSE' "$T_DIR/r.err")" 1 "said once"
	kill "$W"; wait "$W"
	umount "$M"
else
	for _ in $(seq 9); do skip "no FUSE mount here ($(head -1 "$T_DIR/mount.err" 2>/dev/null))"; done
fi

# --- a FUSE filesystem mounted below a local root while watching (session
# 30): inotify tells no mount, so it was never seen (the directory's watch
# kept watching the covered one).  Now /proc/self/mountinfo is polled: the
# files it covers count as deleted, its own are taken, and it is looked
# through every --poll seconds as one there at the first pass.
L2=$T_DIR/local2; SRC2=$T_DIR/server2
mkdir -p "$L2/later" "$SRC2/sub"
printf '# top\n' >"$L2/top.md"; printf '# covered\n' >"$L2/later/covered.md"
printf '# m\n' >"$SRC2/m.md"; printf '# s\n' >"$SRC2/sub/s.md"
docpipe-watch --settle 100 --poll 1 "$L2" >"$T_DIR/m.out" 2>"$T_DIR/m.err" &
W=$!; WATCHERS+=("$W")
wait_for 30 has_record "$T_DIR/m.out" ".path == \"$L2/later/covered.md\""
ok $? "the first pass"
# (fuse 2 refuses a mount point that holds files without -o nonempty;
# fuse 3 takes it and knows no such option)
if command -v bindfs >/dev/null && { bindfs -o nonempty "$SRC2" "$L2/later" 2>"$T_DIR/mount2.err" ||
	bindfs "$SRC2" "$L2/later" 2>"$T_DIR/mount2.err"; }; then
	at_exit 'mountpoint -q "$L2/later" && umount "$L2/later"'
	wait_for 30 has_record "$T_DIR/m.out" ".path == \"$L2/later/sub/s.md\""
	ok $? "a filesystem mounted below the root: its files taken"
	wait_for 30 has_record "$T_DIR/m.out" ".kind == \"delete\" and .path == \"$L2/later/covered.md\""
	ok $? "the file it covers deleted"
	like "$(cat "$T_DIR/m.err")" "$L2/later: a filesystem mounted on it" "said"
	like "$(cat "$T_DIR/m.err")" "$L2/later: on a FUSE .* filesystem: .* looking through $L2 every 1 s" "a FUSE one: said"
	printf '# m, edited elsewhere\n' >"$SRC2/m.md"
	new=$(hash_of "$SRC2/m.md")
	wait_for 30 has_record "$T_DIR/m.out" ".path == \"$L2/later/m.md\" and .hash == \"$new\""
	ok $? "and looked through: an edit underneath it (no event) taken"
	printf '# n\n' >"$L2/later/n.md"
	wait_for 30 has_record "$T_DIR/m.out" ".path == \"$L2/later/n.md\""
	ok $? "a file made through the mount: taken (watched)"
	kill "$W"; wait "$W"
	umount "$L2/later"
else
	for _ in $(seq 6); do skip "no FUSE mount here ($(head -1 "$T_DIR/mount2.err" 2>/dev/null))"; done
	kill "$W"; wait "$W"
fi

# --- local roots: nothing said, no looking through
L=$T_DIR/local
mkdir -p "$L"; printf '# l\n' >"$L/l.md"
docpipe-watch --settle 100 --poll 1 "$L" >"$T_DIR/l.out" 2>"$T_DIR/l.err" &
W=$!; WATCHERS+=("$W")
wait_for 30 has_record "$T_DIR/l.out" ".path == \"$L/l.md\""
sleep 1.5
kill "$W"; wait "$W"
is "$(cat "$T_DIR/l.err")" "" "a local root: nothing said"
is "$(records "$T_DIR/l.out" ".path == \"$L/l.md\"")" 1 "its file sent once"

# --- the watch limit of a user namespace
U=$T_DIR/userns
mkdir -p "$U"/d{1..30}; printf '# u\n' >"$U/u.md"
if unshare -U -r true 2>"$T_DIR/unshare.err"; then
	unshare -U -r sh -c 'echo 20 >/proc/sys/user/max_inotify_watches && exec docpipe-watch --settle 100 --poll 1 "$1"' \
		sh "$U" >"$T_DIR/u.out" 2>"$T_DIR/u.err" &
	W=$!; WATCHERS+=("$W")
	wait_for 30 has_record "$T_DIR/u.out" ".path == \"$U/u.md\""
	like "$(cat "$T_DIR/u.err")" "cannot watch: the inotify watch limit of this user namespace \(user.max_inotify_watches = 20\) is reached: rescanning every 1 s instead" \
		"the user namespace's limit named"
	printf '# late\n' >"$U/d30/late.md"
	wait_for 30 has_record "$T_DIR/u.out" ".path == \"$U/d30/late.md\""
	ok $? "the rescans find a file in a directory not watched"
	kill "$W"; wait "$W"
else
	for _ in 1 2; do skip "no user namespace here ($(head -1 "$T_DIR/unshare.err"))"; done
fi
done_testing
