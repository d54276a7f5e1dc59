#!/bin/bash
# docpipe-watch when a root's path stops leading to the directory watched
# without an event of that directory (sweep 8, finding 2): a root that is a
# symbolic link switched to another directory (deploys), the root's parent
# renamed and a new one made, a mounted root or subdirectory unmounted and
# mounted again.  Before, the watches stayed on the old directories (or
# went, IN_UNMOUNT, without a word): deleted files kept, new ones never
# taken, edits of the old tree taken under the new name.  Now every
# 100 ms the roots' (st_dev, st_ino) are compared with the watched ones
# and IN_UNMOUNT is handled: the root is lost and taken back.
. "$(dirname "$0")/../lib/tap.sh"

# wait_record FILE FILTER: waits (10 s at most) for a record of FILE that
# the jq test FILTER selects; prints it.
wait_record() {
	for _ in $(seq 200); do
		jq -c "select($2)" "$1" 2>/dev/null | grep . && return 0
		sleep 0.05
	done
	return 1
}
# hash_of FILE: the hash a file record gives FILE (discover's XXH3-128).
hash_of() { docpipe-discover "$(dirname "$1")" | jq -r --arg p "$1" 'select(.path == $p) | .hash'; }
# watching ERRFILE OUT ROOT: starts docpipe-watch on ROOT (W: its pid).
watching() {
	docpipe-watch --settle 100 "$3" >"$2" 2>"$1" &
	W=$!
	WATCHERS+=("$W")
}
WATCHERS=()
at_exit 'kill "${WATCHERS[@]}" 2>/dev/null'

# --- a root that is a symbolic link, switched (capistrano, nix, blue/green)
S=$T_DIR/site
mkdir -p "$S/releases/r1" "$S/releases/r2"
printf '# guide v1\n' >"$S/releases/r1/guide.md"; printf '# old page\n' >"$S/releases/r1/old.md"
printf '# guide v2, longer\n' >"$S/releases/r2/guide.md"; printf '# new page\n' >"$S/releases/r2/new.md"
ln -s releases/r1 "$S/current"
C=$S/current
watching "$T_DIR/s.err" "$T_DIR/s.out" "$C"
wait_record "$T_DIR/s.out" ".path == \"$C/old.md\"" >/dev/null
ln -sfn releases/r2 "$S/current.new" && mv -T "$S/current.new" "$S/current"
like "$(wait_record "$T_DIR/s.out" ".kind == \"delete\" and .path == \"$C/old.md\"")" '"kind":"delete"' \
	"a root link switched: a file only the old target held is deleted"
like "$(wait_record "$T_DIR/s.out" ".kind == \"file\" and .path == \"$C/new.md\"")" '"kind":"file"' \
	"the new target's new file is taken"
like "$(wait_record "$T_DIR/s.out" ".kind == \"file\" and .path == \"$C/guide.md\" and .hash == \"$(hash_of "$S/releases/r2/guide.md")\"")" \
	'"kind":"file"' "a file of both is taken with the new target's content"
like "$(cat "$T_DIR/s.err")" "$C: the root is another directory now" "said on stderr"
printf '# guide v1 edited after the switch\n' >"$S/releases/r1/guide.md"
printf '# new page edited\n' >"$S/releases/r2/new.md"
wait_record "$T_DIR/s.out" ".kind == \"file\" and .path == \"$C/new.md\" and .size == $(stat -c %s "$S/releases/r2/new.md")" >/dev/null
ok $? "the new target is watched"
is "$(jq -c "select(.path == \"$C/guide.md\" and .hash == \"$(hash_of "$S/releases/r1/guide.md")\")" "$T_DIR/s.out")" "" \
	"the old one is not (its edit is not taken under the link's name)"

# --- the root's parent renamed, a new one made
P=$T_DIR/proj
mkdir -p "$P/docs"; printf '# a v1\n' >"$P/docs/a.md"; printf '# b v1\n' >"$P/docs/b.md"
watching "$T_DIR/p.err" "$T_DIR/p.out" "$P/docs"
wait_record "$T_DIR/p.out" ".path == \"$P/docs/b.md\"" >/dev/null
mv "$P" "$P.old"
like "$(wait_record "$T_DIR/p.out" ".kind == \"delete\" and .path == \"$P/docs/b.md\"")" '"kind":"delete"' \
	"the parent renamed: the root's files count as deleted"
mkdir -p "$P/docs"; printf '# a v2, longer\n' >"$P/docs/a.md"; printf '# c new\n' >"$P/docs/c.md"
like "$(wait_record "$T_DIR/p.out" ".kind == \"file\" and .path == \"$P/docs/c.md\"")" '"kind":"file"' \
	"a new directory made under the root's path: its files are taken"
like "$(wait_record "$T_DIR/p.out" ".kind == \"file\" and .path == \"$P/docs/a.md\" and .size == $(stat -c %s "$P/docs/a.md")")" '"kind":"file"' \
	"with their content"
printf '# b edited in the old tree\n' >"$P.old/docs/b.md"
printf '# c edited\n' >"$P/docs/c.md"
wait_record "$T_DIR/p.out" ".kind == \"file\" and .path == \"$P/docs/c.md\" and .size == $(stat -c %s "$P/docs/c.md")" >/dev/null
ok $? "the new directory is watched"
is "$(jq -c "select(.kind == \"file\" and .path == \"$P/docs/b.md\" and .seq > 1)" "$T_DIR/p.out")" "" \
	"an edit in the old tree is not taken under the root's name"

# --- a mounted root and a mounted subdirectory unmounted (root only)
M=$T_DIR/mnt
mkdir -p "$M"
if mount -t tmpfs -o size=4m tmpfs "$M" 2>"$T_DIR/mount.err"; then
	# A test that ends half-way leaves no mount under T_DIR.
	at_exit 'umount "$M/share" 2>/dev/null; umount "$M" 2>/dev/null'
	printf '# one\n' >"$M/a.md"; printf '# b\n' >"$M/b.md"
	watching "$T_DIR/m.err" "$T_DIR/m.out" "$M"
	wait_record "$T_DIR/m.out" ".path == \"$M/b.md\"" >/dev/null
	umount "$M"
	like "$(wait_record "$T_DIR/m.out" ".kind == \"delete\" and .path == \"$M/b.md\"")" '"kind":"delete"' \
		"a mounted root unmounted: its files count as deleted"
	like "$(cat "$T_DIR/m.err")" "$M: the root (was unmounted|is another directory now)" "said on stderr (the event or the look every 100 ms, whichever comes first)"
	mount -t tmpfs -o size=4m tmpfs "$M"
	printf '# two, longer\n' >"$M/a.md"; printf '# c\n' >"$M/c.md"
	like "$(wait_record "$T_DIR/m.out" ".kind == \"file\" and .path == \"$M/c.md\"")" '"kind":"file"' \
		"mounted again: its files are taken"
	like "$(wait_record "$T_DIR/m.out" ".kind == \"file\" and .path == \"$M/a.md\" and .size == $(stat -c %s "$M/a.md")")" '"kind":"file"' \
		"with their content"
	printf '# d\n' >"$M/d.md"
	like "$(wait_record "$T_DIR/m.out" ".kind == \"file\" and .path == \"$M/d.md\"")" '"kind":"file"' \
		"and it is watched"
	kill $W; wait $W
	umount "$M"

	mkdir -p "$M/share"; printf '# top\n' >"$M/top.md"
	mount -t tmpfs -o size=4m tmpfs "$M/share"
	mkdir "$M/share/sub"; printf '# s1\n' >"$M/share/s1.md"; printf '# s2\n' >"$M/share/sub/s2.md"
	watching "$T_DIR/u.err" "$T_DIR/u.out" "$M"
	wait_record "$T_DIR/u.out" ".path == \"$M/share/sub/s2.md\"" >/dev/null
	umount "$M/share"
	like "$(wait_record "$T_DIR/u.out" ".kind == \"delete\" and .path == \"$M/share/sub/s2.md\"")" '"kind":"delete"' \
		"a mounted subdirectory unmounted: the files it held count as deleted"
	like "$(wait_record "$T_DIR/u.out" ".kind == \"delete\" and .path == \"$M/share/s1.md\"")" '"kind":"delete"' "(each)"
	is "$(grep -c "$M/share: unmounted: its files count as deleted" "$T_DIR/u.err")" 1 "said once, for the mount point"
	printf '# under\n' >"$M/share/under.md"
	like "$(wait_record "$T_DIR/u.out" ".kind == \"file\" and .path == \"$M/share/under.md\"")" '"kind":"file"' \
		"the directory the mount covered is watched"
	is "$(jq -c 'select(.kind == "delete" and (.path | endswith("/top.md")))' "$T_DIR/u.out")" "" "the rest is untouched"
else
	for _ in $(seq 11); do skip "cannot mount a tmpfs here ($(head -1 "$T_DIR/mount.err"))"; done
fi

for w in "${WATCHERS[@]}"; do kill "$w" 2>/dev/null; done
wait
is "$(cat "$T_DIR"/*.err | grep -v -e 'the root' -e 'unmounted:' )" "" "nothing else said"
done_testing
