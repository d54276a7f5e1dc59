#!/bin/bash
# Versions of one path that reach the store out of order (a hub's replicas,
# a stage's threads, a re-sent copy, a delete passing a document a slow
# stage holds): within a stream (one hub or watcher), the record with the
# higher seq wins whatever the order of arrival; across streams, or without
# stream and seq, the last one.  Here each run is its own stream, but r4.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
GEN="python3 $TOP/bench/store-gen.py"
cd "$T_DIR"
# doc RUN SEQ VERSION [START [STREAM]]: one document record of
# /corpus/docSTART.md, in stream STREAM (default: RUN).
doc() { $GEN --docs 1 --chunks 2 --run "$1" --version "$3" --start "${4:-0}" | jq -c ".seq = $2 | .stream = \"${5:-$1}\""; }
del() { printf '{"v":1,"kind":"delete","path":"/corpus/doc%s.md","root":"/corpus","run":"%s","stream":"%s","seq":%s}\n' "${3:-0}" "$1" "$1" "$2"; }
content() { sql "SELECT string_agg(c.content, '|' ORDER BY c.seq) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '/corpus/doc${1:-0}.md'"; }
status() { jq -r "select(.seq == $2) | .status" "$1"; }

# The newer version first, the older after it: the older is superseded.
{ doc r1 9 2; doc r1 5 1; } | docpipe-store -q >a.ndjson; rc=$?
is "$rc" 0 "superseded is no failure: exit 0"
is "$(status a.ndjson 9) $(status a.ndjson 5)" "stored skipped" "the older version's receipt says skipped"
like "$(jq -r 'select(.seq == 5) | .stage + ": " + .reason' a.ndjson)" "^store: superseded" "with the reason"
like "$(content)" "version 2" "the newer version stays"
is "$(sql "SELECT last_seq FROM docpipe.documents WHERE path = '/corpus/doc0.md'")" 9 "last_seq is the stored version's"
# One record per transaction: the batch the store takes alone must not change it.
doc r1 7 3 | docpipe-store -q >b.ndjson
is "$(status b.ndjson 7)" skipped "an older version in a later batch: skipped"
like "$(content)" "version 2" "still the newer version"
doc r1 10 3 | docpipe-store -q >b2.ndjson
is "$(status b2.ndjson 10)" stored "a newer version of the run is stored"
like "$(content)" "version 3" "and replaces it"

# A delete that passed its path's document: the document may not come back.
{ doc r1 0 1 1; } | docpipe-store -q >/dev/null
{ del r1 20 1; doc r1 15 2 1; } | docpipe-store -q >c.ndjson
is "$(status c.ndjson 20) $(status c.ndjson 15)" "deleted skipped" "a document older than its path's delete is skipped"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '/corpus/doc1.md'")" 0 "the deleted path stays deleted"
is "$(sql "SELECT run || ' ' || stream || ' ' || seq FROM docpipe.tombstones WHERE path = '/corpus/doc1.md'")" "r1 r1 20" "the delete left a tombstone"
doc r1 21 3 1 | docpipe-store -q >c2.ndjson
is "$(status c2.ndjson 21)" stored "a version newer than the delete is stored (the file came back)"
# A delete older than the stored version: the file came back before it arrived.
del r1 18 1 | docpipe-store -q >c3.ndjson
is "$(status c3.ndjson 18)" skipped "a delete older than the stored version is skipped"
like "$(content 1)" "version 3" "the newer version stays"

# A version found unchanged is as new as one written.
{ doc r0 0 1 2; } | docpipe-store -q >/dev/null
{ doc r2 9 1 2; doc r2 4 5 2; } | docpipe-store -q >d.ndjson
is "$(status d.ndjson 9) $(status d.ndjson 4)" "unchanged skipped" "an older version after an unchanged newer one: skipped"
like "$(content 2)" "version 1" "the unchanged content stays"

# The same run label given again (another hub: another stream), its seqs
# starting again at 0: the last record to arrive wins.
doc r4 9 3 | docpipe-store -q >/dev/null
doc r4 2 6 0 r4-again | docpipe-store -q >e0.ndjson
is "$(status e0.ndjson 2)" stored "the same run label in another stream: stored"
like "$(content)" "version 6" "its lower seq does not matter"

# Another run, or no run and seq: the last record to arrive wins, as before.
doc r3 1 4 | docpipe-store -q >e.ndjson
is "$(status e.ndjson 1)" stored "a later run's lower seq is stored"
like "$(content)" "version 4" "a later run wins"
$GEN --docs 1 --chunks 2 --version 5 | jq -c 'del(.run, .seq, .stream)' | docpipe-store -q >f.ndjson
is "$(jq -r .status f.ndjson)" stored "no run nor seq: stored"
like "$(content)" "version 5" "the last to arrive wins"

# A record with a run but no seq is not ordered: the delete goes through.
printf '{"v":1,"kind":"delete","path":"/corpus/doc1.md","root":"/corpus","run":"r1","stream":"r1"}\n' | docpipe-store -q >f2.ndjson
is "$(jq -r .status f2.ndjson)/$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '/corpus/doc1.md'")" \
	deleted/0 "a delete with a run but no seq deletes"

# A seq without a stream orders nothing: stored.
doc r1 30 7 | docpipe-store -q >/dev/null
doc r1 1 8 | jq -c 'del(.stream)' | docpipe-store -q >f3.ndjson
is "$(status f3.ndjson 1)" stored "a seq without a stream: stored"

# A sweep drops the tombstones of other runs under its roots.
del r9 3 7 | docpipe-store -q >/dev/null
is "$(sql "SELECT count(*) FROM docpipe.tombstones")" 2 "two tombstones"
docpipe-store -q --sweep r9 /corpus </dev/null >/dev/null 2>sweep.err
is "$(sql "SELECT string_agg(run, ' ') FROM docpipe.tombstones")" r9 "the sweep left only its run's tombstone"

# Two store replicas: one deletes a path (its transaction still open) while
# the other writes an older version of it.  The second waits for the path's
# lock (STORE_PATH_LOCK_CLASS, as every store takes it) and then sees the
# tombstone; without the lock it read the row before the delete and wrote
# its version after it.
doc r7 0 1 8 | docpipe-store -q >/dev/null
mkfifo in.fifo
docpipe-store -q <in.fifo >h.ndjson 2>h.err & store=$!
exec 7>in.fifo
# The store has set up its schema (whose ALTER TABLE would wait for the
# other replica's transaction) before that transaction begins.
# (This database's sessions and locks only: the stores of tests running
# beside take the same path locks in theirs.)
wait_for 30 sql_ge "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name = 'docpipe-store' AND state = 'idle'" 1
psql -X -q -v ON_ERROR_STOP=1 -c BEGIN \
	-c "SELECT pg_advisory_xact_lock(1685086580, hashtext('/corpus/doc8.md'))" \
	-c "DELETE FROM docpipe.documents WHERE path = '/corpus/doc8.md'" \
	-c "INSERT INTO docpipe.tombstones VALUES ('/corpus/doc8.md', 'r7', 'r7', 20)" \
	-c "SELECT pg_sleep(1.5)" -c COMMIT >/dev/null & replica=$!
wait_for 30 sql_ge "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1685086580 AND granted
	AND database = (SELECT oid FROM pg_database WHERE datname = current_database())" 1
ok $? "the other replica holds the path"
doc r7 15 2 8 >&7
exec 7>&-
wait $store
wait $replica
is "$(status h.ndjson 15)" skipped "an older version written during another replica's delete: skipped"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '/corpus/doc8.md'")" 0 "the path stays deleted"

# A database stored before: the column and the table are added in place.
sql "ALTER TABLE docpipe.documents DROP COLUMN last_stream, DROP COLUMN last_seq; DROP TABLE docpipe.tombstones" >/dev/null
{ doc r5 9 6; doc r5 5 7; } | docpipe-store -q >g.ndjson; rc=$?
is "$rc $(status g.ndjson 9) $(status g.ndjson 5)" "0 stored skipped" "migrated in place"

done_testing
