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

docpipe run "$D" --watch --progress plain --opt hub=--progress-every=1 >"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
trap 'kill $SUP 2>/dev/null; rm -rf "$T_DIR"' EXIT
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
# fault sweep 5).
sleep 1.5
is "$(grep -E 'documents [0-9]+/[0-9]+\+? done' "$T_DIR/err" | tail -1 |
	sed -E 's/.*documents ([0-9]+)\/([0-9]+)\+? done, ([0-9]+) in flight.*/\1 \2 \3/' | awk '{print ($1 == $2) ":" $3}')" "1:0" \
	"the progress counts the delete as done: all done, none in flight"

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
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err" "$T_DIR/err2"
done_testing
