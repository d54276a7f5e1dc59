#!/bin/bash
# docpipe-chunk on documents beyond Markdown (issue 12): HTML, PDF, DOCX,
# ODT, EPUB, notebooks and --convert commands.  Headings, code and table
# blocks, metadata and provenance of each; damaged, encrypted, image-only
# files, zip bombs and path tricks fail with a reason.  The files are in
# tests/data/formats (README there: where each comes from).
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail

D=$T_DIR/docs
mkdir -p "$D"
cp "$TOP"/tests/data/formats/* "$D/"
rm -f "$D/README"

docpipe-discover "$D" >"$T_DIR/files" 2>/dev/null
is "$(jq -r '.path | sub(".*/"; "")' "$T_DIR/files" | sort | tr '\n' ' ')" \
	"analysis.ipynb blank.pdf encrypted.pdf latin1.html mime-spec-p1-3.pdf notes.docx notes.odt pg-sql-createindex.html rust-data-types.epub " \
	"discover finds every format by default"
# --min-tokens 0: one chunk per section, to see each converter's headings
# (merging small sections is the chunker's, chunk_formats_chunker.sh).
docpipe-chunk --max-tokens 200 --min-tokens 0 <"$T_DIR/files" >"$T_DIR/out" 2>/dev/null
is "$?" 1 "exit 1: the encrypted and the image-only PDF fail"
doc() { jq -c --arg p "$D/$1" "select(.path == \$p) | $2" "$T_DIR/out"; }
text() { jq -r --arg p "$D/$1" 'select(.path == $p) | [.chunks[].text] | join("\n\n")' "$T_DIR/out"; }

# HTML: a page written by hand in ISO-8859-1.
is "$(doc latin1.html '[.format, .converter[:7], .meta]')" \
	'["html","libxml2",{"language":"fr","title":"Café crème","description":"Un guide du café","keywords":"café, crème"}]' \
	"HTML: charset converted, title, description, keywords, lang as meta"
is "$(doc latin1.html '[.chunks[].heading]')" '[["Le café"],["Le café","Recette"]]' "HTML: h1/h2 heading paths"
t=$(text latin1.html)
like "$t" $'1\\. Moudre le café\n2\\. Chauffer le lait\n   - entier\n   - demi-écrémé' "HTML: ordered list with a nested list"
like "$t" $'```sh\nbrew --strength=5 \\| tee cup\n```' "HTML: pre stays one fenced block with its language"
like "$t" $'\\| Taille \\| Prix \\|\n\\|---\\|---\\|\n\\| petit \\| 2 € \\|\n\\| grand \\\\\\| double \\| 3 € \\|' "HTML: table as pipe rows, '|' escaped"
like "$t" 'servi chaud & fort élégant' "HTML: entities decoded"
like "$t" '\\# pas un titre' "HTML: text that would start a heading is escaped"
ok "$(printf '%s' "$t" | grep -cE 'header text|Accueil|Pied de page|tracking|caché|color: red')" "HTML: script, style, nav, header, footer, hidden dropped"
is "$(doc latin1.html '[.chunks[] | .locator, has("start"), has("line_start")]')" \
	'["/html/body/h1",false,false,"/html/body/h2",false,false]' "HTML: locators, no byte ranges"
docpipe-discover "$D/latin1.html" | docpipe-chunk --html-drop '' | jq -r '[.chunks[].text] | join(" ")' | tr '\n' ' ' >"$T_DIR/keep"
like "$(cat "$T_DIR/keep")" 'Site header text.*Accueil.*texte caché.*Pied de page' "--html-drop '' keeps everything"
docpipe-discover "$D/latin1.html" | docpipe-chunk --html-drop +table,ol | jq -r '[.chunks[].text] | join(" ")' >"$T_DIR/drop"
ok "$(grep -cE 'Taille|Moudre|Site header' "$T_DIR/drop")" "--html-drop +LIST adds to the default list"
# A UTF-8 byte order mark outranks a <meta charset> that says otherwise (as
# browsers read it): "Café" stayed mojibake ("CafÃ©") before.
printf '\xef\xbb\xbf<html><head><meta charset="iso-8859-1"></head><body><p>Caf\xc3\xa9 au lait</p></body></html>' >"$T_DIR/bom.html"
is "$(docpipe-discover "$T_DIR/bom.html" | docpipe-chunk | jq -r '.chunks[].text')" "Café au lait" "HTML: a UTF-8 BOM wins over <meta charset>"

# An XHTML internal DTD subset: the HTML parser ended the DOCTYPE at its
# first '>' and the rest of the subset was text in the chunks.  It is cut
# out; its plain text entities are substituted where used (an unused one
# shows nowhere); one holding markup or references, and external ones, stay
# as written: nothing is read from a file (XXE), no entity expands another.
printf '<!ENTITY leak "LEAKED">\n' >"$T_DIR/ext.dtd"
cat >"$T_DIR/dtd.xhtml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html [
  <!ENTITY product "Docpipe Pro">
  <!ENTITY unused "NEVER-SEEN">
  <!ENTITY quote 'say "café" ]> here'>
  <!ENTITY nbsp "&#160;">
  <!ENTITY markup "<b>bold</b>">
  <!ENTITY lol "&product;&product;">
  <!ENTITY file SYSTEM "$T_DIR/ext.dtd">
  <!ENTITY % ext SYSTEM "$T_DIR/ext.dtd">
  %ext;
  <!-- a comment with ]> in it -->
  <!ELEMENT note (#PCDATA)>
  <!ATTLIST note kind CDATA "plain">
]>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>&product; guide</title></head>
<body><h1>About &product;</h1><p>Use&nbsp;&product; daily: &quote;, &amp;, &markup; &lol; &file; &leak;.</p><p title="&quote;">x</p></body></html>
EOF
docpipe-discover "$T_DIR/dtd.xhtml" | docpipe-chunk >"$T_DIR/dtd.out" 2>"$T_DIR/dtd.err"
is "$(jq -c '[.meta.title, [.chunks[].text | gsub("\u00a0"; "{NBSP}")]]' "$T_DIR/dtd.out")" \
	'["Docpipe Pro guide",["# About Docpipe Pro\n\nUse{NBSP}Docpipe Pro daily: say \"café\" ]> here, &, &markup; &lol; &file; &leak;.\n\nx"]]' \
	"XHTML internal DTD subset: not in the text, its plain entities substituted, no other"
is "$(cat "$T_DIR/dtd.err")" "" "... nothing on stderr"
python3 -c 'print("<!DOCTYPE html [<!ENTITY big \"" + "x" * 100000 + "\">]><p>" + "&big;" * 1000 + "</p>")' >"$T_DIR/dtd-big.html"
is "$(docpipe-discover "$T_DIR/dtd-big.html" | docpipe-chunk 2>/dev/null | jq -r .error)" \
	"HTML refused: its internal DTD's entities expand it beyond 1468744 bytes" \
	"entities expanding a page past 4 times its size plus 1 MiB: refused"
# 50,000 references to a 50 KB entity: the expansion went on past the bound,
# 19 s of CPU before the refusal; it stops there now (a CPU cap, not wall time).
python3 -c 'print("<!DOCTYPE html [<!ENTITY big \"" + "x" * 50000 + "\">]><p>" + "&big;" * 50000 + "</p>")' >"$T_DIR/dtd-many.html"
like "$(docpipe-discover "$T_DIR/dtd-many.html" | (ulimit -t 5; docpipe-chunk 2>/dev/null) | jq -r .error)" \
	"^HTML refused: its internal DTD's entities expand it beyond [0-9]+ bytes$" \
	"50,000 references to a 50 KB entity: refused within 5 s of CPU"

# The PostgreSQL manual (Debian postgresql-doc-15).
is "$(doc pg-sql-createindex.html '.meta.title')" '"CREATE INDEX"' "PostgreSQL page: title"
like "$(doc pg-sql-createindex.html '[.chunks[].heading[-1]] | unique | join(",")')" \
	'CREATE INDEX.*Description.*Examples.*Parameters.*Synopsis' "PostgreSQL page: section headings"
like "$(text pg-sql-createindex.html)" $'```\nCREATE \\[ UNIQUE \\] INDEX' "PostgreSQL page: synopsis as a code block"
ok "$(text pg-sql-createindex.html | grep -c 'Prev.*Up.*Next')" "PostgreSQL page: DocBook navigation dropped"
is "$(doc pg-sql-createindex.html '[.chunks[].tokens | select(. > 200)] | length')" 0 "--max-tokens holds for converted text"

# Notebook.
is "$(doc analysis.ipynb '[.format, .meta.language, .meta.title, [.chunks[].heading[-1]], [.chunks[].locator]]')" \
	'["ipynb","python","Quarterly sales",["Sales analysis","Totals by region"],["cells[0]","cells[2]"]]' \
	"notebook: Markdown cells give headings, locators are cell indexes"
t=$(text analysis.ipynb)
like "$t" $'```python\nimport pandas as pd' "notebook: code cells fenced with the kernel language"
ok "$(printf '%s' "$t" | grep -cE 'rows: 42|raw cell')" "notebook: outputs and raw cells dropped"
docpipe-discover "$D/analysis.ipynb" | docpipe-chunk --notebook-outputs | jq -r '[.chunks[].text] | join(" ")' >"$T_DIR/nbo"
like "$(cat "$T_DIR/nbo")" $'```output\nrows: 42\n```.*north    1200' "--notebook-outputs keeps text outputs"

# DOCX and ODT written by pandoc.
for f in notes.docx notes.odt; do
	is "$(doc $f '[.meta.title, .meta.author, [.chunks[].heading[-1]]]')" \
		'["Field Notes","Test Writer",[null,"Field Notes","Equipment","Weather"]]' "$f: core metadata, heading styles"
	t=$(text $f)
	like "$t" $'- compass\n- rope\n  - nylon rope\n- lamp' "$f: nested list"
	like "$t" $'\\| Item \\| Count \\|\n\\|---\\|---\\|\n\\| tent \\| 2 \\|' "$f: table"
	like "$t" $'```\ndef hello\\(\\):\n    return "world"\n```' "$f: code paragraphs as one fenced block"
	like "$(printf '%s' "$t" | tr '\n' ' ')" 'survey\.\[\^[0-9]+\] +\\\[\^[0-9]+\]: Taken in the northern valley' \
		"$f: footnote kept after its paragraph"
done
like "$(doc notes.docx '.chunks[1].locator')" '^"word/document.xml#/w:document/w:body/w:p\[[0-9]+\]"$' "DOCX: locator"

# EPUB written by pandoc from a Rust book chapter.
is "$(doc rust-data-types.epub '[.format, .meta.title, .meta.author, .meta.language]')" \
	'["epub","Data Types","The Rust Project","en"]' "EPUB: OPF metadata"
like "$(doc rust-data-types.epub '[.chunks[].heading[-1]] | unique | join(",")')" 'Compound Types.*Scalar Types' "EPUB: chapter headings"
like "$(text rust-data-types.epub)" $'\\| Length \\| Signed \\| Unsigned \\|\n\\|---\\|---\\|---\\|' "EPUB: table"
like "$(doc rust-data-types.epub '.chunks[-1].locator')" '^"EPUB/text/ch[0-9]+.xhtml#/html/body/' "EPUB: locator names the chapter entry"

# PDF (three pages of the shared-mime-info specification, Debian).
is "$(doc mime-spec-p1-3.pdf '[.format, .meta.pages, (.converter | startswith("poppler-glib"))]')" '["pdf",3,true]' "PDF: pages in meta, converter"
is "$(doc mime-spec-p1-3.pdf '[.chunks[] | select(.page_start < 1 or .page_end < .page_start or .page_end > 3 or has("start"))] | length')" \
	0 "PDF: every chunk has a page range inside the document, no byte range"
is "$(doc mime-spec-p1-3.pdf '[.chunks[] | select(.text | contains("## 1.1. Version")) | .page_start][0]')" 1 "PDF: heading and page of a section (a heading alone merges with the next)"
is "$(doc mime-spec-p1-3.pdf '[.chunks[] | select(.heading[-1] == "2.1. Directory layout") | .page_end] | max')" 3 "PDF: a section over two pages"
ok "$(text mime-spec-p1-3.pdf | grep -c 'Shared MIME-info Database$')" "PDF: running header removed"
is "$(doc encrypted.pdf '[.kind, .error]')" '["error","encrypted PDF (password protected): not read"]' "encrypted PDF refused"
is "$(doc blank.pdf '.error')" '"image-only PDF: no text on its 1 page (no OCR is done)"' "image-only PDF refused"

# Damaged files.
B=$T_DIR/bad
mkdir -p "$B"
head -c 20000 "$D/mime-spec-p1-3.pdf" >"$B/cut.pdf"
head -c 3000 "$D/notes.docx" >"$B/cut.docx"
printf '{"cells": [{"cell_type": "code"' >"$B/cut.ipynb"
echo 'plain text' >"$B/text.odt"
python3 - "$B" <<'EOF'
import sys, zipfile
d = sys.argv[1]
# Zip bombs: 300 MB of zeros in one entry; a lying size; 10001 entries; a lying name.
with zipfile.ZipFile(d + "/bomb.docx", "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("word/document.xml", "w", force_zip64=True) as f:
        block = b"\0" * (1 << 20)
        for _ in range(300):
            f.write(block)
# A header that lies: 1000 bytes declared, 300 MB inside.
import struct
with zipfile.ZipFile(d + "/liar.docx", "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("word/document.xml", "w") as f:
        for _ in range(300):
            f.write(block)
b = bytearray(open(d + "/liar.docx", "rb").read())
struct.pack_into("<I", b, 22, 1000)
struct.pack_into("<I", b, b.find(b"PK\x01\x02") + 24, 1000)
open(d + "/liar.docx", "wb").write(bytes(b))
with zipfile.ZipFile(d + "/many.odt", "w") as z:
    for i in range(10001):
        z.writestr("e%d" % i, "")
# Well-formed but nested past libxml2's 256 levels; and broken XML.
def docx(name, body):
    with zipfile.ZipFile(d + "/" + name, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", '<w:document xmlns:w="urn:w"><w:body>' + body + "</w:body></w:document>")
docx("deep.docx", "<w:sdt>" * 300 + "<w:p/>" + "</w:sdt>" * 300)
docx("broken.docx", "<w:p>unclosed</w:body>")
# 70 MiB of plain paragraphs in a file of about 0.3 MB: under the old
# 256 MiB bound, its tree took gigabytes (sweep 4: 250 MiB, 1.8 GB).
docx("big.docx", "<w:p><w:r><w:t>The same words again and again.</w:t></w:r></w:p>" * (70 * 1024 * 1024 // 66))
with zipfile.ZipFile(d + "/trick.epub", "w") as z:
    z.writestr("mimetype", "application/epub+zip")
    z.writestr("../../etc/evil.xhtml", "<p>x</p>")
# Spine hrefs with "." and ".." segments, relative to an OPF in a folder:
# inside the archive (read: they were "missing" or "leaves the archive"),
# and above its root (refused).
def epub(name, items):
    with zipfile.ZipFile(d + "/" + name, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr("META-INF/container.xml", '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
                   '<rootfiles><rootfile full-path="OEBPS/content/package.opf"/></rootfiles></container>')
        z.writestr("OEBPS/content/package.opf", '<package xmlns="http://www.idpf.org/2007/opf"><manifest>' +
                   "".join('<item id="i%d" href="%s" media-type="application/xhtml+xml"/>' % (k, h)
                           for k, h in enumerate(items)) + "</manifest><spine>" +
                   "".join('<itemref idref="i%d"/>' % k for k in range(len(items))) + "</spine></package>")
        for entry, text in (("OEBPS/Text/one.xhtml", "one"), ("OEBPS/content/two.xhtml", "two"),
                            ("OEBPS/content/three a.xhtml", "three")):
            z.writestr(entry, "<html><body><p>%s</p></body></html>" % text)
epub("dots.epub", ["../Text/one.xhtml", "./two.xhtml", "x/../three%20a.xhtml"])
epub("above.epub", ["../../../evil.xhtml"])
EOF
docpipe-discover "$B" | docpipe-chunk >"$T_DIR/bad.out" 2>/dev/null
bad() { jq -r --arg p "$B/$1" 'select(.path == $p) | .kind + ": " + .error' "$T_DIR/bad.out"; }
like "$(bad cut.pdf)" '^error: damaged PDF' "truncated PDF: damaged"
like "$(bad cut.docx)" '^error: damaged ZIP' "truncated DOCX: damaged"
like "$(bad cut.ipynb)" '^error: damaged notebook: Unfinished JSON term at EOF at line [0-9]+, column [0-9]+$' \
	"truncated notebook: damaged, saying where (not quoting its text: fault sweep 19)"
like "$(bad text.odt)" '^error: not a ZIP container by its content \(libmagic: ASCII text\)' "content checked: not a ZIP"
like "$(bad bomb.docx)" '^error: ZIP container refused \(zip bomb\?\)' "zip bomb refused"
like "$(bad liar.docx)" '^error: ZIP container refused \(zip bomb\?\): entry word/document.xml inflates beyond its declared 1000 bytes' \
	"zip bomb with a lying size refused"
like "$(bad many.odt)" '^error: ZIP container refused: 10001 entries' "too many entries refused"
like "$(bad big.docx)" '^error: ZIP container refused \(zip bomb\?\): entries inflate to more than 67108864 bytes' \
	"a DOCX of 70 MiB of XML refused before inflating (64 MiB: its tree is ~7 times that)"
like "$(bad deep.docx)" '^error: XML in word/document.xml nested deeper than 256 levels \(line 1\)$' \
	"XML past libxml2's depth: said so, not 'damaged'"
like "$(bad broken.docx)" '^error: damaged XML in word/document.xml: line 1: .+' "broken XML: libxml2's reason"
like "$(bad trick.epub)" "^error: ZIP container refused: entry name '../../etc/evil.xhtml'" "path trick refused"
is "$(jq -c --arg p "$B/dots.epub" 'select(.path == $p) | [.kind, .chunks[0].text]' "$T_DIR/bad.out")" \
	'["document","one\n\ntwo\n\nthree"]' "EPUB hrefs with '.' and '..' segments inside the archive: read"
is "$(bad above.epub)" "error: EPUB refused: spine item '../../../evil.xhtml' leaves the archive" \
	"... one climbing above its root: refused"

# --convert: external converters.
C=$T_DIR/conv
mkdir -p "$C"
printf 'Title\n=====\n\nSome *text*.\n' >"$C/a.rst"
printf 'x\n' >"$C/b.web"
printf 'x\n' >"$C/c.bad"
printf 'x\n' >"$C/d.slow"
printf 'x\n' >"$C/e.bg"
cat >"$T_DIR/rst2md" <<'EOF'
#!/bin/sh
# A stand-in converter: setext title to ATX, the rest as it is.
sed -e '1s/^/# /' -e '2d' "$1"
EOF
chmod +x "$T_DIR/rst2md"
docpipe-discover "$C" --glob '*' | docpipe-chunk --convert "rst=$T_DIR/rst2md" \
	--convert 'web=printf "<html><head><title>W</title></head><body><h2>Web</h2><p>from %s</p></body></html>"' \
	--convert 'bad=echo "cannot parse this" >&2; exit 3; :' \
	--convert 'slow=sleep 29.517; :' --convert 'bg=sleep 29.518 & echo "# Bg"' --convert-timeout 1 >"$T_DIR/conv.out" 2>/dev/null
conv() { jq -c --arg p "$C/$1" "select(.path == \$p) | $2" "$T_DIR/conv.out"; }
is "$(conv a.rst '[.format, .converter, .chunks[0].heading, .chunks[0].text]')" \
	"[\"rst\",\"command: $T_DIR/rst2md\",[\"Title\"],\"# Title\\n\\nSome *text*.\"]" "--convert: Markdown output chunked"
is "$(conv b.web '[.meta.title, .chunks[0].heading, .chunks[0].text]')" \
	"[\"W\",[\"W\",\"Web\"],\"## Web\\n\\nfrom $C/b.web\"]" \
	"--convert: HTML output through the HTML converter (its <title> heads the path of a page without h1)"
is "$(conv c.bad '.error')" '"converter exited with status 3; stderr: cannot parse this "' "--convert failure: status and stderr in the error"
is "$(conv d.slow '.error')" '"converter timed out after 1 s (killed)"' "--convert timeout"
is "$(conv e.bg '.error')" '"converter exited, but a process it started kept its output open: killed at the 1 s timeout"' \
	"--convert that exits while a process it started holds its output: said so"
pgrep -f 'sleep 29.51[78]' >/dev/null
is "$?" 1 "the timed-out converters' process groups are gone"
docpipe-chunk --convert 'nocommand' </dev/null 2>/dev/null
is "$?" 2 "--convert without '=' is a usage error"
# A converter gets the stage's environment without its secrets (it printed
# them, and they were stored and searchable: sweep 4).
printf 'x\n' >"$C/e.envdump"
docpipe-discover "$C/e.envdump" | OPENAI_API_KEY=sk-conv-secret DATABASE_URL='postgresql://u:dbpw-secret@h/d' \
	PGPASSWORD=pg-secret GITHUB_TOKEN=gh-secret DOCPIPE_KEEP_ME=kept \
	docpipe-chunk --convert 'envdump=env; :' >"$T_DIR/env.out" 2>/dev/null
text=$(jq -r '.chunks[].text' "$T_DIR/env.out")
ok "$(grep -q secret <<<"$text"; [ $? = 1 ]; echo $?)" "--convert: no key, password or token in the converter's environment"
like "$text" "DOCPIPE_KEEP_ME=kept" "... the rest of it is there"

# Named like text, something else by content (the HTML parser read a PNG
# as a page of garbage, a PDF failed "NUL byte on line 78 of the HTML"): a
# format docpipe converts is converted as what it is, the path unchanged;
# other binary data is refused naming what it looks like; text in UTF-16,
# Latin-1 or with a stray NUL is read as it was.
M=$T_DIR/misnamed
mkdir -p "$M"
cp "$D/mime-spec-p1-3.pdf" "$M/a-pdf.html"
cp "$D/mime-spec-p1-3.pdf" "$M/a-pdf.md"
cp "$D/notes.docx" "$M/b-docx.htm"
cp "$D/notes.odt" "$M/b-odt.txt"
cp "$D/rust-data-types.epub" "$M/b-epub.xhtml"
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1' >"$M/c-png.html"
printf '\xff\xd8\xff\xe0\0\x10JFIF\0\1' >"$M/c-jpeg.md"
printf 'GIF89a\1\0\1\0\x80\0\0' >"$M/c-gif.ipynb"
printf 'PK\3\4\24\0\0\0\10\0' >"$M/c-zip.html"
python3 -c 'import sys, random; r = random.Random(7); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(4096)))' >"$M/c-random.html"
cp "$D/latin1.html" "$M/d-latin1.html"
printf '\xff\xfe' >"$M/d-utf16bom.html"
printf '<p>UTF-16 caf\xc3\xa9</p>' | iconv -f UTF-8 -t UTF-16LE >>"$M/d-utf16bom.html"
printf '<?xml version="1.0"?><html><body><p>UTF-16 sans BOM</p></body></html>' | iconv -f UTF-8 -t UTF-16LE >"$M/d-utf16.xhtml"
docpipe-discover "$M" | docpipe-chunk >"$T_DIR/misnamed.out" 2>"$T_DIR/misnamed.err"
is "$?" 1 "misnamed files: exit 1, the binary ones fail"
mis() { jq -c --arg p "$M/$1" "select(.path == \$p) | $2" "$T_DIR/misnamed.out"; }
for f in a-pdf.html a-pdf.md b-docx.htm b-odt.txt b-epub.xhtml; do
	want=$(basename "${f%.*}" | sed 's/^.-//')
	is "$(mis $f '[.kind, .format, (.chunks | length > 0)]')" "[\"document\",\"$want\",true]" \
		"$f: converted as $want, its path unchanged"
done
is "$(mis a-pdf.html '.chunks[0].page_start')" 1 "... with the PDF's pages"
is "$(mis b-docx.htm '[.meta.title, .chunks[0].locator]')" '["Field Notes","word/document.xml#/w:document/w:body/w:p[1]"]' \
	"... with the DOCX's metadata and locators"
is "$(mis c-png.html .error)" '"looks like a PNG image, not HTML"' "a PNG named .html: refused as one"
is "$(mis c-jpeg.md .error)" '"looks like a JPEG image, not text"' "a JPEG named .md: refused as one"
is "$(mis c-gif.ipynb .error)" '"looks like a GIF image, not a Jupyter notebook"' "a GIF named .ipynb: refused as one"
is "$(mis c-zip.html .error)" '"looks like a ZIP archive, not HTML"' "a ZIP of no format docpipe reads: refused as one"
like "$(mis c-random.html .error)" '^"looks like binary data \(libmagic: .*\), not HTML"$' "random bytes named .html: binary data"
is "$(mis d-latin1.html '.chunks[0].heading')" '["Le café"]' "Latin-1 HTML: read as before"
is "$(mis d-utf16bom.html '.chunks[0].text')" '"UTF-16 café"' "UTF-16 HTML with a BOM: read as before"
is "$(mis d-utf16.xhtml '.chunks[0].text')" '"UTF-16 sans BOM"' "UTF-16 XHTML without a BOM: read as before"
is "$(cat "$T_DIR/misnamed.err")" "" "... nothing on stderr"
docpipe-discover "$M/a-pdf.md" "$M/b-docx.htm" | docpipe-chunk --format text 2>/dev/null | jq -c .error >"$T_DIR/forced"
is "$(cat "$T_DIR/forced" | tr '\n' ' ')" '"looks like a PDF document, not text" "looks like a DOCX document, not text" ' \
	"--format text (no conversion): a PDF or a DOCX is refused as what it is"
# nbformat written as a string ("4", as some tools do) is that number.
printf '{"nbformat": "4", "nbformat_minor": "5", "cells": [{"cell_type": "markdown", "source": "# Str"}]}' >"$T_DIR/str.ipynb"
is "$(docpipe-discover "$T_DIR/str.ipynb" | docpipe-chunk | jq -c '[.format, .chunks[0].text]')" '["ipynb","# Str"]' \
	'a notebook with "nbformat": "4" converts'

# Stored: meta becomes the document's metadata, the chunker names the converter.
# A notebook whose cell holds "\u0000" (valid JSON; PostgreSQL's text holds
# no NUL): stored with U+FFFD in its place, not failed by the store.
newdb || exit 1
printf '{"nbformat": 4, "cells": [{"cell_type": "markdown", "source": "# Nul\\n\\nbefore\\u0000after"}]}' >"$T_DIR/nul.ipynb"
docpipe-discover "$D/latin1.html" "$D/mime-spec-p1-3.pdf" "$T_DIR/nul.ipynb" | docpipe-chunk | docpipe-embed |
	docpipe-store >"$T_DIR/receipts" 2>/dev/null
is "$(jq -r .status "$T_DIR/receipts" | sort | tr '\n' ' ')" "stored stored stored " "converted documents stored"
is "$(sql "SELECT c.content FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path LIKE '%nul.ipynb'")" \
	"$(printf '# Nul\n\nbefore\xef\xbf\xbdafter')" "a notebook's NUL: stored as U+FFFD"
is "$(sql "SELECT metadata->>'title', chunker LIKE 'html-v4 (libxml2 %' FROM docpipe.documents WHERE path LIKE '%latin1.html'")" \
	"Café crème|t" "store: metadata from <title>, chunker names libxml2 and its version"
is "$(sql "SELECT (metadata->>'pages')::int, chunker LIKE 'pdf-v3 (poppler-glib %' FROM docpipe.documents WHERE path LIKE '%.pdf'")" \
	"3|t" "store: PDF page count in metadata, chunker names poppler"

# The same documents with two threads.
docpipe-chunk --max-tokens 200 --min-tokens 0 --threads 2 <"$T_DIR/files" 2>/dev/null | jq -c . | sort >"$T_DIR/t2"
jq -c . "$T_DIR/out" | sort | cmp -s - "$T_DIR/t2"
is "$?" 0 "--threads 2 gives the same records"

done_testing
