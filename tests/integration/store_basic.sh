#!/bin/bash
# docpipe-store: receipts and rows, re-runs, replacement, failures, deletes,
# sweep, awkward paths, an unreachable database.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
GEN="python3 $TOP/bench/store-gen.py"
cd "$T_DIR"

$GEN --docs 5 --chunks 3 --run r1 >v1.ndjson
docpipe-store -q <v1.ndjson >r1.ndjson 2>err; rc=$?
is "$rc" 0 "store exits 0"
is "$(jq -r .status r1.ndjson | sort | uniq -c | xargs)" "5 stored" "five stored receipts"
is "$(jq -c '[.run, .seq, .chunks]' r1.ndjson | head -1)" '["r1",0,3]' "receipt copies run and seq"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" 5 "five documents rows"
is "$(sql 'SELECT count(*) FROM docpipe.chunks')" 15 "fifteen chunk rows"
is "$(sql "SELECT array_to_string(heading, '|') || ' ' || tokens || ' ' || array_length(embedding::real[], 1) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '/corpus/doc1.md' AND seq = 2")" "Doc 1|Part 2 8 8" "chunk heading, tokens, vector"
is "$(sql "SELECT metadata->>'n' || ' ' || size || ' ' || extract(epoch FROM mtime)::float8 FROM docpipe.documents WHERE path = '/corpus/doc3.md'")" "3 103 1700000000.25" "document metadata, size, mtime"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'embedder'")/$(sql "SELECT value FROM docpipe.settings WHERE key = 'dim'")" "local/fh-v1/8" "settings record the corpus embedder"
# Vector exact bit for bit: first value of the first chunk.
got=$(sql "SELECT array_to_string(embedding::real[], ',') FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '/corpus/doc0.md' AND seq = 0")
head -1 v1.ndjson | python3 -c 'import sys,json,base64,struct
r = json.load(sys.stdin)
want = base64.b64decode(r["chunks"][0]["vec"])
got = struct.pack("<8f", *[float(x) for x in sys.argv[1].split(",")])
sys.exit(0 if got == want else 1)' "$got"
ok $? "vector values exact"

# Idempotent re-run.
before=$(sql "SELECT string_agg(id::text || updated_at::text, ' ' ORDER BY id) FROM docpipe.documents")
like "$before" "^1[0-9-]" "updated_at read"
$GEN --docs 5 --chunks 3 --run r2 | docpipe-store -q >r2.ndjson; rc=$?
is "$rc" 0 "re-run exits 0"
is "$(jq -r .status r2.ndjson | sort | uniq -c | xargs)" "5 unchanged" "re-run: all unchanged"
is "$(sql "SELECT string_agg(id::text || updated_at::text, ' ' ORDER BY id) FROM docpipe.documents")" "$before" "re-run: rows untouched"
is "$(sql 'SELECT count(*) FROM docpipe.chunks')" 15 "re-run: no duplicate chunks"
is "$(sql "SELECT DISTINCT last_run FROM docpipe.documents")" r2 "re-run sets last_run"

# A changed document with fewer chunks replaces its chunks.
$GEN --docs 1 --chunks 1 --version 2 --run r3 | docpipe-store -q >r3.ndjson
is "$(jq -r '.status + " " + (.chunks|tostring)' r3.ndjson)" "stored 1" "changed document stored"
is "$(sql "SELECT count(*) || ' ' || min(content) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '/corpus/doc0.md'")" "1 Document 0, chunk 0, version 2." "no leftover chunks"
# A changed chunker re-stores although the hash is the same.
$GEN --docs 1 --chunks 1 --version 2 | jq -c '.chunker = "other"' | docpipe-store -q >r4.ndjson
is "$(jq -r .status r4.ndjson)" stored "another chunker: stored again"

# A batch with bad documents: each fails alone, the rest are stored.
{
	$GEN --docs 2 --chunks 2 --start 10
	$GEN --docs 1 --chunks 2 --start 12 | jq -c '.chunks[1].vec = ("!!!!" * 11)'
	$GEN --docs 1 --chunks 2 --start 13 --dim 16
	$GEN --docs 1 --chunks 2 --start 14 | jq -c '.chunks[1].seq = 0'
	echo '{"v":1,"kind":"error","path":"/corpus/doc1.md","root":"/corpus","stage":"chunk","error":"invalid UTF-8 at byte 3","run":"r5","seq":99}'
	echo '{"broken json'
	$GEN --docs 1 --chunks 2 --start 15
} >mixed.ndjson
docpipe-store -q <mixed.ndjson >r5.ndjson; rc=$?
is "$rc" 1 "failures: exit 1"
is "$(jq -r 'select(.status == "stored") | .path' r5.ndjson | xargs)" "/corpus/doc10.md /corpus/doc11.md /corpus/doc15.md" "good documents stored"
like "$(jq -r 'select(.path == "/corpus/doc12.md") | .status + ": " + .error' r5.ndjson)" "^failed: chunk 1: vector is not valid base64" "bad vector fails alone"
like "$(jq -r 'select(.path == "/corpus/doc13.md") | .error' r5.ndjson)" "dim 16.*corpus uses local/fh-v1 \(dim 8\); re-embed" "other dim fails with reason"
like "$(jq -r 'select(.path == "/corpus/doc14.md") | .error' r5.ndjson)" "seq" "duplicate seq fails"
is "$(jq -c 'select(.seq == 99) | [.status, .stage, .error, .run]' r5.ndjson)" '["failed","chunk","invalid UTF-8 at byte 3","r5"]' "error record becomes a failed receipt"
is "$(sql "SELECT last_run FROM docpipe.documents WHERE path = '/corpus/doc1.md'")" r5 "error record for a stored path sets last_run"
like "$(jq -c 'select(.path == null)' r5.ndjson)" '"status":"failed".*input line 7' "malformed line: failed receipt, path null"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path IN ('/corpus/doc12.md','/corpus/doc13.md','/corpus/doc14.md')")" 0 "failed documents not written"

# A database-level failure inside a batch (NUL escaped in jsonb meta) fails alone.
{
	$GEN --docs 1 --chunks 1 --start 20
	$GEN --docs 1 --chunks 1 --start 21 | jq -c '.meta = {"x": "a\u0000b"}'
	$GEN --docs 1 --chunks 1 --start 22
} | docpipe-store -q >r6.ndjson
is "$(jq -r .status r6.ndjson | xargs)" "stored failed stored" "server-side failure fails one document of the batch"

# Delete records: the document goes, everything else stays as it was.
others=$(fingerprint "d.path <> '/corpus/doc10.md'")
is "$(sql "SELECT count(*) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '/corpus/doc10.md'")" 2 "the document to delete has its two chunks"
printf '%s\n' '{"v":1,"kind":"delete","path":"/corpus/doc10.md","seq":7}' | docpipe-store -q >r7.ndjson
is "$(jq -c '[.status, .seq]' r7.ndjson)" '["deleted",7]' "delete receipt"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '/corpus/doc10.md'")" 0 "deleted document gone"
is "$(fingerprint)" "$others" "every other document and chunk exactly as before"

# Sweep: only the given roots, only documents of other runs.
newdb || exit 1
$GEN --docs 3 --chunks 1 --root /a --run old | docpipe-store -q >/dev/null
$GEN --docs 2 --chunks 1 --root /a --run new | docpipe-store -q >/dev/null
$GEN --docs 2 --chunks 1 --root /a%b --run old | docpipe-store -q >/dev/null
$GEN --docs 2 --chunks 1 --root /ab --run old | docpipe-store -q >/dev/null
docpipe-store -q --sweep new /a >sweep.ndjson; rc=$?
is "$rc" 0 "sweep exits 0"
is "$(jq -r '.status + " " + .path' sweep.ndjson)" "deleted /a/doc2.md" "sweep deletes only what the run did not see"
is "$(sql "SELECT count(*) FROM docpipe.documents")" 6 "other roots untouched (/ab, /a%b)"

# Runs at the same time (overlapping nightly jobs; a watcher beside a run):
# a document another writer saw since this run's first write began exists,
# though its last_run is not this run's: the sweep keeps it.  One seen only
# before the run began is still swept.
$GEN --docs 1 --chunks 1 --root /c --start 5 --run z | docpipe-store -q >/dev/null
$GEN --docs 3 --chunks 1 --root /c --run a | docpipe-store -q >/dev/null
$GEN --docs 2 --chunks 1 --root /c --run b | docpipe-store -q >/dev/null
$GEN --docs 1 --chunks 1 --root /c --start 9 | docpipe-store -q >/dev/null
is "$(sql "SELECT string_agg(regexp_replace(path, '.*/', '') || '=' || coalesce(last_run, '-'), ' ' ORDER BY path) FROM docpipe.documents WHERE root = '/c'")" \
	"doc0.md=b doc1.md=b doc2.md=a doc5.md=z doc9.md=-" "run b and a plain pipeline wrote after run a began"
docpipe-store -q --sweep a /c >sweep-a.ndjson
is "$(jq -r .path sweep-a.ndjson | xargs)" "/c/doc5.md" \
	"run a's sweep keeps what run b and the pipeline saw since it began, deletes what only run z saw before"
docpipe-store -q --sweep b /c >sweep-b.ndjson
is "$(jq -r .path sweep-b.ndjson | xargs)" "/c/doc2.md" "run b's sweep deletes what only run a saw, before b began"

# Paths with quotes, backslashes and non-ASCII.
$GEN --docs 1 --chunks 1 | jq -c '.path = "/corpus/it'"'"'s \"q\" back\\slash é 名.md"' >odd.ndjson
docpipe-store -q <odd.ndjson >odd-r.ndjson
is "$(jq -r .path odd-r.ndjson)" "/corpus/it's \"q\" back\\slash é 名.md" "odd path in receipt"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '/corpus/it''s \"q\" back\\slash é 名.md'")" 1 "odd path stored as is"
docpipe-store -q <odd.ndjson | jq -r .status >odd-r2
is "$(cat odd-r2)" unchanged "odd path unchanged on re-run"

# Fields the documents table cannot hold fail their document naming the
# field (PostgreSQL's "bigint out of range", "timestamp out of range" and
# "unsupported Unicode escape sequence" named none: fault sweep 16).
for bad in '"size":1e400' '"size":12.5' '"size":-1' '"mtime":1e300' '"meta":{"t":["a\u0000b"]}'; do
	printf '{"v":1,"kind":"document","path":"/corpus/bad.md","root":"/corpus","hash":"hb",%s,"chunks":[{"seq":0,"text":"hi"}]}\n' "$bad"
done >badfields.ndjson
docpipe-store -q <badfields.ndjson >badfields-r.ndjson
is "$(jq -r .status badfields-r.ndjson | sort | uniq -c | tr -s ' ')" " 5 failed" "sizes, an mtime and a meta the table cannot hold: each fails"
like "$(jq -r .error badfields-r.ndjson | sed -n 1p)" '^"size" must be a whole number of bytes from 0 to 2\^53' "... naming size"
like "$(jq -r .error badfields-r.ndjson | sed -n 4p)" '^"mtime" must be seconds since 1970' "... naming mtime"
like "$(jq -r .error badfields-r.ndjson | sed -n 5p)" '^"meta" holds a U\+0000 character' "... naming meta"

# Unreachable database.
out=$(DATABASE_URL="postgresql://127.0.0.1:1/none?connect_timeout=2" docpipe-store </dev/null 2>&1); rc=$?
is "$rc" 3 "unreachable database: exit 3"
like "$out" "^docpipe-store: cannot connect to the database \(\\\$DATABASE_URL\)" "unreachable database: clear message"

# Usage.
docpipe-store --write-method nope </dev/null 2>/dev/null; is "$?" 2 "bad --write-method: exit 2"
like "$(docpipe-store --help)" "Exit status" "--help lists exit codes"
done_testing
