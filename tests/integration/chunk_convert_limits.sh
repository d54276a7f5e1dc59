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
# size RELEASE ASAN: a document's size in this pass.  The documents built
# against a quadratic scan are checked for their cost in the release pass;
# the ASan pass runs the same code over a hundredth of them (3.4 of its
# 29 s of CPU in chunk spared).  Those over the node limit keep their size
# in both: their refusals are reached past it only.
size() { if [ "${DOCPIPE_VARIANT:-release}" = release ]; then echo "$1"; else echo "$2"; fi; }
SPINE=$(size 20000 200) STYLED=$(size 50000 500)
# Past the node limit (CONV_MAX_NODES, 2 Mi): in the ASan pass, the limit
# a hundredth (20,000: docpipe-chunk's test hook DOCPIPE_TEST_MAX_NODES)
# and the documents a hundredth, the same refusals and the same streamed
# book past it (37 s of ASan CPU in chunk went to these documents).
LIMIT=$(size 2097152 20000) MAX_NODES=$(size "" 20000)
PARAS=$(size 2200000 22000) HALF=$(size 1100000 11000) BOOK=$(size 25000 250)

# An EPUB of 20,000 chapters: each itemref was looked up by a scan of the
# manifest (40,000 chapters: 20 s); now from an index built once.  They
# name one entry (CONV_ZIP_MAX_ENTRIES), which is read once: 5000 items
# naming one 1 MB chapter read it 5000 times (chunk_memory.sh).
gen spine-epub "$SPINE"
# 4096 styles and 50,000 paragraphs: each paragraph's style was searched
# for in a list.
gen docx-styles "$STYLED"

# Trees past CONV_MAX_NODES (2 Mi nodes): the byte limits let these build
# gigabytes (10M <w:p/> in an 87 KB DOCX: 1.4 GB; 7M <p>a</p> in an 82 KB
# EPUB: 2.4 GB; 2M <p>a</p> in 16 MB of HTML: 0.8 GB).
gen docx-paras "$PARAS"
# The same in one content control: one block of the body, built whole.
gen docx-sdt "$PARAS"
# A long book as Word writes it: 25 MB of word/document.xml, 2.4 million
# nodes.  Its tree was refused at the node limit; the body now streams, one
# block at a time (87 MB peak for 30 MB, where the tree took 445 MB).
gen docx-book "$BOOK"
gen epub-paras "$HALF"
gen html-paras "$HALF"
# A spine listing its own 3.6 MB package document 1000 times: read once
# (each read built its tree again, 16 times until the ZIP budget ran out).
gen epub-opf 1000
# A DOCX citing its one note in each of 20,000 paragraphs: the note's
# text followed every citation (100,000 made 256 MiB of text and 820 MB,
# then an error message of garbage); now its first one only.
gen docx-notes "$(size 20000 200)"
# An element of 257 attributes (CONV_MAX_ATTRS 256): libxml2 checks each
# against those before it, so 300,000 (a 4 MB page, a DOCX of a few KB)
# ran for minutes; refused before the parse now, 256 still read.
gen docx-attrs 257
gen html-attrs 257
gen html-attrs 256
# An ODT paragraph of 2000 <text:s text:c="1000"/>: 46 KB of XML, 2 MB of
# spaces (300,000 in a 17 KB ODT made 256 MiB, 400 MB of memory, then an
# error message of garbage).  A container's text is bounded by 4 times its
# entries plus 1 MiB now.
gen odt-spaces 2000
printf '<p>fine</p>' >"$D/z-fine.html"

docpipe-discover "$D" >"$T_DIR/files" 2>/dev/null
# Those past the node limit and the fine one after them, under the lower
# limit in the ASan pass; the others (the OPF of 3.6 MB is 20,000 nodes and
# more) under the limit in use.
NODE_DOCS='docx-paras|docx-sdt|docx-book|epub-paras|html-paras|z-fine'
grep -E "$NODE_DOCS" "$T_DIR/files" | DOCPIPE_TEST_MAX_NODES=$MAX_NODES docpipe-chunk >"$T_DIR/out" 2>/dev/null
rc=$?
grep -vE "$NODE_DOCS" "$T_DIR/files" | docpipe-chunk >>"$T_DIR/out" 2>/dev/null
is "$rc/$?" 1/1 "exit 1 twice: documents failed (past the node limit; too many attributes), the rest converted"
rec() { jq -c --arg p "$D/$1" "select(.path == \$p) | $2" "$T_DIR/out"; }
is "$(rec "spine-epub-$SPINE.epub" '[.kind, ([.chunks[].text | scan("chapter")] | length)]')" \
	'["document",1]' "EPUB of $SPINE spine items naming one entry: each looked up, the entry read once"
is "$(rec "docx-styles-$STYLED.docx" '[.kind, ([.chunks[].text | scan("(?m)^#+ .*")] | join(","))]')" \
	'["document","## Last"]' "DOCX of 4096 styles: the last one still a heading"
is "$(rec "docx-paras-$PARAS.docx" '[.kind, .error]')" \
	'["error","XML in word/document.xml refused: the document'"'"'s parts hold more than '"$LIMIT"' nodes (limit)"]' \
	"DOCX over the node limit: an error naming the part and the limit"
is "$(rec "docx-sdt-$PARAS.docx" '[.kind, .error]')" \
	'["error","XML in word/document.xml refused: the document'"'"'s parts hold more than '"$LIMIT"' nodes (limit)"]' \
	"DOCX whose one block is over the node limit: refused the same"
# 25,000 paragraphs: 625 headings, the last paragraph p[24989]; 250: 7, p[241].
BOOK_WANT=$(size '625,"word/document.xml#/w:document/w:body/w:p[1]","word/document.xml#/w:document/w:body/w:p[24989]"' \
	'7,"word/document.xml#/w:document/w:body/w:p[1]","word/document.xml#/w:document/w:body/w:p[241]"')
is "$(rec "docx-book-$BOOK.docx" '[.kind, ([.chunks[].text | scan("(?m)^# Part [0-9]+$")] | length), .chunks[0].locator, .chunks[-1].locator]')" \
	"[\"document\",$BOOK_WANT]" \
	"a long DOCX past the node limit ($BOOK paragraphs; 25,000: 25 MB, 2.4M nodes): converted, streamed, every heading, locators as before"
is "$(rec "docx-book-$BOOK.docx" '[.chunks[] | select(.text | test("\\| k \\| v \\|")) | .locator]')" \
	'["word/document.xml#/w:document/w:body/w:p[1]"]' "... its table in the first chunk"
is "$(rec "epub-paras-$HALF.epub" '[.kind, .error]')" \
	'["error","OEBPS/ch.xhtml: HTML refused: the document holds more than '"$LIMIT"' nodes (limit)"]' \
	"EPUB chapter over the node limit: an error naming the chapter"
is "$(rec "html-paras-$HALF.html" '[.kind, .error]')" \
	'["error","HTML refused: the document holds more than '"$LIMIT"' nodes (limit)"]' "HTML over the node limit: an error"
is "$(rec epub-opf-1000.epub '[.kind, ([.chunks[].text | scan("Limits")] | length)]')" '["document",1]' \
	"a spine listing one item 1000 times: read once"
NOTES=$(size 20000 200)
is "$(rec "docx-notes-$NOTES.docx" '[.kind, ([.chunks[].text | scan("noteword")] | length), ([.chunks[].text | scan("\\[\\^1\\]")] | length)]')" \
	"[\"document\",200,$((NOTES + 1))]" "a note cited in $NOTES paragraphs: its text once, after the first citation"
is "$(rec docx-attrs-257.docx '[.kind, .error]')" \
	'["error","XML in word/document.xml refused: an element with more than 256 attributes (line 1)"]' \
	"DOCX: an element of 257 attributes refused before the parse, naming the part"
is "$(rec html-attrs-257.html '[.kind, .error]')" \
	'["error","HTML refused: an element with more than 256 attributes (line 2)"]' "HTML: the same, naming the line"
is "$(rec html-attrs-256.html '[.kind, .chunks[0].text]')" '["document","text"]' "256 attributes: read"
like "$(rec odt-spaces-2000.odt '[.kind, .error]')" '^\["error","converted text over its limit \([0-9]+\)"\]$' \
	"an ODT writing 2 MB of spaces from 46 KB: refused over its text limit, saying so"
is "$(rec z-fine.html '[.kind, .chunks[0].text]')" '["document","fine"]' "the run goes on"

done_testing
