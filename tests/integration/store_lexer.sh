#!/bin/bash
# docpipe's own full-text lexer (issue 11): the store sends the tsvector
# (COPY and INSERT alike), the query tokenizes with the same code; a
# database whose column the server generated (stored before the lexer) is
# migrated in place; a configuration the lexer lacks keeps the server's
# generated column; on the real corpora the lexer agrees with PostgreSQL's
# to_tsvector for ordinary words.
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail
newdb || exit 1

V=$(f32_base64 1 0 0 0)
doc() { # doc PATH HEADING TEXT [SUMMARY]
	jq -nc --arg p "$1" --arg h "$2" --arg t "$3" --arg s "${4:-}" --arg v "$V" \
		'{v:1, kind:"document", path:$p, root:"/d", content_hash:$p, embedder:"local/fh-v1", dim:4,
		  chunks:[{seq:0, text:$t, heading:[$h, "Part two"], vec:$v} + (if $s == "" then {} else {summary:$s} end)]}'
}
{
	doc /d/keys.md "Security keys" "Rotate the signing keys every quarter; the key-rotation job runs at night." "How to rotate them"
	doc /d/cafe.md "Café" "Naïve cafés serve ΑΘΗΝΑ coffee to Привет visitors."
} >docs.ndjson
# The tsvector PostgreSQL makes of a chunk with the recorded configuration
# (a first chunk's summary part ends with its path's words: these paths
# are one lower-case word below the root).
PG_TSV="setweight(to_tsvector(s.cfg, coalesce(array_to_string(c.heading, ' '), '')), 'A')
	|| setweight(to_tsvector(s.cfg, coalesce(c.summary, '') || CASE WHEN c.seq = 0
		THEN ' ' || regexp_replace(substr(d.path, length(d.root) + 2), '\\.[^./]*\$', '') ELSE '' END), 'B')
	|| to_tsvector(s.cfg, c.content)"
same_as_pg() { sql "SELECT count(*) FILTER (WHERE c.tsv = $PG_TSV) || '/' || count(*)
	FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id,
	(SELECT value::regconfig AS cfg FROM docpipe.settings WHERE key = 'text_config') s"; }
generated() { sql "SELECT attgenerated <> '' FROM pg_attribute WHERE attrelid = 'docpipe.chunks'::regclass AND attname = 'tsv'"; }

docpipe-store -q <docs.ndjson >/dev/null; is "$?" 0 "store"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_lexer'")" docpipe-v3 "text_lexer recorded: docpipe-v3"
is "$(generated)" f "the store writes the column (not generated)"
is "$(sql "SELECT count(*) FROM pg_indexes WHERE schemaname = 'docpipe' AND indexdef LIKE '%USING gin (tsv)%'")" 1 "GIN index"
# The server's cheaper storage: lz4 for text and tsvector, no pglz attempt
# on a real[] vector (pgvector's types are external anyway).
is "$(sql "SELECT string_agg(attname || ':' || attstorage::text || attcompression::text, ' ' ORDER BY attname) FROM pg_attribute
	WHERE attrelid = 'docpipe.chunks'::regclass AND attname IN ('content', 'embedding', 'tsv')")" \
	"content:xl embedding:e tsv:ml" "storage: lz4 text and tsvector (kept in line), external vectors"
is "$(same_as_pg)" 2/2 "tsvectors equal PostgreSQL's for ordinary text (positions, weights)"
is "$(sql "SELECT tsv::text FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '/d/keys.md'")" \
	"'everi':14 'job':20 'key':2A,9B,13,18 'key-rot':17 'night':23 'part':3A 'quarter':15 'rotat':7B,10,19 'run':21 'secur':1A 'sign':12 'two':4A" \
	"the heading A, summary and path B, text D, positions shifted part by part"

# The INSERT path sends the same value.
newdb || exit 1
docpipe-store -q --write-method insert <docs.ndjson >/dev/null; is "$?" 0 "store --write-method insert"
is "$(same_as_pg)" 2/2 "INSERT path: tsvectors equal PostgreSQL's"

# The question goes through the same lexer: stemmed, stop words dropped,
# Unicode lower-cased.
out=$(docpipe-query --mode text --json "rotating the KEYS" | jq -r .path); is "$out" /d/keys.md "text query stemmed like the store"
out=$(docpipe-query --mode text --json "ΑΘΗΝΑ" | jq -r .path); is "$out" /d/cafe.md "Greek upper case finds lower case"
out=$(docpipe-query --mode text --json "the of and" 2>&1); rc=$?
is "$rc" 2 "a question of stop words only has no text terms"

# A database stored before the lexer: the server's generated column, no
# text_lexer.  The query tokenizes on the server until the next store
# migrates it in place, recomputing every chunk.
sql "ALTER TABLE docpipe.chunks DROP COLUMN tsv" >/dev/null
sql "CREATE OR REPLACE FUNCTION docpipe.heading_text(text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS \$\$SELECT array_to_string(\$1, ' ')\$\$" >/dev/null
sql "ALTER TABLE docpipe.chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS (setweight(to_tsvector('english', coalesce(docpipe.heading_text(heading), '')), 'A') || setweight(to_tsvector('english', coalesce(summary, '')), 'B') || to_tsvector('english', content)) STORED" >/dev/null
sql "CREATE INDEX chunks_tsv ON docpipe.chunks USING gin (tsv)" >/dev/null
sql "DELETE FROM docpipe.settings WHERE key = 'text_lexer'" >/dev/null
out=$(docpipe-query --mode text --json "rotating keys" | jq -r .path); is "$out" /d/keys.md "before migration: the server's lexer answers"
docpipe-store -q </dev/null; is "$?" 0 "the next store migrates in place"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_lexer'")" docpipe-v3 "migrated: text_lexer docpipe-v3"
is "$(generated)" f "migrated: the column is the store's"
is "$(sql "SELECT count(*) FROM docpipe.chunks WHERE tsv IS NULL")" 0 "migrated: every chunk recomputed"
is "$(same_as_pg)" 2/2 "migrated: values as PostgreSQL's"
is "$(sql "SELECT count(*) FROM pg_indexes WHERE schemaname = 'docpipe' AND indexdef LIKE '%USING gin (tsv)%'")" 1 "migrated: GIN index"
out=$(docpipe-query --mode text --json "rotating keys" | jq -r .path); is "$out" /d/keys.md "after migration: found"

# A configuration the lexer does not implement: the server's column.
docpipe-store -q --text-config french </dev/null; is "$?" 0 "--text-config french"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_lexer'")" postgresql "french: text_lexer postgresql"
is "$(generated)" t "french: the server generates the column"
printf '%s\n' "$(doc /d/fr.md "Chats" "Les chats mangeaient des poissons.")" | docpipe-store -q >/dev/null
out=$(docpipe-query --mode text --json "chat mangeait" | jq -r .path); is "$out" /d/fr.md "french: stemmed by the server, found"
docpipe-store -q --text-config english </dev/null
is "$(generated)/$(sql "SELECT count(*) FROM docpipe.chunks WHERE tsv IS NULL")" f/0 "back to english: the store's column, recomputed"

# A re-run: once a batch finds its documents unchanged, the store's reader
# stops lexing ahead and the writer lexes the documents it writes.  1,200
# documents (more than the reader holds and a batch), stored, then again
# with the last three and one in the middle changed: every tsvector is
# PostgreSQL's, the changed ones' included.
newdb || exit 1
many() { # many CHANGED...: the 1,200 documents, those numbered CHANGED edited
	python3 - "$V" "$@" <<'PY'
import json, sys
vec, changed = sys.argv[1], {int(n) for n in sys.argv[2:]}
for i in range(1200):
    text = "Document %d tells of quarterly key rotation, %s." % (i, "edited: the backup schedules" if i in changed else "unchanged")
    print(json.dumps({"v": 1, "kind": "document", "path": "/d/n%d.md" % i, "root": "/d", "hash": "h%d%s" % (i, "e" if i in changed else ""),
                      "embedder": "local/fh-v1", "dim": 4, "chunks": [{"seq": 0, "text": text, "heading": ["Doc %d" % i], "vec": vec}]}))
PY
}
many | docpipe-store -q >/dev/null; is "$?" 0 "1,200 documents stored"
many 600 1197 1198 1199 | docpipe-store >/dev/null 2>err; is "$?" 0 "stored again, four changed"
like "$(cat err)" "4 stored, 1196 unchanged" "four stored, the others unchanged"
is "$(same_as_pg)" 1200/1200 "every tsvector PostgreSQL's, those the writer lexed too"
is "$(docpipe-query --mode text --json "backup schedules" --top 10 | jq -r .path | sort | tr '\n' ' ')" \
	"/d/n1197.md /d/n1198.md /d/n1199.md /d/n600.md " "the changed documents found by their new words"

# Agreement with PostgreSQL on real text (bench/search/lexer-agree.sh runs
# the same on both corpora).
shared=
for d in "$TOP/../shared" "$TOP/../../shared"; do
	[ -d "$d/corpora/rust-book" ] && { shared=$d; break; }
done
if [ -z "$shared" ]; then
	skip "no ../shared/corpora: agreement on real text not checked"
	done_testing
fi
newdb || exit 1
docpipe-discover "$shared/corpora/rust-book" 2>/dev/null | docpipe-chunk 2>/dev/null | docpipe-embed 2>/dev/null |
	docpipe-store -q >/dev/null; is "$?" 0 "the Rust book stored"
agree=$(psql -X -q -A -t -v brief=1 -f "$TOP/bench/search/lexer-agree.sql")
diag "$agree"
read -r _ chunks _ lexemes _ words _ <<<"$agree"
ok "$(python3 -c "import sys; sys.exit(not ($chunks > 800 and $lexemes >= 0.85 and $words >= 0.93))"; echo $?)" \
	"the lexer agrees with PostgreSQL: lexemes $lexemes, letter-only words $words (>= 0.85, 0.93)"
done_testing
