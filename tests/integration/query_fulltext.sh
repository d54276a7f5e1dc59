#!/bin/bash
# The full-text index: a database stored before it existed is migrated in
# place by the next docpipe-store; --text-config simple for text that is not
# English (words English drops as stop words, non-ASCII letters).
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail
newdb || exit 1

# The schema as docpipe-store created it before the full-text index, with
# one stored document.
V=$(f32_base64 1 0 0 0)
psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE SCHEMA docpipe;
CREATE TABLE docpipe.settings (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE docpipe.documents (id bigserial PRIMARY KEY, path text UNIQUE NOT NULL, root text,
  content_hash text, fingerprint text, summary text, summarizer text, chunker text, embedder text,
  dim int, chunk_count int, size bigint, mtime timestamptz, metadata jsonb, last_run text,
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX documents_root ON docpipe.documents (root);
CREATE TABLE docpipe.chunks (document_id bigint NOT NULL REFERENCES docpipe.documents(id) ON DELETE CASCADE,
  seq int NOT NULL, content text NOT NULL, heading text[], tokens int, summary text,
  embedding real[], PRIMARY KEY (document_id, seq));
ALTER TABLE docpipe.chunks ADD COLUMN byte_start bigint, ADD COLUMN byte_end bigint,
  ADD COLUMN line_start int, ADD COLUMN line_end int, ADD COLUMN page_start int, ADD COLUMN page_end int;
INSERT INTO docpipe.settings VALUES ('vector_type', 'real[]'), ('embedder', 'local/fh-v1'), ('dim', '4');
INSERT INTO docpipe.documents (path, root, content_hash, embedder, dim, chunk_count)
  VALUES ('/old/keys.md', '/old', 'h', 'local/fh-v1', 4, 2);
INSERT INTO docpipe.chunks (document_id, seq, content, heading, tokens, summary, embedding)
  VALUES (1, 0, 'Rotate the signing keys every quarter.', '{Security,Keys}', 8, NULL, '{1,0,0,0}'),
  (1, 1, 'Unrelated text about gardening.', '{Garden}', 5, 'A chunk summary mentioning quarterly audits.', '{0,1,0,0}');
SQL
out=$(docpipe-query --json --vector "$V" keys 2>err); rc=$?
is "$rc/$(jq -s length <<<"$out")" "0/2" "before migration: hybrid answers with the vector side"
like "$(cat err)" "notice: no full-text index" "before migration: a notice says so"
docpipe-query --mode text keys >/dev/null 2>&1; is "$?" 1 "before migration: text mode: exit 1"

docpipe-store -q </dev/null; is "$?" 0 "the next docpipe-store migrates in place"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_config'")" english "text config recorded: english by default"
is "$(sql "SELECT count(*) FROM pg_indexes WHERE schemaname = 'docpipe' AND indexdef LIKE '%USING gin (tsv)%'")" 1 "GIN index created"
is "$(sql "SELECT count(*) FROM docpipe.chunks WHERE tsv IS NOT NULL")" 2 "existing chunks indexed"
is "$(sql "SELECT tsv::text FROM docpipe.chunks WHERE seq = 0")" "'everi':8 'key':2A,3B,7 'quarter':9 'rotat':4 'secur':1A 'sign':6" \
	"heading weighted A, the path's words (keys) B, text stemmed"
out=$(docpipe-query --mode text --json rotating 2>&1)
is "$(jq -r '[.path, .seq] | join(" ")' <<<"$out")" "/old/keys.md 0" "old chunk found by text after migration"
is "$(docpipe-query --mode text --json audits | jq -r .seq)" 1 "the chunk summary is indexed"
is "$(docpipe-query --mode text --json security | jq -r '.text_rank, .seq' | paste -sd ' ')" "1 0" "the heading path is indexed"
docpipe-store -q </dev/null; is "$(sql "SELECT count(*) FROM pg_attribute WHERE attrelid = 'docpipe.chunks'::regclass AND attname = 'tsv'")" 1 "a second run changes nothing"

# German text: English drops 'was' as a stop word; simple keeps every word.
printf '%s\n' '{"v":1,"kind":"document","path":"/de/preis.md","root":"/de","hash":"d","chunker":"t","embedder":"local/fh-v1","dim":4,"chunks":[{"seq":0,"text":"Was kostet die Größe XL? Die Preise stehen unten.","vec":"'"$V"'"}]}' | docpipe-store -q >/dev/null
docpipe-query --mode text was >/dev/null 2>&1; is "$?" 2 "english: 'was' is no search term"
docpipe-store -q --text-config simple </dev/null; is "$?" 0 "--text-config simple re-indexes"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_config'")" simple "text config recorded: simple"
is "$(docpipe-query --mode text --json was | jq -r .path)" /de/preis.md "simple: 'was' found"
is "$(docpipe-query --mode text --json 'GRÖSSE größe' | jq -r .path | head -1)" /de/preis.md "simple: non-ASCII word found, case folded"
is "$(docpipe-query --mode text --json rotating | jq -r .path)" "" "simple: no English stemming any more"
out=$(docpipe-store -q --text-config nosuchconfig </dev/null 2>&1); rc=$?
like "$rc: $out" "^3: docpipe-store: --text-config: 'nosuchconfig' is not a text search configuration" "unknown --text-config: clear error"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_config'")" simple "unknown --text-config: nothing changed"
done_testing
