#!/bin/bash
# A converted document's own title heads its heading paths, as a Markdown
# file's front matter title does (README "Formats"): HTML <title>, EPUB
# dc:title, DOCX docProps/core.xml and ODT meta.xml dc:title, PDF Info
# Title.  The converters put it into meta only, so a page whose sections
# are h2s gave paths without its name ("Setting up" alone).  No title is
# made up where the document has none (as for Markdown).  The files are in
# tests/data/formats-titles (README there).
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail

D=$TOP/tests/data/formats-titles
printf '{"v":1,"kind":"file","path":"%s"}\n' "$D/guide.md" "$D/guide.html" "$D/guide.epub" "$D/guide.docx" \
	"$D/guide.odt" "$D/guide.pdf" | docpipe-chunk --min-tokens 0 >"$T_DIR/out" 2>"$T_DIR/err"
is "$?" 0 "every document chunked"
paths() { jq -c --arg p "$D/$1" 'select(.path == $p) | [.chunks[].heading]' "$T_DIR/out"; }

want=$(paths guide.md)
for f in guide.html guide.epub guide.docx guide.odt; do
	is "$(paths "$f")" "$want" "$f: the title heads every path, as guide.md's front matter title does"
done
is "$(paths guide.pdf)" '[["Field guide"]]' "guide.pdf: the Info Title heads the path of a PDF without headings"
is "$(jq -r '.chunker | split(" ")[0]' "$T_DIR/out" | tr '\n' ' ')" "md4c-v3 html-v4 epub-v4 docx-v4 odt-v3 pdf-v3 " \
	"the converters' identity is new: stored documents are chunked again"
done_testing
