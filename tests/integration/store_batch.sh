#!/bin/bash
# docpipe-store: several records for one path in one batch (the later one
# wins, receipts tell the truth), documents that fail keep their stored
# version through a sweep, sweep roots given relative.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
GEN="python3 $TOP/bench/store-gen.py"
cd "$T_DIR"

content() { sql "SELECT string_agg(content, '|' ORDER BY seq) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '$1'"; }

# The filler documents come first so that the records after them arrive
# while the first batch is being written, and are taken as one batch.
filler() { $GEN --docs 5 --chunks 1 --start 100 --version "$1" --run "$2"; }

$GEN --docs 1 --chunks 1 --version 1 --run r1 | docpipe-store -q >/dev/null
{
	filler 1 r2
	$GEN --docs 1 --chunks 1 --version 2 --run r2
	$GEN --docs 1 --chunks 1 --version 1 --run r2
} >twice.ndjson
docpipe-store -q <twice.ndjson >twice-r.ndjson; rc=$?
is "$rc" 0 "same path twice in a batch: exit 0"
is "$(content /corpus/doc0.md)" "Document 0, chunk 0, version 1." "the later record of a path wins"
is "$(jq -r 'select(.path == "/corpus/doc0.md") | .status' twice-r.ndjson | xargs)" "stored stored" \
	"both receipts say stored"
is "$(sql "SELECT content_hash FROM docpipe.documents WHERE path = '/corpus/doc0.md'")" \
	"$(tail -1 twice.ndjson | jq -r .hash)" "stored hash is the later record's"

# A delete then the same document, unchanged against the database.
{
	filler 2 r3
	echo '{"v":1,"kind":"delete","path":"/corpus/doc0.md"}'
	$GEN --docs 1 --chunks 1 --version 1 --run r3
} | docpipe-store -q >del-r.ndjson
is "$(jq -r 'select(.path == "/corpus/doc0.md") | .status' del-r.ndjson | xargs)" "deleted stored" \
	"delete then document: deleted, stored"
is "$(content /corpus/doc0.md)" "Document 0, chunk 0, version 1." "document present after delete + store"

# A document the store refuses keeps its stored version through a sweep:
# the file exists, it only failed this time (like an error record).
newdb || exit 1
$GEN --docs 2 --chunks 1 --root /s --run r1 | docpipe-store -q >/dev/null
{
	$GEN --docs 1 --chunks 1 --root /s --run r2 --version 2
	$GEN --docs 1 --chunks 1 --root /s --run r2 --version 2 --start 1 --dim 16
} | docpipe-store -q >fail-r.ndjson; rc=$?
is "$rc" 1 "a refused document: exit 1"
is "$(jq -r .status fail-r.ndjson | xargs)" "stored failed" "stored, failed"
docpipe-store -q --sweep r2 /s >sweep.ndjson; rc=$?
is "$rc" 0 "sweep exits 0"
is "$(jq -r .path sweep.ndjson)" "" "sweep keeps the document that failed this run"
is "$(content /s/doc1.md)" "Document 1, chunk 0, version 1." "its stored version is intact"

# A document that fails in the database (not in validation) also keeps it.
{
	$GEN --docs 1 --chunks 1 --root /s --run r3 --version 3
	$GEN --docs 1 --chunks 1 --root /s --run r3 --version 3 --start 1 | jq -c '.meta = {"x": "a\u0000b"}'
} | docpipe-store -q >fail3-r.ndjson
is "$(jq -r .status fail3-r.ndjson | xargs)" "stored failed" "database-side failure: stored, failed"
docpipe-store -q --sweep r3 /s >sweep3.ndjson
is "$(jq -r .path sweep3.ndjson)" "" "sweep keeps a document that failed in the database"

# Sweep roots are taken as discover takes them: relative to the working
# directory, "." and repeated slashes removed.
newdb || exit 1
mkdir -p "$T_DIR/tree/docs"
$GEN --docs 2 --chunks 1 --root "$T_DIR/tree/docs" --run old | docpipe-store -q >/dev/null
$GEN --docs 1 --chunks 1 --root "$T_DIR/tree/docs" --run new | docpipe-store -q >/dev/null
(cd "$T_DIR/tree" && docpipe-store -q --sweep new ./docs//) >rel.ndjson; rc=$?
is "$rc" 0 "relative sweep root: exit 0"
is "$(jq -r .path rel.ndjson)" "$T_DIR/tree/docs/doc1.md" "relative sweep root sweeps the absolute root"
done_testing
