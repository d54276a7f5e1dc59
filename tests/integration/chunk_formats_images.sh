#!/bin/bash
# An image's alt text is part of the text in HTML and EPUB (README
# "Formats"): a figure's alt text is often its only words (the rust book's
# diagrams: "Lists b and c both pointing to list a ..."), and the converters
# kept none of it.  The files are in tests/data/formats-images (README there).
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail

D=$TOP/tests/data/formats-images
chunk_files "$D" figures.html figures.epub
is "$?" 0 "every document chunked"

for f in figures.html figures.epub; do
	t=$(chunks_text "$f")
	contains "$t" $'figure shows.\n\nLists b and c both pointing to list a, which holds 5 and 10\n\nA pointer' \
		"$f: a figure's alt text is a paragraph of its own"
	contains "$t" "A pointer in a sentence a key icon stays in its sentence." \
		"$f: an image in a sentence gives its alt text in its place, apart from the words beside it"
	contains "$t" $'- Press the button the green run button to start.\n- A decorative image:' \
		"$f: in a list item too; an image without alt text adds nothing"
done
is "$(jq -r '.chunker | split(" ")[0]' "$T_DIR/out" | tr '\n' ' ')" "html-v4 epub-v4 " \
	"the converters' identity is new: stored documents are chunked again"
done_testing
