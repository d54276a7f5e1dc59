#!/usr/bin/env python3
"""Writes guide.epub and guide.pdf (tests/integration/chunk_formats_titles.sh),
by hand: pandoc 2.17's EPUB always has a title page with an h1 (which then
heads the paths itself), and it writes PDFs through LaTeX only."""
import zipfile

CH = """<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en"><head><title>Chapter one</title></head>
<body>
<p>A guide whose sections are all second-level headings: the title is its only first-level name.</p>
<h2>Setting up</h2>
<p>Pack the tent, the stove and a map of the valley.</p>
<h2>On the trail</h2>
<p>Keep to the marked paths and note the weather each morning.</p>
</body></html>
"""
OPF = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:identifier id="id">urn:uuid:5b0e2a0e-6f2b-4d55-9a57-2c1f3b7f0a01</dc:identifier>
<dc:title>Field guide</dc:title><dc:language>en</dc:language>
</metadata>
<manifest><item id="ch1" href="ch1.xhtml" media-type="application/xhtml+xml"/></manifest>
<spine><itemref idref="ch1"/></spine>
</package>
"""
CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>
"""
with zipfile.ZipFile("guide.epub", "w") as z:
    z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
    for name, data in (("META-INF/container.xml", CONTAINER), ("OEBPS/content.opf", OPF),
                       ("OEBPS/ch1.xhtml", CH)):
        z.writestr(name, data, zipfile.ZIP_DEFLATED)

# One page, every line in one font (no heading), an Info Title.
lines = ["A guide whose lines are all in one font: the title is its only name.",
         "Pack the tent, the stove and a map of the valley.",
         "Keep to the marked paths and note the weather each morning."]
content = "BT /F1 12 Tf 72 720 Td 16 TL\n" + "".join("(%s) '\n" % l for l in lines) + "ET\n"
objs = ["<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        " /Resources << /Font << /F1 5 0 R >> >> >>",
        "<< /Length %d >>\nstream\n%sendstream" % (len(content), content),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        "<< /Title (Field guide) /Producer (hand-written) >>"]
out, offs = "%PDF-1.4\n", []
for i, o in enumerate(objs, 1):
    offs.append(len(out))
    out += "%d 0 obj\n%s\nendobj\n" % (i, o)
xref = len(out)
out += "xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
out += "".join("%010d 00000 n \n" % o for o in offs)
out += "trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
open("guide.pdf", "w").write(out)
