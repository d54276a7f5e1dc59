#!/bin/bash
# docpipe-store: a document new to the store (its row inserted by the
# upsert, a new id) has no chunks to delete, so its batch sends no DELETE
# of old chunks: in a bulk load that DELETE found nothing, yet the planner,
# its statistics stale while the table grew, read the whole chunks table
# for it in every batch (session 59).  A changed document's old chunks are
# still deleted, with either write method.  The DELETE statements are
# counted by a statement trigger on docpipe.chunks.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
GEN="python3 $TOP/bench/store-gen.py"

docpipe-store -q </dev/null
sql "CREATE TABLE chunk_deletes (n int); INSERT INTO chunk_deletes VALUES (0);
	CREATE FUNCTION count_chunk_delete() RETURNS trigger LANGUAGE plpgsql AS
		\$\$BEGIN UPDATE chunk_deletes SET n = n + 1; RETURN NULL; END\$\$;
	CREATE TRIGGER count_chunk_delete BEFORE DELETE ON docpipe.chunks
		FOR EACH STATEMENT EXECUTE FUNCTION count_chunk_delete()"
deletes() { sql "SELECT n FROM chunk_deletes"; }
content() { sql "SELECT string_agg(content, '|' ORDER BY seq) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '$1'"; }

$GEN --docs 3 --chunks 2 --run r1 | docpipe-store -q >/dev/null
is $? 0 "three new documents stored"
is "$(sql 'SELECT count(*) FROM docpipe.chunks')" 6 "their six chunks"
is "$(deletes)" 0 "no DELETE of old chunks for documents new to the store"

{
	$GEN --docs 1 --chunks 1 --version 2 --run r2
	$GEN --docs 1 --chunks 2 --start 3 --run r2
} | docpipe-store -q >/dev/null
is $? 0 "a changed document and a new one stored"
is "$(content /corpus/doc0.md)" "Document 0, chunk 0, version 2." "the changed document's old chunks are gone"
is "$(sql 'SELECT count(*) FROM docpipe.chunks')" 7 "and the new one's are there"
is "$(deletes)" 1 "one DELETE: the changed document's"

$GEN --docs 1 --chunks 1 --start 1 --version 3 --run r3 | docpipe-store -q --write-method insert >/dev/null
is $? 0 "a changed document stored with --write-method insert"
is "$(content /corpus/doc1.md)" "Document 1, chunk 0, version 3." "its old chunks are gone"
is "$(deletes)" 2 "one DELETE more"

done_testing
