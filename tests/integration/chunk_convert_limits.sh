#!/bin/bash
# The converters' cost on documents built to defeat them
# (tests/integration/gen_convert_limits.py writes them): the work stays
# linear in the document, and what would not fit the limits fails with an
# error record naming the part and the limit while the run goes on.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail

D=$T_DIR/docs
mkdir -p "$D"
gen() { python3 "$TOP/tests/integration/gen_convert_limits.py" "$D" "$@" >/dev/null; }

# An EPUB of 20,000 chapters: each itemref was looked up by a scan of the
# manifest (40,000 chapters: 20 s); now from an index built once.
gen spine-epub 20000
# 4096 styles and 50,000 paragraphs: each paragraph's style was searched
# for in a list.
gen docx-styles 50000

docpipe-discover "$D" >"$T_DIR/files" 2>/dev/null
docpipe-chunk <"$T_DIR/files" >"$T_DIR/out" 2>/dev/null
is "$?" 0 "every document converted"
rec() { jq -c --arg p "$D/$1" "select(.path == \$p) | $2" "$T_DIR/out"; }
is "$(rec spine-epub-20000.epub '[.kind, ([.chunks[].text | scan("chapter")] | length)]')" \
	'["document",20000]' "EPUB of 20,000 spine items: every chapter read"
is "$(rec docx-styles-50000.docx '[.kind, ([.chunks[].text | scan("(?m)^#+ .*")] | join(","))]')" \
	'["document","## Last"]' "DOCX of 4096 styles: the last one still a heading"

done_testing
