#!/bin/bash
# An image's alt text is part of the text in HTML and EPUB (README
# "Formats"): a figure's alt text is often its only words (the rust book's
# diagrams: "Lists b and c both pointing to list a ..."), and the converters
# kept none of it.  The files are in tests/data/formats-images (README there).
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail

D=$TOP/tests/data/formats-images
for f in figures.html figures.epub; do
	printf '{"v":1,"kind":"file","path":"%s/%s"}\n' "$D" "$f"
done | docpipe-chunk >"$T_DIR/out" 2>"$T_DIR/err"
is "$?" 0 "every document chunked"
text() { jq -r --arg p "$D/$1" 'select(.path == $p) | [.chunks[].text] | join("\n\n")' "$T_DIR/out"; }

# holds TEXT PART NAME: PART is in TEXT as written, newlines included.
holds() {
	if [[ $1 == *"$2"* ]]; then ok 0 "$3"; else ok 1 "$3"; printf '#   got: %s\n# wanted: %s\n' "$1" "$2"; fi
}
for f in figures.html figures.epub; do
	t=$(text "$f")
	holds "$t" $'figure shows.\n\nLists b and c both pointing to list a, which holds 5 and 10\n\nA pointer' \
		"$f: a figure's alt text is a paragraph of its own"
	holds "$t" "A pointer in a sentence a key icon stays in its sentence." \
		"$f: an image in a sentence gives its alt text in its place, apart from the words beside it"
	holds "$t" $'- Press the button the green run button to start.\n- A decorative image:' \
		"$f: in a list item too; an image without alt text adds nothing"
done
is "$(jq -r '.chunker | split(" ")[0]' "$T_DIR/out" | tr '\n' ' ')" "html-v3 epub-v3 " \
	"the converters' identity is new: stored documents are chunked again"
done_testing
