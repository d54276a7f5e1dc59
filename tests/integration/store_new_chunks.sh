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

# The batch's transaction fails at COMMIT, after its upserts and chunks,
# with a serialization failure or a deadlock (redone whole: write.c,
# conflict_state): its new documents' rows and chunks were rolled back,
# the redo inserts them again and deletes a changed document's old chunks
# (fault sweep 26).  A deferred trigger fails the COMMIT when a sequence
# (not rolled back) says it is the first.
chunks_once() {
	sql "SELECT (SELECT count(*) FROM docpipe.chunks) || '/' ||
		(SELECT count(*) FROM (SELECT 1 FROM docpipe.chunks GROUP BY document_id, seq HAVING count(*) > 1) x) || '/' ||
		(SELECT count(*) FROM docpipe.documents d WHERE chunk_count <> (SELECT count(*) FROM docpipe.chunks c WHERE c.document_id = d.id)) || '/' ||
		(SELECT count(*) FROM docpipe.chunks WHERE tsv IS NULL OR embedding IS NULL)"
}
sql "CREATE SEQUENCE commits; CREATE FUNCTION fail_first_commit() RETURNS trigger LANGUAGE plpgsql AS
		\$\$BEGIN IF nextval('commits') = 1 THEN RAISE EXCEPTION 'injected at COMMIT' USING ERRCODE = TG_ARGV[0]; END IF; RETURN NULL; END\$\$"
v=0
for case in "40001 copy" "40001 insert" "40P01 copy"; do
	set -- $case
	v=$((v + 1))
	sql "SET client_min_messages = warning; DROP TRIGGER IF EXISTS fail_commit ON docpipe.chunks;
		CREATE CONSTRAINT TRIGGER fail_commit AFTER INSERT ON docpipe.chunks DEFERRABLE INITIALLY DEFERRED
		FOR EACH ROW EXECUTE FUNCTION fail_first_commit('$1'); ALTER SEQUENCE commits RESTART"
	{
		$GEN --docs 4 --chunks 3 --version $((v + 3)) --run "r$v"
		$GEN --docs 2 --chunks 2 --start $((10 * v)) --run "r$v"
	} | docpipe-store -q --write-method "$2" >"$T_DIR/receipts" 2>"$T_DIR/err"
	rc=$?
	is "$(sql "SELECT last_value > 1 FROM commits")" t "$1 at the first COMMIT (--write-method $2)"
	is "$rc/$(jq -r .status "$T_DIR/receipts" | sort | uniq -c | xargs)/$(chunks_once)" \
		"0/6 stored/$(sql "SELECT sum(chunk_count) FROM docpipe.documents")/0/0/0" \
		"redone: all stored, every chunk once, none missing, each with its tsvector and vector"
	is "$(content /corpus/doc0.md)" "$(printf 'Document 0, chunk %d, version %d.|' 0 $((v + 3)) 1 $((v + 3)) 2 $((v + 3)) | sed 's/|$//')" \
		"the changed document's chunks are the new version's only"
done
done_testing
