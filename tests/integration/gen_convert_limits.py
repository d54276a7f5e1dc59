#!/usr/bin/env python3
"""Writes documents that probe the converters' time and memory limits
(tests/integration/chunk_convert_limits.sh; the figures in the report of
each fix come from the same files, made bigger with the size arguments).

Usage: gen_convert_limits.py DIR KIND N
  spine-epub   an EPUB of N chapters, each a manifest item and an itemref
  docx-styles  a DOCX of 4096 styles, the last a heading, and N paragraphs of
               an unknown style before one of that heading style
  docx-paras   a DOCX whose word/document.xml is N empty <w:p/>
  docx-sdt     docx-paras with the N <w:p/> in one content control (w:sdt)
  docx-book    a DOCX of N paragraphs as Word writes them (rsids, paragraph
               and run properties, 2-4 runs of prose, ~1 KB each), a heading
               every 40, a table after the first: 25,000 make a 25 MB
               word/document.xml of 2.4 million nodes
  epub-paras   an EPUB whose one chapter holds N <p>a</p>
  epub-opf     an EPUB whose spine lists its own 4 MB OPF N times
  epub-ids     an EPUB of N manifest items (and itemrefs) naming one 1 MB chapter
  html-paras   an HTML file of N <p> paragraphs
  docx-notes   a DOCX of N paragraphs each citing its one footnote (200 words)
  docx-attrs   a DOCX whose one paragraph has N attributes
  html-attrs   an HTML file whose one paragraph has N attributes
  odt-spaces   an ODT whose one paragraph has N <text:s text:c="1000"/>
Each writes DIR/KIND-N.(epub|docx|html) and prints its path."""
import random
import sys
import zipfile

CONTAINER = ('<?xml version="1.0"?><container version="1.0" '
             'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
             '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
             '</rootfiles></container>')
OPF_HEAD = ('<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
            '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Limits</dc:title></metadata>')


def epub(path, manifest, spine, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", CONTAINER)
        z.writestr("OEBPS/content.opf", OPF_HEAD + "<manifest>" + manifest + "</manifest><spine>" +
                   spine + "</spine></package>")
        for name, data in entries:
            z.writestr(name, data)


def docx_book(path, n):
    r = random.Random(1)
    words = ("the of and to in is was for that with as on by at from it an be this which or are "
             "river valley survey measured northern station weather equipment notes field report "
             "analysis water level spring autumn season record sample method result").split()
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'

    def para(style, runs):
        return ('<w:p w:rsidR="00%06X" w:rsidRDefault="00%06X" w:rsidP="00%06X"><w:pPr>%s'
                '<w:spacing w:after="120" w:line="276" w:lineRule="auto"/><w:jc w:val="both"/>'
                '<w:rPr><w:lang w:val="en-GB"/></w:rPr></w:pPr>' % (
                    r.randrange(1 << 24), r.randrange(1 << 24), r.randrange(1 << 24),
                    '<w:pStyle w:val="%s"/>' % style if style else '') +
                "".join('<w:r w:rsidRPr="00%06X"><w:rPr><w:rFonts w:ascii="Calibri" w:hAnsi="Calibri"/>'
                        '<w:sz w:val="24"/><w:szCs w:val="24"/><w:lang w:val="en-GB"/></w:rPr>'
                        '<w:t xml:space="preserve">%s </w:t></w:r>' % (r.randrange(1 << 24), t)
                        for t in runs) + "</w:p>")

    def sentence(k):
        return " ".join(r.choice(words) for _ in range(k)).capitalize() + "."
    body = []
    for i in range(n):
        if i % 40 == 0:
            body.append(para("Heading1", ["Part %d" % (i // 40 + 1)]))
        else:
            body.append(para(None, [sentence(r.randint(6, 14)) for _ in range(r.randint(2, 4))]))
        if i == 1:
            body.append('<w:tbl><w:tblPr/><w:tr><w:tc><w:p><w:r><w:t>k</w:t></w:r></w:p></w:tc>'
                        '<w:tc><w:p><w:r><w:t>v</w:t></w:r></w:p></w:tc></w:tr></w:tbl>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/styles.xml", '<w:styles %s><w:style w:styleId="Heading1">'
                   '<w:name w:val="heading 1"/></w:style></w:styles>' % w)
        z.writestr("word/document.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                   '<w:document %s><w:body>%s<w:sectPr/></w:body></w:document>' % (w, "".join(body)))


def main():
    d, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ext = {"docx-paras": "docx", "docx-sdt": "docx", "docx-book": "docx", "docx-styles": "docx",
           "docx-notes": "docx", "docx-attrs": "docx", "html-paras": "html",
           "html-attrs": "html", "odt-spaces": "odt"}.get(kind, "epub")
    path = "%s/%s-%d.%s" % (d, kind, n, ext)
    if kind == "spine-epub":
        # The chapters are one entry (CONV_ZIP_MAX_ENTRIES): every item
        # points at it with its own fragment.
        epub(path, "".join('<item id="c%d" href="ch.xhtml#s%d" media-type="application/xhtml+xml"/>'
                           % (i, i) for i in range(n)),
             "".join('<itemref idref="c%d"/>' % i for i in range(n)),
             [("OEBPS/ch.xhtml", "<html><body><p>chapter</p></body></html>")])
    elif kind == "docx-styles":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("word/styles.xml", '<w:styles xmlns:w="urn:w">' + "".join(
                '<w:style w:styleId="S%d"><w:name w:val="heading %d"/></w:style>' % (i, 1 + (i == 4095))
                for i in range(4096)) + "</w:styles>")
            z.writestr("word/document.xml", '<w:document xmlns:w="urn:w"><w:body>' +
                       '<w:p><w:pPr><w:pStyle w:val="x"/></w:pPr><w:r><w:t>text</w:t></w:r></w:p>' * n +
                       '<w:p><w:pPr><w:pStyle w:val="S4095"/></w:pPr><w:r><w:t>Last</w:t></w:r></w:p>' +
                       "</w:body></w:document>")
    elif kind == "docx-paras":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("word/document.xml", '<w:document xmlns:w="urn:w"><w:body>' +
                       "<w:p/>" * n + "</w:body></w:document>")
    elif kind == "docx-sdt":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("word/document.xml", '<w:document xmlns:w="urn:w"><w:body><w:sdt><w:sdtContent>' +
                       "<w:p/>" * n + "</w:sdtContent></w:sdt></w:body></w:document>")
    elif kind == "docx-book":
        docx_book(path, n)
    elif kind == "epub-paras":
        epub(path, '<item id="c" href="ch.xhtml" media-type="application/xhtml+xml"/>',
             '<itemref idref="c"/>',
             [("OEBPS/ch.xhtml", "<html><body>" + "<p>a</p>" * n + "</body></html>")])
    elif kind == "epub-ids":
        epub(path, "".join('<item id="c%d" href="ch.xhtml" media-type="application/xhtml+xml"/>' % i
                           for i in range(n)),
             "".join('<itemref idref="c%d"/>' % i for i in range(n)),
             [("OEBPS/ch.xhtml", "<html><body>" + "<p>chapter text of some length</p>" * 30000 +
               "</body></html>")])
    elif kind == "epub-opf":
        # The OPF padded to 4 MB with comments-free filler items.
        filler = "".join('<item id="f%d" href="f%d.png" media-type="image/png"/>' % (i, i)
                         for i in range(60000))
        epub(path, '<item id="o" href="content.opf" media-type="application/xhtml+xml"/>' + filler,
             '<itemref idref="o"/>' * n, [])
    elif kind == "html-paras":
        with open(path, "w") as f:
            f.write("<html><body>" + "".join(
                "<p>a</p>" for i in range(n)) + "</body></html>")
    elif kind == "docx-notes":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("word/footnotes.xml", '<w:footnotes xmlns:w="urn:w"><w:footnote w:id="1"><w:p>'
                       '<w:r><w:t>' + "noteword " * 200 + '</w:t></w:r></w:p></w:footnote></w:footnotes>')
            z.writestr("word/document.xml", '<w:document xmlns:w="urn:w"><w:body>' +
                       '<w:p><w:r><w:t>cited</w:t></w:r><w:r><w:footnoteReference w:id="1"/></w:r></w:p>' * n +
                       "</w:body></w:document>")
    elif kind == "docx-attrs":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("word/document.xml", '<w:document xmlns:w="urn:w"><w:body><w:p ' +
                       " ".join('w:a%d="x"' % i for i in range(n)) +
                       "><w:r><w:t>text</w:t></w:r></w:p></w:body></w:document>")
    elif kind == "html-attrs":
        with open(path, "w") as f:
            f.write("<html><body>\n<p " + " ".join("a%d" % i for i in range(n)) + ">text</p></body></html>")
    elif kind == "odt-spaces":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("mimetype", "application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED)
            z.writestr("content.xml", '<office:document-content '
                       'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
                       'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
                       '<office:body><office:text><text:p>a' + '<text:s text:c="1000"/>' * n +
                       'b</text:p></office:text></office:body></office:document-content>')
    else:
        sys.exit("unknown kind " + kind)
    print(path)


main()
