#!/bin/bash
# docpipe run --watch (issue 13 item 4): the full pass (swept, since the
# walk is proven complete), then the graph stays up fed by docpipe-watch:
# a created, an edited and a deleted file reach the database; SIGTERM stops
# it cleanly (status 0, complete report, no process left).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
set -o pipefail

D=$T_DIR/docs
numbered_docs "$D" 4 5 doc
docpipe run "$D" --progress none >/dev/null 2>"$T_DIR/first.err"
is "$?" 0 "a plain run stores the 4 files"
rm "$D/doc4.md"

docpipe run "$D" --watch --progress plain --opt hub=--progress-every=1 --opt watch=--writer-settle=1500 \
	--opt watch=--writer-max=20000 >"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
at_exit 'kill $SUP 2>/dev/null'
# until SQL WANT: polls the database until SQL gives WANT (20 s at most).
sql_is() { [ "$(sql "$1" 2>/dev/null)" = "$2" ]; }
until_sql() { wait_for 20 sql_is "$1" "$2"; }
count() { sql 'SELECT count(*) FROM docpipe.documents'; }
wait_for 20 grep -q "first pass complete" "$T_DIR/err"
ok $? "the first pass completes while the graph stays up"
like "$(grep 'first pass' "$T_DIR/err")" "sweep done" "and is swept (the walk was proven complete)"
# Its counts are the first pass's own: they took in the watcher's re-sent
# first pass when it came back first (helper's fault sweep 6: "3 documents
# (3 added, 0 updated, 3 unchanged...").
like "$(grep 'first pass' "$T_DIR/err")" "first pass complete: 3 documents \(0 added, 0 updated, 3 unchanged, 1 deleted, 0 failed\)" \
	"its counts are the first pass's"
is "$(count)" 3 "the file deleted before the run is swept"
ok $(kill -0 $SUP 2>/dev/null; echo $?) "the run goes on after the first pass"
like "$(ps -o args= -p "$(pgrep -P $SUP -x docpipe-watch | head -1)" 2>/dev/null)" \
	"docpipe-watch .*--writer-settle=1500 --writer-max=20000 " "--opt watch=ARG goes to docpipe-watch"

printf '# Fresh\n\nbrand new words\n' >"$D/new.md"
until_sql "SELECT count(*) FROM docpipe.documents WHERE path = '$D/new.md'" 1
ok $? "a file created while the graph runs is stored"
printf '# Doc 1\n\nrewritten content here\n' >"$D/doc1.md"
until_sql "SELECT count(*) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '$D/doc1.md' AND c.content LIKE '%rewritten%'" 1
ok $? "an edited file is stored again with its new text"
rm "$D/doc2.md"
until_sql "SELECT count(*) FROM docpipe.documents WHERE path = '$D/doc2.md'" 0
ok $? "a deleted file is deleted from the database"
is "$(count)" 3 "3 documents now"
# A delete is a document done: the progress counted it in the documents
# taken but never as done ("3/6+ done, 0 in flight" for good; helper's
# fault sweep 5).  The hub counts it when the store's receipt comes,
# after the row is gone: a line it prints after this one (every second;
# the lines before may predate the delete) says so.
seen=$(wc -l <"$T_DIR/err")
done_line() { tail -n +$((seen + 1)) "$T_DIR/err" | grep -E 'documents [0-9]+/[0-9]+\+? done' | tail -1 |
	sed -E 's/.*documents ([0-9]+)\/([0-9]+)\+? done, ([0-9]+) in flight.*/\1 \2 \3/' | awk '{print ($1 == $2) ":" $3}'; }
wait_for 30 eval '[ "$(done_line)" = 1:0 ]'
is "$(done_line)" "1:0" "the progress counts the delete as done: all done, none in flight"

kill -TERM $SUP
wait_for 20 exited $SUP
ok $? "SIGTERM stops it within the bound"
wait $SUP
is "$?" 0 "a watch run stopped by SIGTERM while idle exits 0"
is "$(jq -r '[.complete, .sweep] | @tsv' "$T_DIR/report" | tail -1)" "$(printf 'true\tdone')" \
	"its report: complete, swept"
ok $(pgrep -f "docpipe-(watch|hub|chunk|store).*$T_DIR" >/dev/null; [ $? = 1 ] && echo 0 || echo 1) \
	"no process of the run is left"

# The watcher killed (kill -9, the OOM killer, a crash): the run ended at
# once with status 0 and a "complete" report, without a word, the roots no
# longer watched (helper's fault sweep 7, item 3).  Now it stops with
# status 3 and says why (a new run catches up: its sweep deletes what was
# deleted meanwhile, which a restarted watcher would not).
docpipe run "$D" --watch --progress plain >"$T_DIR/report2" 2>"$T_DIR/err2" &
SUP=$!
wait_for 20 grep -q "first pass complete" "$T_DIR/err2"
ok $? "a second watch run: its first pass completes"
kill -9 "$(pgrep -f "docpipe-watch.*$D" | head -1)"
wait_for 20 exited $SUP
ok $? "the watcher killed: the run stops"
wait $SUP
is "$?" 3 "with status 3"
like "$(cat "$T_DIR/err2")" "the watcher \(docpipe-watch, pid [0-9]+\) exited \(signal KILL\): the roots are no longer watched; stopping the run" \
	"and says the watcher died, and how"
ok $(pgrep -f "docpipe-(watch|hub|chunk|store).*$T_DIR" >/dev/null; [ $? = 1 ] && echo 0 || echo 1) \
	"no process of the run is left"

# The same death with its window widened: a process killed closes its
# output a moment before it is a zombie, and the hub read the end, reported
# and exited in that moment on a loaded machine (1 make check in ~50: the
# run ended status 0, "complete").  This watcher closes its output, then
# dies 0.5 s later: the hub's clean exit must not end the run as complete.
W=$T_DIR/slowdeath
mkdir -p "$W" && for f in "$DOCPIPE_BIN"/docpipe-*; do ln -s "$f" "$W/"; done
rm "$W/docpipe-watch"
printf '#!/bin/bash\nexec >&-\nsleep 0.5\nkill -9 $$\n' >"$W/docpipe-watch" && chmod +x "$W/docpipe-watch"
DOCPIPE_BIN=$W docpipe run "$D" --watch --progress none >/dev/null 2>"$T_DIR/err_slow" &
SUP=$!
wait_for 20 exited $SUP
ok $? "a watcher that closes its output and dies a moment later: the run stops"
wait $SUP
is "$?" 3 "with status 3, not a complete run"
like "$(cat "$T_DIR/err_slow")" "the watcher \(docpipe-watch, pid [0-9]+\) exited \(signal KILL\)" \
	"and says the watcher died, and how"

# Directories unreadable (EACCES) as the run starts (sub) and at a rescan
# (late): their documents stay (the first pass's end record lists sub: the sweep
# keeps what is under it; the watcher sends no delete), and once readable their files are taken (helper's fault
# sweep 7, item 2: a rescan deleted them for good).  As nobody: root reads
# mode 000.
E=$T_DIR/eacces
mkdir -p "$E/sub" "$E/late" "$E/top" "$T_DIR/tmp" && chmod 755 "$T_DIR" && chmod 1777 "$T_DIR/tmp"
for i in 1 2; do printf '# S%d\n\nunder sub %d\n' $i $i >"$E/sub/s$i.md"; printf '# T%d\n\ntop %d\n' $i $i >"$E/top/t$i.md"
	printf '# L%d\n\nlate %d\n' $i $i >"$E/late/l$i.md"; done
chown -R nobody "$E"
in_e() { sql "SELECT count(*) FROM docpipe.documents WHERE path LIKE '$E/%'"; }
docpipe run "$E" --progress none >/dev/null 2>&1
is "$(in_e)" 6 "a tree of 6 files stored"
chmod 000 "$E/sub"
if setpriv --reuid nobody --regid nogroup --clear-groups test -r "$E/top/t1.md"; then
	setpriv --reuid nobody --regid nogroup --clear-groups env TMPDIR="$T_DIR/tmp" \
		"$(command -v docpipe)" run "$E" --watch --progress plain >"$T_DIR/report3" 2>"$T_DIR/err3" &
	SUP=$!
	wait_for 20 grep -q "first pass" "$T_DIR/err3"
	like "$(grep 'first pass' "$T_DIR/err3")" "first pass complete: .*sweep done" \
		"a directory unreadable at the start: the first pass sweeps"
	like "$(cat "$T_DIR/err3")" "sweep: what is stored under 1 path\(s\) the walk could not read is kept \($E/sub\)" \
		"keeping what is stored under it"
	like "$(cat "$T_DIR/err3")" "docpipe-watch: $E/sub: cannot watch: Permission denied" "the watcher's pass names it"
	like "$(cat "$T_DIR/err3")" "docpipe-watch: $E/sub: cannot watch: Permission denied: what is stored under it is kept" \
		"the watcher names it"
	chmod 000 "$E/late"
	kill -USR1 "$(pgrep -f "docpipe-watch.*$E" | head -1)"
	wait_for 20 grep -q "SIGUSR1: rescanning" "$T_DIR/err3"
	sleep 1.5
	is "$(in_e)" 6 "a rescan while they are unreadable deletes nothing"
	like "$(cat "$T_DIR/err3")" "docpipe-watch: $E/late: cannot watch: Permission denied: what is stored under it is kept" \
		"the rescan names the one made unreadable since"
	printf '# S3\n\nmade while locked\n' >"$E/sub/s3.md" && printf '# L3\n\nmade while locked\n' >"$E/late/l3.md"
	chown nobody "$E/sub/s3.md" "$E/late/l3.md"
	chmod 755 "$E/sub" "$E/late"
	until_sql "SELECT count(*) FROM docpipe.documents WHERE path IN ('$E/sub/s3.md', '$E/late/l3.md')" 2
	ok $? "readable again: their files are taken (the ones made meanwhile stored)"
	is "$(in_e)" 8 "and none deleted"
	kill -TERM $SUP
	wait_for 20 exited $SUP
	ok $? "SIGTERM stops it"
else
	for _ in 1 2 3 4 5 6 7 8 9; do skip "nobody cannot reach $T_DIR"; done
fi
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err" "$T_DIR/err2" "$T_DIR/err3"
done_testing
