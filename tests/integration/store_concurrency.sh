#!/bin/bash
# docpipe-store under concurrency: a reader never sees half a replaced
# document; two stores fed the same documents leave one copy of each.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
GEN="python3 $TOP/bench/store-gen.py"
cd "$T_DIR"

$GEN --docs 1 --chunks 6 --version 1 >v1.ndjson
$GEN --docs 1 --chunks 2 --version 2 >v2.ndjson
docpipe-store -q <v1.ndjson >/dev/null
id=$(sql "SELECT id FROM docpipe.documents")
for i in $(seq 200); do echo "SELECT count(*) FROM docpipe.chunks WHERE document_id = $id;"; done >reader.sql
(while [ ! -f writers-done ]; do psql -X -q -A -t -f reader.sql; done >counts) &
reader=$!
for i in $(seq 15); do
	docpipe-store -q <v2.ndjson >/dev/null
	docpipe-store -q <v1.ndjson >/dev/null
done
touch writers-done
wait $reader
diag "$(wc -l <counts) counts read during 30 replacements"
is "$(sort -u counts | xargs)" "2 6" "a reader sees the old or the new chunks, never a mix"
is "$(sql "SELECT count(*) FROM docpipe.documents")" 1 "one document row throughout"

# Two stores fed the same documents at once: the database is the one a
# single store makes.
newdb || exit 1
$GEN --docs 300 --chunks 4 >same.ndjson
docpipe-store -q <same.ndjson >/dev/null
ok $? "a single store of the documents"
want=$(fingerprint)
newdb || exit 1
docpipe-store -q <same.ndjson >a.ndjson & a=$!
docpipe-store -q <same.ndjson >b.ndjson & b=$!
wait $a; ra=$?
wait $b; rb=$?
is "$ra/$rb" "0/0" "both stores exit 0"
is "$(fingerprint)" "$want" "the database is the single store's: one copy of each document and chunk, same content"
is "$(cat a.ndjson b.ndjson | jq -r .status | sort | uniq -c | awk '$2 == "failed"' | wc -l)" 0 "no failed receipts"
is "$(cat a.ndjson b.ndjson | wc -l | xargs)" 600 "one receipt per record each"
done_testing
