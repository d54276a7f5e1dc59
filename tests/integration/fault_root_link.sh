#!/bin/bash
# A root given as a symbolic link to a file (`docpipe run current.md` with
# current.md -> release-2.md, as a root that is a link to a directory is
# taken).  discover follows the roots it is given; chunk read every path
# with O_NOFOLLOW, so the document failed "file is now a symbolic link; not
# followed" on every run (exit 1).  Now chunk reads through the link when
# its bytes are the ones discover hashed (src/chunk/chunk_stage.c,
# chunk_open_file); the document keeps the link's path.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
mkdir -p "$D"
printf '# Release one\n\nthe first release notes\n' >"$D/release-1.md"
printf '# Release two\n\nthe second release notes\n' >"$D/release-2.md"
ln -s release-1.md "$T_DIR/current.md"
ln -s docs/release-1.md "$T_DIR/abs.md"
ln -s "$T_DIR/abs.md" "$T_DIR/chain.md"

stored() { sql "SELECT string_agg(c.content, ' ') FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '$1'"; }

ln -sf docs/release-1.md "$T_DIR/current.md"
docpipe run "$T_DIR/current.md" --progress none >"$T_DIR/run1.json" 2>"$T_DIR/run1.err"
is "$?/$(jq -c '[.added, .failed, .sweep]' "$T_DIR/run1.json")" '0/[1,0,"done"]' \
	"docpipe run over a link to a file: exit 0, stored, swept" || diag "$(jq -c .failures "$T_DIR/run1.json")"
like "$(stored "$T_DIR/current.md")" "the first release notes" "stored under the link's path, the target's text"
docpipe run "$T_DIR/current.md" --progress none >"$T_DIR/run2.json" 2>/dev/null
is "$?/$(jq -c '[.unchanged, .failed]' "$T_DIR/run2.json")" '0/[1,0]' "the next run: unchanged"

ln -sfn docs/release-2.md "$T_DIR/current.md"
docpipe run "$T_DIR/current.md" --progress none >"$T_DIR/run3.json" 2>/dev/null
is "$?/$(jq -c '[.updated, .failed]' "$T_DIR/run3.json")" '0/[1,0]' "the link switched to another file: updated"
like "$(stored "$T_DIR/current.md")" "the second release notes" "the new target's text stored"

# A pipeline, a link to a link.
docpipe-discover "$T_DIR/chain.md" | docpipe-chunk >"$T_DIR/chain.ndjson" 2>"$T_DIR/chain.err"
is "$?/$(jq -c '[.kind, .path == $p, .chunks[0].text]' --arg p "$T_DIR/chain.md" "$T_DIR/chain.ndjson")" \
	'0/["document",true,"# Release one\n\nthe first release notes"]' "a chain of links as a root: chunked"
done_testing
