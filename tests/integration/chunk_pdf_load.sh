#!/bin/bash
# docpipe-chunk opens poppler-glib on the first PDF it converts, not at
# start (man docpipe-chunk, FORMATS; src/chunk/poppler_dl.h): a process
# that chunks Markdown never maps it (poppler and its ~40 libraries were
# more than half of every chunk's start-up), a PDF after a Markdown file in
# the same process converts as before, and without the library a PDF fails
# with a reason naming the library and the loader's (other formats go on;
# before, the binary would not start at all).
. "$(dirname "$0")/../lib/tap.sh"
D=$T_DIR/docs
mkdir -p "$D" "$T_DIR/nolib"
printf '# Notes\n\nplain text\n' >"$D/a.md"
for n in 1 2 3 4; do cp "$TOP/tests/data/formats/mime-spec-p1-3.pdf" "$D/spec$n.pdf"; done
docpipe-discover "$D/a.md" >"$T_DIR/md.rec"
for n in 1 2 3 4; do docpipe-discover "$D/spec$n.pdf" >"$T_DIR/pdf$n.rec"; done
records() { [ "$(jq -s length "$T_DIR/out" 2>/dev/null)" -ge "$1" ]; }

# One process, its input a FIFO: it waits, alive, between the records.
# LD_DEBUG=files: the dynamic loader says what it loaded and why.
mkfifo "$T_DIR/in"
LD_DEBUG=files LD_DEBUG_OUTPUT=$T_DIR/ld docpipe-chunk <"$T_DIR/in" >"$T_DIR/out" 2>"$T_DIR/err" &
pid=$!
at_exit "kill $pid 2>/dev/null"
exec {w}>"$T_DIR/in"
cat "$T_DIR/md.rec" >&$w
wait_for 60 records 1
is "$(jq -r '.chunks[0].text' "$T_DIR/out")" $'# Notes\n\nplain text' "the Markdown file is chunked"
maps=$(cat "/proc/$pid/maps")
is "$(grep -cE 'libpoppler|libcairo|libglib-2' <<<"$maps")" 0 \
	"a process that chunked Markdown has mapped no poppler, cairo or glib"
cat "$T_DIR/pdf1.rec" >&$w
wait_for 60 records 2
is "$(jq -sc '.[1] | [.format, (.converter | startswith("poppler-glib ")), .meta.pages, (.chunks | length), .chunks[0].page_start]' "$T_DIR/out")" \
	'["pdf",true,3,4,1]' "a PDF after it in the same process converts: 3 pages, 4 chunks"
like "$(grep -c libpoppler-glib "/proc/$pid/maps")" '^[1-9]' "... and poppler-glib is mapped now"
exec {w}>&-
wait "$pid"
is "$?/$(cat "$T_DIR/err")" "0/" "chunk ends with status 0 and says nothing"
# The name it was opened by: a SONAME (libpoppler-glib.so.N), not the
# unversioned development link.  (Loaded by docpipe-chunk, or under ASan by
# libasan's dlopen, which stands in front of the C library's.)
soname=$(sed -n 's/.*file=\(libpoppler-glib\.so\.[0-9]*\) \[0\]; *dynamically loaded by .*/\1/p' "$T_DIR"/ld.* | head -1)
like "$soname" '^libpoppler-glib\.so\.[0-9]+$' "poppler-glib is loaded by dlopen, by its SONAME"

# Four PDFs first, 4 threads: the first load is shared, every PDF converts
# to the same text.
cat "$T_DIR"/pdf[1-4].rec "$T_DIR/md.rec" | docpipe-chunk --threads 4 >"$T_DIR/out4" 2>"$T_DIR/err4"
is "$?/$(jq -c 'select(.format == "pdf") | [.chunks[].text] | length' "$T_DIR/out4" | sort | uniq -c | tr -s ' ')" \
	"0/ 4 4" "--threads 4: the 4 PDFs convert, 4 chunks each"
is "$(jq -c 'select(.format == "pdf") | [.chunks[].text]' "$T_DIR/out4" | sort -u | wc -l)" 1 "... to the same text"

# No library: a stand-in that the loader cannot load (an empty file of that
# name, first on the library path of this process only).
: >"$T_DIR/nolib/${soname:-libpoppler-glib.so.8}"
cat "$T_DIR/pdf1.rec" "$T_DIR/md.rec" "$T_DIR/pdf2.rec" |
	LD_LIBRARY_PATH=$T_DIR/nolib LD_DEBUG=files LD_DEBUG_OUTPUT=$T_DIR/ldx \
		docpipe-chunk --threads 2 >"$T_DIR/outx" 2>"$T_DIR/errx"
is "$?" 1 "without the library: exit 1, documents failed"
is "$(jq -c 'select(.path | endswith("a.md")) | [.kind, .chunks[0].text]' "$T_DIR/outx")" \
	'["document","# Notes\n\nplain text"]' "the Markdown file is chunked"
reasons=$(jq -r 'select(.kind == "error") | "\(.path | sub(".*/"; "")): \(.error)"' "$T_DIR/outx" | sort)
like "$reasons" "^spec1\.pdf: PDF not read: ${soname//./\\.} \(poppler-glib, PDF support\) cannot be loaded: $T_DIR/nolib/${soname//./\\.}: file too short
spec2\.pdf: PDF not read: ${soname//./\\.} \(poppler-glib, PDF support\) cannot be loaded: $T_DIR/nolib/${soname//./\\.}: file too short$" \
	"each PDF fails naming the library and the loader's reason"
is "$(cat "$T_DIR"/ldx.* | grep -c "file=${soname:-none} .*dynamically loaded")" 1 \
	"the load is tried once, not per PDF"

done_testing
