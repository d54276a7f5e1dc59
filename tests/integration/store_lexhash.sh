#!/bin/bash
# The full-text index over lexeme hashes (issue 11, session 7): beside each
# chunk's tsvector the store writes lexhash, the FNV-1a hashes of its
# lexemes (COPY and INSERT alike), the GIN index is over lexhash and the
# settings say so (text_index); a query selects by hash and rechecks with
# the tsvector, so a chunk whose lexhash holds a question term's hash
# without the term (a hash collision, faked here) is never returned, and
# the term's document frequency (its score) does not change.
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail
newdb || exit 1

V=$(python3 -c 'import base64,struct; print(base64.b64encode(struct.pack("<4f",1,0,0,0)).decode())')
doc() { # doc PATH HEADING TEXT
	jq -nc --arg p "$1" --arg h "$2" --arg t "$3" --arg v "$V" \
		'{v:1, kind:"document", path:$p, root:"/d", content_hash:$p, embedder:"local/fh-v1", dim:4,
		  chunks:[{seq:0, text:$t, heading:[$h], vec:$v}, {seq:1, text:("More about " + $h), vec:$v}]}'
}
{
	doc /d/keys.md "Security keys" "Rotate the signing keys every quarter; the key-rotation job runs at night."
	doc /d/cafe.md "Café" "Naïve cafés serve ΑΘΗΝΑ coffee to Привет visitors, 42 of them."
	doc /d/garden.md "Garden" "Water the tomatoes twice a week."
} >docs.ndjson
# Every chunk whose lexhash is not the FNV-1a hashes (signed int4) of its
# tsvector's lexemes, ascending: "" when none.
cat >check.py <<'PY'
import subprocess, sys
def fnv(b):
    h = 2166136261
    for c in b:
        h = ((h ^ c) * 16777619) & 0xffffffff
    return h - (1 << 32) if h >= 1 << 31 else h
rows = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-c",
    "SELECT document_id || '/' || seq, array_to_json(tsvector_to_array(tsv)), array_to_json(lexhash)"
    " FROM docpipe.chunks ORDER BY 1"], capture_output=True, text=True, check=True).stdout.splitlines()
import json
bad = [k for k, lex, lh in (r.split("\t") for r in rows)
       if sorted(fnv(w.encode()) for w in json.loads(lex)) != json.loads(lh)]
print(len(rows), " ".join(bad))
PY

docpipe-store -q <docs.ndjson >/dev/null; is "$?" 0 "store (COPY)"
is "$(python3 check.py)" "6 " "COPY: lexhash is the hashes of the tsvector's lexemes"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_index'")" lexhash "text_index recorded: lexhash"
is "$(sql "SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'docpipe'
	AND indexdef LIKE '%USING gin%'")" chunks_lexhash "one GIN index, over lexhash"
is "$(sql "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'docpipe.chunks'::regclass AND attname = 'lexhash'")" t \
	"lexhash is NOT NULL (a store that does not write it fails)"
like "$(docpipe-status 2>&1)" "text_index +lexhash" "docpipe-status shows text_index"

newdb || exit 1
docpipe-store -q --write-method insert <docs.ndjson >/dev/null; is "$?" 0 "store (INSERT)"
is "$(python3 check.py)" "6 " "INSERT: lexhash is the hashes of the tsvector's lexemes"

# No ANALYZE: the document frequencies are counted (through the index).
out=$(docpipe-query --mode text --json "rotating keys" | jq -r '.path + " " + (.seq|tostring)' | head -1)
is "$out" "/d/keys.md 0" "text: found by its terms"
out=$(docpipe-query --mode text --text-rank cd --json "rotating keys" | jq -r .path | head -1)
is "$out" /d/keys.md "text, ts_rank_cd: found"
out=$(docpipe-query --mode text --json "ΑΘΗΝΑ" | jq -r .path | head -1)
is "$out" /d/cafe.md "text: a non-ASCII term (lower-cased before hashing)"

# A forced collision: the garden chunks' lexhash gets the hashes of
# "rotat" and "key" (their tsvectors hold neither).
score() { docpipe-query --mode text -k 10 --json "$1" | jq -r '[.path, .seq, .score] | map(tostring) | join(" ")'; }
before=$(score "rotating keys")
before_cd=$(docpipe-query --mode text --text-rank cd -k 10 --json "rotating keys" | jq -r .path | sort -u)
sql "UPDATE docpipe.chunks c SET lexhash = c.lexhash || (SELECT lexhash FROM docpipe.chunks k
	JOIN docpipe.documents d ON d.id = k.document_id WHERE d.path = '/d/keys.md' AND k.seq = 0)
	FROM docpipe.documents d WHERE d.id = c.document_id AND d.path = '/d/garden.md'" >/dev/null
is "$(sql "SET enable_seqscan = off; SELECT count(DISTINCT document_id) FROM docpipe.chunks
	WHERE lexhash && (SELECT k.lexhash FROM docpipe.chunks k JOIN docpipe.documents d ON d.id = k.document_id
	WHERE d.path = '/d/keys.md' AND k.seq = 0)")" 2 \
	"the faked hashes select the garden chunks too"
after=$(score "rotating keys")
is "$after" "$before" "a collision returns no wrong chunk and changes no score (BM25)"
is "$(docpipe-query --mode text --text-rank cd -k 10 --json "rotating keys" | jq -r .path | sort -u)" "$before_cd" \
	"a collision returns no wrong chunk (ts_rank_cd)"
out=$(docpipe-query --mode hybrid -k 10 --vector "$V" --json "rotating keys" |
	jq -r 'select(.path == "/d/garden.md") | .text_rank // empty')
is "$out" "" "hybrid: the garden chunks have no text rank"
done_testing
