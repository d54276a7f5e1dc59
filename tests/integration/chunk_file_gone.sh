#!/bin/bash
# A file deleted after discover named it and before chunk read it (a
# temporary file, build output in a live tree: in a run, discover may be a
# whole window ahead of chunk).  Chunk puts a delete record in its place
# (src/chunk/chunk_stage.c, chunk_gone): the store removes what it stored
# for the path and no failure is counted, as for a file deleted while
# discover walks (README, "Faults").  Before: "file vanished since
# discovery", a failed document (exit 1 on every run over a churning tree),
# and the deleted file's document kept, marked with the run, so the
# sweep kept it too.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
numbered_docs "$D" 3 6 doc
docpipe-discover "$D" | docpipe-chunk | docpipe-embed | docpipe-store -q >/dev/null
is "$(sql 'SELECT count(*) FROM docpipe.documents')" 3 "3 documents stored"

# A pipeline: discover's records kept, doc2.md deleted before chunk reads.
RUN=gone-1
docpipe-discover --end-record "$D" >"$T_DIR/files.ndjson"
rm "$D/doc2.md"
docpipe-chunk <"$T_DIR/files.ndjson" 2>"$T_DIR/chunk.err" | jq -c ".run = \"$RUN\"" |
	docpipe-embed | docpipe-store >"$T_DIR/receipts.ndjson" 2>"$T_DIR/store.err"
is "$?/$(jq -sc 'map(select(.kind == "receipt") | [(.path | sub(".*/"; "")), .status]) | sort' "$T_DIR/receipts.ndjson")" \
	'0/[["doc1.md","unchanged"],["doc2.md","deleted"],["doc3.md","unchanged"]]' \
	"the file deleted before chunk read it: its document deleted, no failure"
like "$(cat "$T_DIR/chunk.err")" "doc2\.md: deleted since discovery" "chunk says so, naming it"
docpipe-store --sweep "$RUN" --require-end "$T_DIR/receipts.ndjson" "$D" >/dev/null 2>"$T_DIR/sweep.err"
is "$?/$(sql "SELECT string_agg(regexp_replace(path, '.*/', ''), ',' ORDER BY path) FROM docpipe.documents")/$(sql 'SELECT count(*) FROM docpipe.failures')" \
	"0/doc1.md,doc3.md/0" "after the sweep the store holds the files that exist, no failure kept"

# A run: chunk's --convert command for *.txt deletes doc3.md, which
# discover has named by then (or not yet: it is then no record at all).
printf 'x\n' >"$D/a.txt"
CONV="txt=rm -f $D/doc3.md; printf '# A\n\nconverted\n'"
docpipe run "$D" --progress none --opt "chunk=--convert=$CONV" >"$T_DIR/run.json" 2>"$T_DIR/run.err"
is "$?/$(jq -c '[.failed, .sweep]' "$T_DIR/run.json")" '0/[0,"done"]' \
	"docpipe run whose file is deleted under it: exit 0, nothing failed, swept"
is "$(sql "SELECT string_agg(regexp_replace(path, '.*/', ''), ',' ORDER BY path) FROM docpipe.documents")" \
	"a.txt,doc1.md" "the deleted file's document is gone, the others stored"
done_testing
