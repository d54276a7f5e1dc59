#!/bin/bash
# A store start on an up-to-date schema takes no lock stronger than its
# writes' (schema.c, migrations).  Before, it ran ALTER TABLE docpipe.chunks
# (ACCESS EXCLUSIVE even with nothing to add) and CREATE INDEX IF NOT
# EXISTS (SHARE) at every start: behind an open read of chunks (a
# docpipe-query, a long report) the store waited, and every query after
# it queued behind its ALTER: each run's start stalled the searches.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
numbered_docs "$D" 4 6 doc
pipeline() { docpipe-discover "$D" | docpipe-chunk | docpipe-embed | docpipe-store -q >/dev/null; }
pipeline
is "$?/$(sql 'SELECT count(*) FROM docpipe.documents')" 0/4 "a first store makes the schema"

waiters() { sql "SELECT count(*) FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"; }

# A read transaction on chunks left open, as a long docpipe-query or
# report holds one.
hold_lock reader "SELECT count(*) FROM docpipe.chunks"
ok $? "a reader holds its lock on chunks"
start=$SECONDS
timeout 30 docpipe-store -q </dev/null
is "$?" 0 "beside an open read of chunks, a store start completes"
[ $((SECONDS - start)) -lt 20 ]
ok $? "at once (took $((SECONDS - start)) s; before: until the reader ended)"
echo more words >>"$D/doc1.md"
timeout 30 bash -c "$(declare -f pipeline); D=$D pipeline"
is "$?/$(sql "SELECT count(*) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path LIKE '%/doc1.md' AND c.content LIKE '%more words%'")" \
	0/1 "and a store that writes a changed document"
# A query while stores start: it never queues behind one.
stores=()
for _ in 1 2 3; do docpipe-store -q </dev/null & stores+=($!); done
timeout 30 docpipe-query --json --mode text "3 4 5" >"$T_DIR/q" 2>"$T_DIR/qe"
is "$?/$(jq -r .path "$T_DIR/q" | grep -c doc)" 0/4 "a query beside starting stores and the reader completes"
wait "${stores[@]}"
is "$(waiters)" 0 "no session waits for a lock"
release_lock reader

# Stronger: every docpipe table held in ROW EXCLUSIVE (what concurrent
# writers take) and SHARE UPDATE EXCLUSIVE (autovacuum, ANALYZE), which
# conflict with every mode stronger than a write's.  With lock_timeout the
# store fails at once on any such lock instead of waiting.
tables=$(sql "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') FROM pg_tables WHERE schemaname = 'docpipe'")
hold_lock writer "LOCK TABLE $tables IN ROW EXCLUSIVE MODE; LOCK TABLE $tables IN SHARE UPDATE EXCLUSIVE MODE"
ok $? "a writer holds its locks on every docpipe table"
PGOPTIONS='-c lock_timeout=3s' docpipe-store -q </dev/null 2>"$T_DIR/e1"
is "$?/$(cat "$T_DIR/e1")" 0/ "beside writers, a store start takes no lock stronger than theirs"
PGOPTIONS='-c lock_timeout=3s' docpipe-status --record-run - <<<'{"v":1,"kind":"report","run":"r1"}' 2>"$T_DIR/e2"
is "$?/$(cat "$T_DIR/e2")" 0/ "nor does a run's recorder (the outcome tables' setup)"
release_lock writer
done_testing
