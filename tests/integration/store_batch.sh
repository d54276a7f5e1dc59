#!/bin/bash
# docpipe-store: several records for one path in one batch (the later one
# wins, receipts tell the truth; the batch is made with a table lock, not
# timing), documents that fail keep their stored
# version through a sweep, sweep roots given relative.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
GEN="python3 $TOP/bench/store-gen.py"
cd "$T_DIR"

content() { sql "SELECT string_agg(content, '|' ORDER BY seq) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '$1'"; }

# one_batch FILE RECEIPTS: feeds the records of FILE to a store so that
# they are written as one batch, whatever the timing: the store writes a
# filler document first and blocks on a table lock held here; FILE's
# records are then queued (its input thread has read to the end and
# exited) before the lock is released.
# The filler's run is new at each call: the wait for it to be stored is
# what shows the store's threads all started (with the run of an earlier
# call the wait ended at once, the threads were counted before the store
# had started its own, and its input thread's end was never seen).
fewer_threads() { [ "$(ls /proc/$1/task 2>/dev/null | wc -l)" -lt "$2" ]; }
BATCHES=0
one_batch() {
	local fifo=$T_DIR/fifo lockin=$T_DIR/lock pid threads warm=warm$((BATCHES += 1))
	rm -f "$fifo" "$lockin"; mkfifo "$fifo" "$lockin"
	docpipe-store -q <"$fifo" >"$2" &
	pid=$!
	exec 3>"$fifo"
	$GEN --docs 1 --chunks 1 --start 200 --run $warm >&3
	wait_for 30 sql_ge "SELECT count(*) FROM docpipe.documents WHERE path = '/corpus/doc200.md' AND last_run = '$warm'" 1 ||
		diag "the store did not take its first record"
	threads=$(ls /proc/$pid/task | wc -l)
	psql -X -q <"$lockin" >/dev/null 3>&- &
	exec 4>"$lockin"
	echo "BEGIN; LOCK TABLE docpipe.documents IN EXCLUSIVE MODE; SELECT 1;" >&4
	wait_for 30 sql_ge "SELECT count(*) FROM pg_locks WHERE relation = 'docpipe.documents'::regclass AND mode = 'ExclusiveLock' AND granted" 1
	$GEN --docs 1 --chunks 1 --start 201 --run $warm >&3
	wait_for 30 sql_ge "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()" 1
	ok $? "the store's writer waits on the lock with a filler document"
	cat "$1" >&3
	exec 3>&-
	wait_for 30 fewer_threads $pid "$threads"
	ok $? "the store's input thread has queued every record and ended"
	echo "COMMIT;" >&4
	exec 4>&-
	wait $pid
}

$GEN --docs 1 --chunks 1 --version 1 --run r1 | docpipe-store -q >/dev/null
{
	$GEN --docs 1 --chunks 1 --version 2 --run r2
	$GEN --docs 1 --chunks 1 --version 1 --run r2
} >twice.ndjson
one_batch twice.ndjson twice-r.ndjson; rc=$?
is "$rc" 0 "same path twice in a batch: exit 0"
is "$(content /corpus/doc0.md)" "Document 0, chunk 0, version 1." "the later record of a path wins"
is "$(jq -r 'select(.path == "/corpus/doc0.md") | .status' twice-r.ndjson | xargs)" "stored stored" \
	"both receipts say stored"
is "$(sql "SELECT content_hash FROM docpipe.documents WHERE path = '/corpus/doc0.md'")" \
	"$(tail -1 twice.ndjson | jq -r .hash)" "stored hash is the later record's"

# A delete then the same document, unchanged against the database.
{
	echo '{"v":1,"kind":"delete","path":"/corpus/doc0.md"}'
	$GEN --docs 1 --chunks 1 --version 1 --run r3
} >del.ndjson
one_batch del.ndjson del-r.ndjson
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
mkdir -p "$T_DIR/tree" # docs/ itself not there: its files are gone (an empty root is kept)
$GEN --docs 2 --chunks 1 --root "$T_DIR/tree/docs" --run old | docpipe-store -q >/dev/null
$GEN --docs 1 --chunks 1 --root "$T_DIR/tree/docs" --run new | docpipe-store -q >/dev/null
(cd "$T_DIR/tree" && docpipe-store -q --sweep new ./docs//) >rel.ndjson; rc=$?
is "$rc" 0 "relative sweep root: exit 0"
is "$(jq -r .path rel.ndjson)" "$T_DIR/tree/docs/doc1.md" "relative sweep root sweeps the absolute root"
done_testing
