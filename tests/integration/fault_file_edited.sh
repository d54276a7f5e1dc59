#!/bin/bash
# A file edited after discover hashed it and before chunk read it (a live
# notes folder, a docs tree being built: in a run, discover may be a whole
# window ahead of chunk).  Chunk takes the version it read, the record's
# hash, size and mtime its own, said on stderr (src/chunk/chunk_stage.c,
# chunk_check_sum); the next run finds it unchanged.  Before: an error
# record "file changed since discovery", a failed document, so a run over
# a tree someone edits exited 1, and the edit waited for the next run.
# Bytes read through a symbolic link put in the file's place must still be
# discover's: such a link is never taken.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
numbered_docs "$D" 3 6 doc

# A pipeline: discover's records kept, doc2.md edited before chunk reads.
docpipe-discover "$D" >"$T_DIR/files.ndjson"
printf '# Edited\n\nwords written after discover read the file\n' >"$D/doc2.md"
docpipe-chunk <"$T_DIR/files.ndjson" 2>"$T_DIR/chunk.err" | docpipe-embed |
	docpipe-store >"$T_DIR/receipts.ndjson" 2>"$T_DIR/store.err"
is "$?/$(jq -sc 'map(select(.kind == "receipt") | .status) | sort' "$T_DIR/receipts.ndjson")" \
	'0/["stored","stored","stored"]' "the file edited before chunk read it: stored, no failure"
like "$(cat "$T_DIR/chunk.err")" "doc2\.md: changed since discovery \([0-9]+ bytes now, [0-9]+ then\): the version read is taken" \
	"chunk says so, naming it"
is "$(sql "SELECT c.content FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path LIKE '%/doc2.md'")" \
	"$(printf '# Edited\n\nwords written after discover read the file')" "the version read is stored"
docpipe-discover "$D" | docpipe-chunk | docpipe-embed | docpipe-store >"$T_DIR/receipts2.ndjson" 2>/dev/null
is "$?/$(jq -sc 'map(select(.kind == "receipt") | .status) | unique' "$T_DIR/receipts2.ndjson")" '0/["unchanged"]' \
	"the next pass: every document unchanged (the stored hash is the file's)"

# A run: chunk's --convert command for *.txt appends to doc3.md, which
# discover has named by then (or not yet: then it reads the edit itself).
printf 'x\n' >"$D/a.txt"
CONV="txt=printf '\nappended during the run\n' >>$D/doc3.md; printf '# A\n\nconverted\n'"
docpipe run "$D" --progress none --opt "chunk=--convert=$CONV" >"$T_DIR/run.json" 2>"$T_DIR/run.err"
is "$?/$(jq -c '[.failed, .sweep]' "$T_DIR/run.json")" '0/[0,"done"]' \
	"docpipe run whose file is edited under it: exit 0, nothing failed, swept"
like "$(sql "SELECT string_agg(c.content, ' ') FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path LIKE '%/doc3.md'")" \
	"appended during the run" "the edit is stored"
rm "$D/a.txt"
docpipe run "$D" --progress none >"$T_DIR/run2.json" 2>"$T_DIR/run2.err"
is "$?/$(jq -c '[.added, .updated, .unchanged, .failed]' "$T_DIR/run2.json")" '0/[0,0,3,0]' \
	"the next run: the three Markdown files unchanged"

# A symbolic link to another file put in doc1.md's place: not read.
docpipe-discover "$D" >"$T_DIR/files3.ndjson"
printf 'secret\n' >"$T_DIR/other.txt"
rm "$D/doc1.md" && ln -s "$T_DIR/other.txt" "$D/doc1.md"
docpipe-chunk <"$T_DIR/files3.ndjson" >"$T_DIR/chunked3.ndjson" 2>/dev/null
like "$(jq -c 'select(.path | endswith("/doc1.md")) | [.kind, .error]' "$T_DIR/chunked3.ndjson")" \
	'^\["error","file changed since discovery: 7 bytes now, [0-9]+ then \(read through a symbolic link: not taken\)"\]$' \
	"a link put in the file's place with other bytes: an error record, nothing read"
done_testing
