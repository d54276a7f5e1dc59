#!/bin/bash
# A schema docpipe the store did not make as it relies on (src/store/schema.c,
# schema_check): another application's schema docpipe, or docpipe's with the
# unique key on documents.path dropped (a DBA's index clean-up, a data-only
# restore into tables made by hand).  The store said nothing of it: every
# document failed one by one ("no unique or exclusion constraint matching the
# ON CONFLICT specification"), or it exited 3 on "column root does not exist",
# was restarted 5 times and made its own tables inside the other schema
# (sweep 8).  Now: exit 2 at start, naming the fault and its mend, nothing
# created; a key dropped under a running store stops it after 3 documents
# (src/lib/db.c, dp_db_environmental).  docpipe.chunks dropped beside
# docpipe.documents (fault sweep 20): the store exited 3 at each restart on
# its migrations ("relation docpipe.chunks does not exist") until the run
# stopped; now exit 2 naming the mend, which brings every chunk back.
# docpipe.documents dropped beside docpipe.chunks, or the chunks' key to
# it: a deleted document's chunks stayed; now exit 2 naming the mend.
. "$(dirname "$0")/../lib/tap.sh"
D=$T_DIR/docs
numbered_docs "$D" 6 5 doc
pipeline() { docpipe-discover "$D" | docpipe-chunk | docpipe-embed | docpipe-store -q "$@"; }
tables() { sql "SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'docpipe'"; }

# Another application's schema docpipe.
newdb || exit 1
sql "CREATE SCHEMA docpipe; CREATE TABLE docpipe.documents (id serial PRIMARY KEY, title text, body text)"
pipeline >/dev/null 2>"$T_DIR/e1"
is "$?" 2 "another application's schema docpipe: the store exits 2 (configuration, not restarted)"
like "$(cat "$T_DIR/e1")" "schema docpipe holds a table documents without columns path, root, .*another application's \(store into another database\)" \
	"and says which table lacks which columns, and what to do"
is "$(grep -c 'does not exist' "$T_DIR/e1")" 0 "no SQL error"
is "$(tables)" documents "nothing of docpipe's made in that schema"
docpipe run "$D" --progress none >/dev/null 2>"$T_DIR/e2"
# The run's recorder finds it first, as it claims the roots: the run ends
# before any stage starts (ops_run_overlap.sh).
is "$?/$(grep -c 'restarting it' "$T_DIR/e2")/$(grep -c 'hub on' "$T_DIR/e2")/$(grep -c 'without columns' "$T_DIR/e2")/$(tables)" \
	"2/0/0/1/documents" "docpipe run: exit 2 before any stage starts, said once, nothing made by the run's recorder either" ||
	diag "$(cat "$T_DIR/e2")"
docpipe status >/dev/null 2>"$T_DIR/e6"
is "$?" 2 "docpipe status: exit 2"
like "$(cat "$T_DIR/e6")" "schema docpipe holds a table documents without columns" "with the store's words, no SQL error"
docpipe-query cats >/dev/null 2>"$T_DIR/e7"
is "$?/$(grep -c 'does not exist' "$T_DIR/e7")" 1/0 "docpipe-query: exit 1, no SQL error"

# docpipe's schema with the unique key on documents.path dropped.
newdb || exit 1
pipeline >/dev/null || exit 1
sql "ALTER TABLE docpipe.documents DROP CONSTRAINT documents_path_key"
echo more >>"$D/doc1.md"
pipeline >/dev/null 2>"$T_DIR/e3"
is "$?" 2 "documents.path's unique key dropped: the store exits 2 at start"
like "$(cat "$T_DIR/e3")" "docpipe.documents has no unique constraint on \(path\) \(dropped\?\): restore it with ALTER TABLE docpipe.documents ADD UNIQUE \(path\)" \
	"naming the key and the statement that restores it"
sql "ALTER TABLE docpipe.documents ADD UNIQUE (path)"
pipeline >/dev/null
is "$?/$(sql "SELECT count(*) FROM docpipe.documents")" 0/6 "restored as said: the store works again"

# The chunks' primary key, and a unique key that ON CONFLICT cannot use
# (deferrable).
sql "ALTER TABLE docpipe.chunks DROP CONSTRAINT chunks_pkey"
sql "ALTER TABLE docpipe.documents DROP CONSTRAINT documents_path_key"
sql "ALTER TABLE docpipe.documents ADD UNIQUE (path) DEFERRABLE"
pipeline >/dev/null 2>"$T_DIR/e4"
is "$?" 2 "chunks' primary key dropped, path's key deferrable: exit 2"
like "$(cat "$T_DIR/e4")" "docpipe.documents has no unique constraint on \(path\).*; docpipe.chunks has no unique constraint on \(document_id, seq\) \(dropped\?\): restore it with ALTER TABLE docpipe.chunks ADD PRIMARY KEY \(document_id, seq\)" \
	"both named"

# docpipe.chunks dropped (a DBA's clean-up, a partial restore).
newdb || exit 1
pipeline >/dev/null || exit 1
sql "DROP TABLE docpipe.chunks CASCADE"
docpipe run "$D" --progress none >/dev/null 2>"$T_DIR/e8"
is "$?/$(grep -c 'restarting it' "$T_DIR/e8")/$(grep -c 'hub on' "$T_DIR/e8")" "2/0/0" \
	"docpipe.chunks dropped: docpipe run exits 2 before any stage starts" || diag "$(cut -c1-300 "$T_DIR/e8")"
like "$(cat "$T_DIR/e8")" "docpipe.chunks is missing beside docpipe.documents \(dropped\? a partial restore\?\): restore it from a backup, or store the corpus anew with DROP TABLE docpipe.documents, docpipe.settings CASCADE" \
	"... naming the mend"
pipeline >/dev/null 2>"$T_DIR/e9"
is "$?" 2 "docpipe-store: exit 2 likewise"
sql "DROP TABLE docpipe.documents, docpipe.settings CASCADE"
docpipe run "$D" --progress none >"$T_DIR/r9" 2>"$T_DIR/e9"
is "$?/$(jq -c .added "$T_DIR/r9")/$(sql "SELECT count(DISTINCT document_id) FROM docpipe.chunks")" 0/6/6 \
	"the mend said: the next run stores every document with its chunks"

# docpipe.documents dropped with CASCADE (its key from chunks goes with it),
# and that key alone dropped: a deleted document's chunks stayed for good.
sql "DROP TABLE docpipe.documents CASCADE"
pipeline >/dev/null 2>"$T_DIR/e10"
is "$?" 2 "docpipe.documents dropped: exit 2"
like "$(cat "$T_DIR/e10")" "docpipe.documents is missing beside docpipe.chunks .*DROP TABLE docpipe.chunks, docpipe.settings CASCADE" \
	"... naming the mend"
sql "DROP TABLE docpipe.chunks, docpipe.settings CASCADE"
pipeline >/dev/null || exit 1
sql "ALTER TABLE docpipe.chunks DROP CONSTRAINT chunks_document_id_fkey"
pipeline >/dev/null 2>"$T_DIR/e11"
is "$?" 2 "the chunks' key to documents dropped: exit 2"
like "$(cat "$T_DIR/e11")" "docpipe.chunks has no foreign key to docpipe.documents ON DELETE CASCADE" "... named"
sql "$(sed -n 's/.*restore it with \(DELETE FROM docpipe.chunks .* ON DELETE CASCADE\).*/\1/p' "$T_DIR/e11")"
rm "$D/doc2.md"
docpipe run "$D" --progress none >"$T_DIR/r11" 2>"$T_DIR/e11"
is "$?/$(jq -c .deleted "$T_DIR/r11")/$(sql "SELECT count(*) FROM docpipe.chunks c WHERE NOT EXISTS (SELECT FROM docpipe.documents d WHERE d.id = c.document_id)")" \
	0/1/0 "restored as said: a deleted file's document goes with its chunks"
printf '# doc 2\n\n2 3 4 5 6 7\n' >"$D/doc2.md"

# The key dropped under a running store: it stops after 3 documents
# failed alike, not one failure per document to the end.
newdb || exit 1
docpipe-discover "$D" | docpipe-chunk | docpipe-embed >"$T_DIR/recs" || exit 1
head -1 "$T_DIR/recs" >"$T_DIR/first"
grep '"kind":"document"' "$T_DIR/recs" | tail -n +2 >"$T_DIR/rest"
{
	cat "$T_DIR/first"
	wait_for 30 sql_ge "SELECT count(*) FROM docpipe.documents" 1
	sql "ALTER TABLE docpipe.documents DROP CONSTRAINT documents_path_key"
	jq -c '.path |= sub("doc"; "other")' "$T_DIR/recs" | grep '"kind":"document"'
	cat "$T_DIR/rest"
} | docpipe-store -q >"$T_DIR/o5" 2>"$T_DIR/e5"
rc=$?
is "$rc" 4 "a key dropped mid-run: the store stops (exit 4, the database refuses every write)"
like "$(cat "$T_DIR/e5")" "3 documents in a row failed the same way \(SQLSTATE 42P10\)" "after 3 documents, saying why"
done_testing
