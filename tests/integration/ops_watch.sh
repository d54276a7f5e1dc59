#!/bin/bash
# docpipe-watch feeding a pipeline: the first pass, then create, edit,
# rename, delete, a new subdirectory, a burst (each file exactly once), a
# file written in parts (once), a real inotify queue overflow (rescan),
# SIGUSR1, and SIGTERM.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
set -o pipefail

D=$T_DIR/docs
numbered_docs "$D" 3 5 doc
mkfifo "$T_DIR/records"
# --settle 500: a file's first event (IN_CREATE) starts its settle time;
# a writer descheduled longer than that before it writes (seen at load
# ~20 with 100 ms) makes the file go out twice, empty and then whole.
docpipe-watch --settle 500 "$D" >"$T_DIR/records" 2>"$T_DIR/watch.err" &
WATCH=$!
docpipe-chunk <"$T_DIR/records" | docpipe-summarize | docpipe-embed | docpipe-store >"$T_DIR/receipts" 2>"$T_DIR/store.err" &
PIPE=$!
at_exit 'kill $WATCH 2>/dev/null'

# sql_until SQL WANT: polls the database until SQL gives WANT (10 s at most).
sql_until() {
	local got
	for _ in $(seq 200); do
		got=$(sql "$1" 2>/dev/null)
		[ "$got" = "$2" ] && { echo "$got"; return 0; }
		sleep 0.05
	done
	echo "$got"
}
docs() { sql "SELECT string_agg(regexp_replace(path, '^$D/', ''), ' ' ORDER BY path) FROM docpipe.documents"; }
# content_like FILE PATTERN: SQL saying whether FILE's stored text matches.
content_like() { echo "SELECT (SELECT string_agg(content, ' ' ORDER BY seq) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '$D/$1') LIKE '$2'"; }

is "$(sql_until 'SELECT count(*) FROM docpipe.documents' 3)" 3 "first pass: the 3 files stored"

printf '# New\n\nfresh words here\n' >"$D/new.md"
is "$(sql_until "SELECT count(*) FROM docpipe.documents WHERE path = '$D/new.md'" 1)" 1 "a created file is stored"

printf '# New\n\nedited words now\n' >"$D/new.md"
like "$(sql_until "$(content_like new.md '%edited%')" t)" t "an edited file is stored again with its new text"

mv "$D/new.md" "$D/renamed.md"
# Wait for the new name (the old one alone also counts 1 before the rename
# is seen), then the old name must be gone.
is "$(sql_until "SELECT count(*) FROM docpipe.documents WHERE path = '$D/renamed.md'" 1)" 1 \
	"a rename: the document under its new name..."
is "$(sql_until "SELECT count(*) FROM docpipe.documents WHERE path IN ('$D/new.md', '$D/renamed.md')" 1)" 1 \
	"... and only there"

rm "$D/doc2.md"
is "$(sql_until "SELECT count(*) FROM docpipe.documents WHERE path = '$D/doc2.md'" 0)" 0 "a deleted file is deleted"

mkdir -p "$D/sub/deeper"
printf '# Deep\n\nin a new directory\n' >"$D/sub/deeper/deep.md"
is "$(sql_until "SELECT count(*) FROM docpipe.documents WHERE path = '$D/sub/deeper/deep.md'" 1)" 1 \
	"a file in a new subdirectory is stored"
printf '# Deep2\n\nafter the watch\n' >"$D/sub/deeper/deep2.md"
is "$(sql_until "SELECT count(*) FROM docpipe.documents WHERE path = '$D/sub/deeper/deep2.md'" 1)" 1 \
	"the new subdirectory is watched"

# A directory renamed: its files move, and it is watched under its new name.
mv "$D/sub" "$D/moved"
is "$(sql_until "SELECT string_agg(regexp_replace(path, '^$D/', ''), ' ' ORDER BY path) FROM docpipe.documents WHERE path LIKE '%/deep%'" \
	"moved/deeper/deep.md moved/deeper/deep2.md")" "moved/deeper/deep.md moved/deeper/deep2.md" "a renamed directory: its files move"
printf '# Deep\n\nedited after the move\n' >"$D/moved/deeper/deep.md"
like "$(sql_until "$(content_like moved/deeper/deep.md '%after the move%')" t)" t "and it is watched under its new name"

# A file written in parts, 40 ms apart (under --settle 500): taken once.
( for i in 1 2 3 4; do printf 'part %d\n\n' "$i"; sleep 0.04; done ) >"$D/slow.md"
is "$(sql_until "$(content_like slow.md '%part 4%')" t)" t "a file written in parts is stored whole"
is "$(grep -c "\"path\":\"$D/slow.md\"" "$T_DIR/receipts")" 1 "... once"

# A burst: 300 files at once, each stored exactly once.
mkdir "$D/burst"
python3 -c "
import sys
for i in range(300):
    open('%s/burst/b%03d.md' % (sys.argv[1], i), 'w').write('# B %d\n\nburst text %d\n' % (i, i))
" "$D"
is "$(sql_until "SELECT count(*) FROM docpipe.documents WHERE path LIKE '$D/burst/%'" 300)" 300 "a burst of 300 files: all stored"
is "$(jq -r 'select(.path | test("/burst/")) | .path' "$T_DIR/receipts" | sort | uniq -d | wc -l)" 0 \
	"each exactly once"

# A tree removed: every file under it is deleted (a deleted directory's
# files have their own events; looking through every watch and known path
# for each directory made `rm -rf` of 10,000 directories take 22 s).
mkdir -p "$D/tree/a/b" && printf '# T1\n\ntree one\n' >"$D/tree/a/t1.md" && printf '# T2\n\ntree two\n' >"$D/tree/a/b/t2.md"
is "$(sql_until "SELECT count(*) FROM docpipe.documents WHERE path LIKE '$D/tree/%'" 2)" 2 "a new tree: its files stored"
rm -rf "$D/burst" "$D/tree"
is "$(sql_until "SELECT count(*) FROM docpipe.documents WHERE path LIKE '$D/burst/%' OR path LIKE '$D/tree/%'" 0)" 0 \
	"rm -rf of two trees: their 302 files deleted"

# A real overflow: the watcher stopped while more events queue than the
# kernel keeps; what happens after the flood is lost from the queue, and
# the rescan finds it.
MAXQ=$(cat /proc/sys/fs/inotify/max_queued_events)
if [ "$MAXQ" -le 100000 ]; then
	kill -STOP $WATCH
	python3 -c "
import sys
for i in range(int(sys.argv[2]) // 2 + 100):
    with open(sys.argv[1], 'a') as f: f.write('x')
" "$D/flood.txt" "$MAXQ"
	rm "$D/doc3.md"
	printf '# Late\n\nafter the flood\n' >"$D/late.md"
	kill -CONT $WATCH
	is "$(sql_until "SELECT count(*) FROM docpipe.documents WHERE path IN ('$D/late.md', '$D/doc3.md', '$D/flood.txt')" 2)" 2 \
		"after an overflow: the file created after the flood is stored, the deleted one deleted"
	is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '$D/doc3.md'")" 0 "... (the deleted one)"
	like "$(cat "$T_DIR/watch.err")" "queue overflowed .*rescanning" "the overflow is said on stderr"
else
	skip "max_queued_events is $MAXQ: too many events to overflow it here"
	skip "overflow"
	skip "overflow"
fi

# SIGUSR1: a rescan sends only what changed without an event (an edit
# through a hard link outside the roots); it sent every file again, each
# answered unchanged at the cost of a chunk pass (ops_watch_rescan).
N=$(wc -l <"$T_DIR/receipts")
ln "$D/renamed.md" "$T_DIR/outside.md" && printf '\nedited outside\n' >>"$T_DIR/outside.md"
kill -USR1 $WATCH
like "$(sql_until "$(content_like renamed.md '%edited outside%')" t)" t "SIGUSR1: a file edited without an event is stored"
like "$(cat "$T_DIR/watch.err")" "SIGUSR1: rescanning" "and says so"
sleep 0.5
is "$(tail -n +$((N + 1)) "$T_DIR/receipts" | jq -r 'select(.status == "unchanged") | .path' | xargs)" "" \
	"no file sent again unchanged"

# The root itself replaced, as site generators and deploys do: deleted and
# made again (`rm -rf public && hugo`), then swapped for another directory
# by two renames.  Before, the root was never watched again: every document
# was deleted, the new files never stored, and nothing said.
rm -rf "$D" && mkdir -p "$D/sub" && printf '# R1\n\nremade one\n' >"$D/sub/r1.md" && printf '# R2\n\nremade two\n' >"$D/r2.md"
is "$(sql_until "SELECT string_agg(regexp_replace(path, '^$D/', ''), ' ' ORDER BY path) FROM docpipe.documents" "r2.md sub/r1.md")" \
	"r2.md sub/r1.md" "the root deleted and made again: the database holds the new files only"
like "$(cat "$T_DIR/watch.err")" "$D: the root was deleted or moved away.*" "said on stderr"
like "$(cat "$T_DIR/watch.err")" "$D: the root is back" "and its return"
mkdir -p "$D.new" && printf '# S1\n\nswapped in\n' >"$D.new/s1.md"
mv "$D" "$D.old" && mv "$D.new" "$D"
is "$(sql_until "SELECT string_agg(regexp_replace(path, '^$D/', ''), ' ' ORDER BY path) FROM docpipe.documents" "s1.md")" \
	"s1.md" "the root swapped for another directory: the database follows it"
printf '# S2\n\nafter the swap\n' >"$D/s2.md"
printf 'changed\n' >>"$D.old/r2.md"
is "$(sql_until "SELECT string_agg(regexp_replace(path, '^$D/', ''), ' ' ORDER BY path) FROM docpipe.documents" "s1.md s2.md")" \
	"s1.md s2.md" "the new root is watched; the old one, moved away, is not"

# The root deleted and, once its deletes are done (nothing left to
# settle), another directory moved in: its files were marked after the
# watcher had computed its next deadline, so it waited for an event that
# might never come (helper's fault sweep 6).
rm -rf "$D"
is "$(sql_until "SELECT count(*) FROM docpipe.documents WHERE path LIKE '$D/%'" 0)" 0 "the root deleted: its files deleted"
mkdir -p "$D.back" && printf '# K1\n\nback again\n' >"$D.back/k1.md" && mv "$D.back" "$D"
is "$(sql_until "SELECT string_agg(regexp_replace(path, '^$D/', ''), ' ' ORDER BY path) FROM docpipe.documents" "k1.md")" \
	"k1.md" "a root back after its deletes were done: its files are stored"

kill -TERM $WATCH
for _ in $(seq 100); do kill -0 $WATCH 2>/dev/null || break; sleep 0.05; done
! kill -0 $WATCH 2>/dev/null; ok $? "SIGTERM stops the watcher within 5 s"
wait $WATCH
is "$?" 0 "with status 0"
wait $PIPE
rc=$?
is "$rc" 0 "the pipeline then ends cleanly"
# Seen once (session 7), not reproduced: what failed, for the next time.
if [ "$rc" != 0 ]; then
	sed 's/^/# store: /' "$T_DIR/store.err"
	jq -c 'select(.status != "stored" and .status != "unchanged" and .status != "deleted")' \
		"$T_DIR/receipts" | sed 's/^/# receipt: /'
fi

docpipe-watch "$D/renamed.md" 2>/dev/null
is "$?" 2 "a ROOT that is not a directory is a usage error"

said_twice() { [ "$(grep -c "$1" "$2")" -ge 2 ]; }
# wait_record FILE PATTERN: waits (10 s at most) for a line of FILE
# matching the jq test PATTERN; prints the match.
wait_record() {
	for _ in $(seq 200); do
		jq -c "select($2)" "$1" 2>/dev/null | grep . && return 0
		sleep 0.05
	done
}

# A root that is a symbolic link to a directory: discover takes it, the
# watcher took its first pass but never watched it (inotify without
# following the link: ENOTDIR, not said).
mkdir -p "$T_DIR/real" && printf '# L0\n\nthere first\n' >"$T_DIR/real/l0.md" && ln -s real "$T_DIR/link"
docpipe-watch --settle 100 "$T_DIR/link" >"$T_DIR/lw" 2>"$T_DIR/lw.err" &
LW=$!
like "$(wait_record "$T_DIR/lw" ".path == \"$T_DIR/link/l0.md\"")" '"kind":"file"' "a root that is a link: its first pass"
printf '# L1\n\nmade later\n' >"$T_DIR/real/l1.md"
like "$(wait_record "$T_DIR/lw" ".path == \"$T_DIR/link/l1.md\"")" '"kind":"file"' \
	"and a file made in it later, under the link's name"
kill $LW; wait $LW

# A file unreadable when it settled, made readable later (chmod only):
# taken then, not at its next write.  The watcher runs as nobody (root
# reads anything).
chmod 755 "$T_DIR" # mktemp's 700 keeps nobody out
mkdir -p "$T_DIR/perm" && printf '# P0\n\nseed\n' >"$T_DIR/perm/p0.md" && chown -R nobody "$T_DIR/perm"
if setpriv --reuid nobody --regid nogroup --clear-groups test -r "$T_DIR/perm/p0.md"; then
	setpriv --reuid nobody --regid nogroup --clear-groups "$(command -v docpipe-watch)" --settle 100 "$T_DIR/perm" \
		>"$T_DIR/pw" 2>"$T_DIR/pw.err" &
	PW=$!
	wait_record "$T_DIR/pw" ".path == \"$T_DIR/perm/p0.md\"" >/dev/null
	printf '# P1\n\nlocked\n' >"$T_DIR/perm/p1.md" && chmod 000 "$T_DIR/perm/p1.md"
	like "$(wait_record "$T_DIR/pw" "(.path // .file // \"\") == \"$T_DIR/perm/p1.md\" or (.error // \"\" | test(\"p1.md\"))")" \
		'[Pp]ermission denied' "an unreadable file: an error naming it"
	chmod 644 "$T_DIR/perm/p1.md"
	like "$(wait_record "$T_DIR/pw" ".kind == \"file\" and .path == \"$T_DIR/perm/p1.md\"")" '"kind":"file"' \
		"made readable (chmod): taken then"
	kill $PW; wait $PW

	# A directory unreadable at a rescan (SIGUSR1; an overflow and the
	# poll rescan alike) is not gone: its files got delete records (their
	# lstat failed with EACCES) and the directory was never taken again
	# (helper's fault sweep 7, item 2).  Now: no delete, said once, and
	# its files taken again when it is readable (chmod: IN_ATTRIB).
	mkdir -p "$T_DIR/perm/sub" && printf '# S1\n\nunder sub\n' >"$T_DIR/perm/sub/s1.md" &&
		printf '# S2\n\nunder sub too\n' >"$T_DIR/perm/sub/s2.md" && chown -R nobody "$T_DIR/perm"
	setpriv --reuid nobody --regid nogroup --clear-groups "$(command -v docpipe-watch)" --settle 100 "$T_DIR/perm" \
		>"$T_DIR/sw" 2>"$T_DIR/sw.err" &
	SW=$!
	wait_record "$T_DIR/sw" ".path == \"$T_DIR/perm/sub/s2.md\"" >/dev/null
	chmod 000 "$T_DIR/perm/sub"
	kill -USR1 $SW
	wait_for 30 grep -q 'perm/sub: cannot watch' "$T_DIR/sw.err"
	kill -USR1 $SW # said once, however many rescans
	wait_for 30 said_twice 'SIGUSR1: rescanning' "$T_DIR/sw.err"
	sleep 0.5
	is "$(jq -r 'select(.kind == "delete") | .path' "$T_DIR/sw")" "" "an unreadable directory at a rescan: no delete"
	is "$(grep -c 'perm/sub: cannot watch: Permission denied: what is stored under it is kept' "$T_DIR/sw.err")" 1 \
		"it is said once"
	rm "$T_DIR/perm/sub/s2.md" # root: its delete event comes, its lstat (as nobody) fails
	chmod 755 "$T_DIR/perm/sub"
	like "$(wait_record "$T_DIR/sw" ".kind == \"file\" and .path == \"$T_DIR/perm/sub/s1.md\" and .seq > 3")" '"kind":"file"' \
		"readable again (chmod): its files are taken again"
	like "$(wait_record "$T_DIR/sw" ".kind == \"delete\" and .path == \"$T_DIR/perm/sub/s2.md\"")" '"kind":"delete"' \
		"and a file deleted while it was unreadable is deleted then"
	like "$(cat "$T_DIR/sw.err")" "perm/sub: readable again" "which is said"
	kill $SW; wait $SW
else
	for _ in 1 2 3 4 5 6 7; do skip "nobody cannot reach $T_DIR"; done
fi

done_testing
