#!/bin/bash
# The sweep under a statement_timeout of the database or role (sweep 7,
# finding 16): it was one statement, so a large deletion ran over the
# timeout at every run, for ever (exit 3, the stale documents kept: 30,000
# deleted files under 1s).  Now it deletes in batches, each a statement of
# its own, halving a batch that is cancelled down to one document, and
# converges; a single document still cancelled fails the sweep naming the
# setting.  No clock here: a trigger cancels every DELETE of more rows than
# the table sweep_limit says, with the SQLSTATE of a statement timeout
# (57014), as a timeout would on a slower, bigger corpus.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
numbered_docs "$D" 300 2 doc
printf '# bad \xff\n' >"$D/bad.md"
docpipe-discover "$D" | docpipe-chunk 2>/dev/null | docpipe-embed | docpipe-store -q >/dev/null
is "$(sql 'SELECT count(*) FROM docpipe.documents')/$(sql 'SELECT count(*) FROM docpipe.failures')" 300/1 \
	"300 documents stored, one failure recorded"

sql "CREATE TABLE sweep_limit (n int);
INSERT INTO sweep_limit VALUES (10);
CREATE FUNCTION cancel_big_deletes() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF (SELECT count(*) FROM gone) > (SELECT n FROM sweep_limit) THEN
		RAISE EXCEPTION 'canceling statement due to statement timeout' USING ERRCODE = 'query_canceled';
	END IF;
	RETURN NULL;
END \$\$;
CREATE TRIGGER cancel_big_deletes AFTER DELETE ON docpipe.documents REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION cancel_big_deletes();
ALTER DATABASE $PGDATABASE SET statement_timeout = '1min'"
ok $? "a DELETE of more than 10 documents is cancelled as by a statement timeout"

# A run r1 that saw 100 of the files, the other 200 gone: the sweep
# deletes their documents and the failure of the file it did not see.  (A
# document whose file is still there is kept: fault sweep 19.)
sql "UPDATE docpipe.documents SET last_run = 'r1' WHERE id % 3 = 0" >/dev/null
sql "SELECT path FROM docpipe.documents WHERE last_run IS DISTINCT FROM 'r1'" | xargs rm
docpipe-store --sweep r1 "$D" >"$T_DIR/swept" 2>"$T_DIR/err"
rc=$?
is "$rc/$(grep -c '"status":"deleted"' "$T_DIR/swept")" 0/200 \
	"the sweep converges: exit 0, a receipt for each of the 200 documents"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/err"
is "$(sql "SELECT count(*) FROM docpipe.documents")/$(sql "SELECT count(*) FROM docpipe.documents WHERE last_run = 'r1'")" \
	100/100 "what r1 saw is kept, the rest is gone"
is "$(sql 'SELECT count(*) FROM docpipe.failures')" 0 "the failure of the file r1 did not see is gone too"
like "$(cat "$T_DIR/err")" "swept 200 document\(s\)" "the sweep says how many it deleted"
is "$(sql 'SELECT count(*) FROM docpipe.documents d WHERE chunk_count <> (SELECT count(*) FROM docpipe.chunks c WHERE c.document_id = d.id)')/$(sql 'SELECT count(*) FROM docpipe.chunks')" \
	0/100 "every document left has all its chunks; no chunk is left without its document"

# Not even one document at a time: the sweep fails naming the setting,
# nothing deleted.  (The root moved away for it: its files gone.)
sql "UPDATE sweep_limit SET n = 0" >/dev/null
mv "$D" "$D.away"
docpipe-store --sweep r2 "$D" >"$T_DIR/swept" 2>"$T_DIR/err"
rc=$?
mv "$D.away" "$D"
is "$rc/$(grep -c . "$T_DIR/swept")/$(sql 'SELECT count(*) FROM docpipe.documents')" 3/0/100 \
	"a document alone cancelled: exit 3, nothing deleted"
like "$(tail -1 "$T_DIR/err")" \
	"^docpipe-store: sweep: canceling statement due to statement timeout; deleting even one document at a time runs over the statement_timeout of 1min that the database or role sets: what is left stays \(raise it for docpipe's role: ALTER ROLE \.\.\. SET statement_timeout = \.\.\.\)$" \
	"naming the setting and its value"

# A run's sweep goes the same way.
sql "UPDATE sweep_limit SET n = 10" >/dev/null
rm -f "$D"/doc1[0-9]*.md "$D/bad.md"
gone=$(sql "SELECT count(*) FROM docpipe.documents WHERE path ~ '/doc1[0-9]+\.md\$'")
docpipe run "$D" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
rc=$?
is "$rc/$(jq -r '[.deleted, .sweep] | @tsv' "$T_DIR/report")" "$(printf '0/%s\tdone' "$gone")" \
	"docpipe run: the $gone documents of deleted files swept in batches"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/err"

# A sweep killed while its DELETE waits on a lock (a session holding the
# row): each batch autocommitted, so the DELETE went through once the lock
# went, after the run had ended and reported no deletion (fault sweep 18).
# In a transaction of its own, it goes with the connection.
left=$(sql "SELECT path FROM docpipe.documents ORDER BY path LIMIT 1")
rm "$left"
sql "UPDATE docpipe.documents SET last_run = 'r4' WHERE path <> '$left'" >/dev/null
hold_lock sweep-holder "SELECT 1 FROM docpipe.documents WHERE path = '$left' FOR UPDATE"
docpipe-store --sweep r4 "$D" >"$T_DIR/swept4" 2>"$T_DIR/err4" &
store=$!
wait_for 30 sql_ge "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name LIKE 'docpipe-store%' AND wait_event_type = 'Lock'" 1
ok $? "the sweep waits on the locked row"
kill -KILL $store
wait $store 2>/dev/null
release_lock sweep-holder
sleep 1
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '$left'")" 1 \
	"the sweep killed while it waited: nothing deleted after it"

# docpipe run stopped while its sweep waits on a lock: a stop, reported as
# one (exit 5, "sweep":"stopped"), not as a failed sweep (fault sweep 18).
rm "$D"/doc2[0-9]*.md
locked=$(sql "SELECT path FROM docpipe.documents WHERE path ~ '/doc2[0-9]+\.md\$' ORDER BY path LIMIT 1")
hold_lock sweep-holder2 "SELECT 1 FROM docpipe.documents WHERE path = '$locked' FOR UPDATE"
docpipe run "$D" --progress none >"$T_DIR/report5" 2>"$T_DIR/err5" &
run=$!
wait_for 60 sql_ge "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name LIKE 'docpipe-store%' AND wait_event_type = 'Lock'" 1
ok $? "the run's sweep waits on the locked row"
kill -TERM $run
wait $run
rc=$?
is "$rc/$(jq -r .sweep "$T_DIR/report5")" 5/stopped "stopped during its sweep: exit 5, the sweep reported stopped"
like "$(jq -r .sweep_reason "$T_DIR/report5")" "^the run was stopped during the sweep, after [0-9]+ deletion\(s\): the next run sweeps the rest$" \
	"saying what was deleted and that the next run sweeps the rest"
release_lock sweep-holder2
docpipe run "$D" --progress none >"$T_DIR/report6" 2>"$T_DIR/err6"
is "$?/$(jq -r .sweep "$T_DIR/report6")/$(sql "SELECT count(*) FROM docpipe.documents WHERE path ~ '/doc2[0-9]+\.md\$'")" 0/done/0 \
	"the next run sweeps the rest"
done_testing
