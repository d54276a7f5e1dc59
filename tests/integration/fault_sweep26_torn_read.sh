#!/bin/bash
# A file rewritten in place while docpipe-chunk reads it (an editor or a
# tool that saves without truncating, a download's pieces): the read got
# the first half of one version and the rest of the next, a text the file
# never held, and chunk took it ("changed since discovery: the version read
# is taken"): stored as if it were a version, until the next run (fault
# sweep 26: 37 reads of 40 under a rewriter).  Now a read is taken only
# when its bytes are discover's or the next whole read's; a file that
# keeps changing under 3 reads fails with the reason, and its stored
# version (if any) stays whole.  tests/lib/midread.c rewrites the file at
# the same point of every cut read.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
if ! ${CC:-cc} -shared -fPIC -O1 -o "$T_DIR/midread.so" "$TOP/tests/lib/midread.c" -ldl 2>"$T_DIR/cc.err"; then
	diag "$(cat "$T_DIR/cc.err")"
	skip "no C compiler for tests/lib/midread.c"
	done_testing
fi
D=$T_DIR/docs
mkdir -p "$D"
# Two versions of one size, every line naming its version.
version() { awk -v v="$1" 'BEGIN { for (i = 0; i < 4000; i++) printf "Line %05d of version %s.\n\n", i, v }'; }
version AAAA >"$T_DIR/A"
version BBBB >"$T_DIR/B"
cp "$T_DIR/A" "$D/doc.md"
docpipe-discover "$D" >"$T_DIR/files.ndjson"
# chunk under the rewriter: MIDREAD_TIMES reads of the file cut (0: all).
torn_chunk() {
	LD_PRELOAD="$T_DIR/midread.so${LD_PRELOAD:+ $LD_PRELOAD}" MIDREAD_FILE="$D/doc.md" MIDREAD_WITH="$T_DIR/B" \
		MIDREAD_TIMES=$1 ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		docpipe-chunk <"$T_DIR/files.ndjson" 2>"$T_DIR/chunk.err"
}
stored_versions() {
	sql "SELECT coalesce(string_agg(DISTINCT substring(content from 'version ([A-Z]+)'), ','), '')
		FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '$D/doc.md'"
}

# Rewritten once, in the middle of chunk's first read.
torn_chunk 1 | docpipe-embed | docpipe-store >"$T_DIR/receipts" 2>"$T_DIR/store.err"
is "$?/$(jq -r .status "$T_DIR/receipts")" 0/stored "rewritten during the read: stored"
is "$(grep -c '^midread: rewrote' "$T_DIR/chunk.err")" 1 "the file was rewritten during chunk's read"
is "$(stored_versions)" BBBB "the version the file holds after the rewrite is stored, no line of the other"
is "$(sql "SELECT content_hash FROM docpipe.documents")" "$(docpipe-discover "$D" | jq -r .hash)" \
	"its hash is the file's"

# Rewritten during every read: it fails, naming why; the stored version
# stays whole.
cp "$T_DIR/A" "$D/doc.md"
docpipe-discover "$D" >"$T_DIR/files.ndjson"
torn_chunk 0 | docpipe-embed | docpipe-store >"$T_DIR/receipts" 2>"$T_DIR/store.err"
is "$?/$(jq -c '[.status, .error]' "$T_DIR/receipts")" \
	'1/["failed","file changed while being read, 3 times in a row (the last read: 116000 bytes, its size 116000)"]' \
	"rewritten during every read: failed with the reason"
is "$(stored_versions)" BBBB "the stored version is untouched"
cp "$T_DIR/A" "$D/doc.md"
docpipe-discover "$D" | docpipe-chunk | docpipe-embed | docpipe-store >"$T_DIR/receipts" 2>"$T_DIR/store.err"
is "$?/$(jq -r .status "$T_DIR/receipts")/$(stored_versions)" 0/stored/AAAA "the next pass, the file still: stored"
done_testing
