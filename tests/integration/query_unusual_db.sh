#!/bin/bash
# docpipe-query against unusual databases (session 61, helper h61c).
# Vectors of no usable direction: a NaN in a stored real[] (pgvector refuses one; real[] takes it
# from a hand edit or another writer) is skipped by the vector scan; the
# pseudo-relevance feedback added it to the question's vector all the
# same, which made every cosine NaN: when that chunk was the text side's
# best hit, hybrid search silently lost its vector side.  A --vector of
# denormal values (nonzero, so not refused as a zero vector) was scaled by
# an infinity and found nothing, with a notice that the corpus held no
# embedded chunks.  A question with neither side said "text ranking only"
# before refusing.  A role that may not read one of docpipe's tables:
# exit 2 with the grants to ask for (before: exit 3, "query failed:
# permission denied for table chunks", as if the database had failed).
# vector-rerun: no (pgvector stores no NaN; the scan is real[]'s)
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
cd "$T_DIR"

python3 - >docs.ndjson <<'PY'
import base64, json, struct
def v(*x): return base64.b64encode(struct.pack("<4f", *x)).decode()
docs = [("/c/a.md", "alpha alpha alpha", (1, 0, 0, 0)), ("/c/b.md", "alpha beta", (0.8, 0.6, 0, 0)),
        ("/c/c.md", "gamma delta", (0, 0, 1, 0)), ("/c/d.md", "epsilon", (0, 0, 0.6, 0.8))]
for path, text, vec in docs:
    print(json.dumps({"v": 1, "kind": "document", "path": path, "root": "/c", "hash": path,
        "chunker": "t", "embedder": "local/fh-v1", "dim": 4,
        "chunks": [{"seq": 0, "text": text, "heading": ["H"], "vec": v(*vec)}]}))
PY
docpipe-store -q <docs.ndjson >/dev/null || { ok 1 "store the test corpus"; done_testing; }

# The text side's best hit (/c/b.md: BM25's length normalization) lends
# its vector (--prf-lead 1: always).
ranked() { docpipe-query --json -k 4 --prf-lead 1 "$@" alpha | jq -c '[.path, .vector_rank, .text_rank]' | paste -sd ' ' -; }
like "$(ranked)" '^\["/c/b.md",[0-9],1\] .*"/c/a.md",[0-9]' "hybrid: /c/b.md first on the text side, the vector side ranks"
for bad in NaN Infinity; do
	sql "UPDATE docpipe.chunks c SET embedding[2] = '$bad' FROM docpipe.documents d WHERE d.id = c.document_id AND d.path = '/c/b.md'"
	got=$(ranked)
	like "$got" '"/c/a.md",[0-9],2\]' "$bad in the text side's best hit's vector: the vector side still ranks the others"
	is "$(ranked --prf 0)" "$got" "... as without feedback (that vector adds nothing)"
done

# A --vector of denormal numbers has a direction: it is searched by it.
tiny=$(python3 -c 'import base64, struct; print(base64.b64encode(struct.pack("<4f", 1e-45, 1e-45, 0, 0)).decode())')
out=$(docpipe-query --json --mode vector -k 2 --vector "$tiny" 2>"$T_DIR/err" | jq -r .path | paste -sd ' ' -)
is "$out/$(cat "$T_DIR/err")" "/c/a.md /c/c.md/" "--vector of denormals: searched (as (1, 1, 0, 0); /c/b.md's vector is not finite)"
is "$(docpipe-query --json --mode vector -k 2 --vector "$(f32_base64 1 1 0 0)" | jq -r .path | paste -sd ' ' -)" \
	"$out" "... the same order as (1, 1, 0, 0)"

# A stored vector of another length (a hand edit; the store checks every
# one): the search fails naming the chunk, by the scan or by the feedback
# (before: "unexpected row in the vector scan (a vector of another
# dimension?)", "unexpected stored vector (not 4 numbers)", no chunk named).
sql "UPDATE docpipe.chunks c SET embedding = '{1,2}' FROM docpipe.documents d WHERE d.id = c.document_id AND d.path = '/c/c.md'"
out=$(docpipe-query --mode vector --vector "$(f32_base64 1 0 0 0)" 2>&1 >/dev/null); rc=$?
is "$rc/$out" "3/docpipe-query: chunk 0 of /c/c.md: its stored vector has 2 values, the corpus's have 4 (a damaged or hand-edited database: delete that document from docpipe.documents and store it again)" \
	"a vector of 2 values in a corpus of 4: exit 3, the chunk named"
sql "UPDATE docpipe.chunks c SET embedding = '{0,0,1,0}' FROM docpipe.documents d WHERE d.id = c.document_id AND d.path = '/c/c.md'"
sql "UPDATE docpipe.chunks c SET embedding = '{1,2,3,4,5}' FROM docpipe.documents d WHERE d.id = c.document_id AND d.path = '/c/b.md'"
out=$(docpipe-query --prf-lead 1 alpha 2>&1 >/dev/null); rc=$?
is "$rc/$out" "3/docpipe-query: chunk 0 of /c/b.md: its stored vector is no list of 4 values (a damaged or hand-edited database: delete that document from docpipe.documents and store it again)" \
	"... of 5 values, lent by the feedback: the same"
sql "UPDATE docpipe.chunks c SET embedding = '{0.8,0.6,0,0}' FROM docpipe.documents d WHERE d.id = c.document_id AND d.path = '/c/b.md'"

# Neither side can run: the refusal alone, not a notice that one side answers.
out=$(docpipe-query "?!" 2>&1 >/dev/null); rc=$?
is "$rc/$out" "2/docpipe-query: the question has neither search terms nor a vector to compare" \
	"a question of punctuation (hybrid): exit 2, one line"

# A corpus lexed by a lexer this docpipe does not know (a newer docpipe's
# text_lexer): searched with the server's parser, as before, but said
# (before: silently; its lexemes may not match).
lexer=$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_lexer'")
sql "UPDATE docpipe.settings SET value = 'docpipe-v99' WHERE key = 'text_lexer'"
out=$(docpipe-query --json --mode text -k 1 alpha 2>"$T_DIR/err" | jq -r .path)
is "$out/$(cat "$T_DIR/err")" "/c/b.md/docpipe-query: notice: the corpus's tsvectors were made by lexer docpipe-v99, which this docpipe-query does not know (a newer docpipe's?): the question is lexed by the server's english parser, and may miss terms; search with the docpipe that stored the corpus" \
	"an unknown text_lexer: searched, with a notice"
is "$(docpipe-query --mode vector alpha 2>&1 >/dev/null)" "" "... not in vector mode"
sql "UPDATE docpipe.settings SET value = '$lexer' WHERE key = 'text_lexer'"
is "$(docpipe-query --mode text alpha 2>&1 >/dev/null)" "" "the corpus's own lexer ($lexer): no notice"

# A role without SELECT on one table, or without USAGE on the schema.
ROLE=reader_$$_$RANDOM
at_exit "psql -X -q -c 'DROP OWNED BY $ROLE' >/dev/null 2>&1; psql -X -q -d postgres -c 'DROP ROLE IF EXISTS $ROLE' >/dev/null 2>&1"
sql "CREATE ROLE $ROLE LOGIN; GRANT USAGE ON SCHEMA docpipe TO $ROLE" || exit 1
denied() { # denied TABLES NAME MODE: exit 2, the table named, the grants said
	local out rc
	sql "GRANT SELECT ON ALL TABLES IN SCHEMA docpipe TO $ROLE; REVOKE SELECT ON $1 FROM $ROLE" || return
	out=$(DATABASE_URL="postgresql:///$PGDATABASE?host=$PGHOST&port=$PGPORT&user=$ROLE" \
		docpipe-query --mode "$3" alpha 2>&1 >/dev/null); rc=$?
	is "$rc" 2 "$2, --mode $3: exit 2"
	like "$out" "^docpipe-query: .*permission denied for table ${1#docpipe.} \\(a privilege the role lacks: .*GRANT SELECT ON ALL TABLES IN SCHEMA docpipe TO <role>; restarting does not help\\)$" \
		"$2, --mode $3: names the table and the grants"
}
denied docpipe.settings "no SELECT on settings" hybrid
denied docpipe.chunks "no SELECT on chunks" text
denied docpipe.chunks "no SELECT on chunks" vector
denied docpipe.documents "no SELECT on documents" hybrid
sql "GRANT SELECT ON ALL TABLES IN SCHEMA docpipe TO $ROLE; REVOKE USAGE ON SCHEMA docpipe FROM $ROLE"
out=$(DATABASE_URL="postgresql:///$PGDATABASE?host=$PGHOST&port=$PGPORT&user=$ROLE" docpipe-query alpha 2>&1 >/dev/null); rc=$?
is "$rc" 2 "no USAGE on the schema: exit 2"
like "$out" "permission denied for schema docpipe \\(a privilege the role lacks: .*GRANT USAGE ON SCHEMA docpipe TO <role>;" "no USAGE on the schema: the grant said"
done_testing
