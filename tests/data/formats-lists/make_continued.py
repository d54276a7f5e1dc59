#!/usr/bin/env python3
"""Writes continued.docx and continued.odt (tests/integration/chunk_formats_lists.sh)
by hand, as Word and LibreOffice number lists and pandoc does not write them: a
list counted on past a paragraph, two nums of one abstractNum counting together, a
startOverride restarting, numbering removed (numId 0); an ODT list continued
(text:continue-numbering), a list header, an item's start-value, a list style in
styles.xml."""
import zipfile

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'

def wp(text, num=None, ilvl=0):
    ppr = "" if num is None else \
        '<w:pPr><w:numPr><w:ilvl w:val="%d"/><w:numId w:val="%d"/></w:numPr></w:pPr>' % (ilvl, num)
    return '<w:p>%s<w:r><w:t>%s</w:t></w:r></w:p>' % (ppr, text)

body = "".join([wp("Steps:"), wp("First.", 1), wp("Second.", 1), wp("A paragraph between."),
                wp("Third, counted on.", 1), wp("Fourth, another num of the same list.", 2),
                wp("One again.", 3), wp("Sub item.", 3, 1), wp("Two.", 3),
                wp("Numbering removed.", 0), wp("A bullet.", 4)])
document = '<?xml version="1.0" encoding="UTF-8"?><w:document %s><w:body>%s</w:body></w:document>' % (W, body)
numbering = ('<?xml version="1.0" encoding="UTF-8"?><w:numbering %s>'
             '<w:abstractNum w:abstractNumId="0">'
             '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%%1."/></w:lvl>'
             '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/><w:lvlText w:val="%%2)"/></w:lvl>'
             '</w:abstractNum>'
             '<w:abstractNum w:abstractNumId="1">'
             '<w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/><w:lvlText w:val="\u2022"/></w:lvl>'
             '</w:abstractNum>'
             '<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>'
             '<w:num w:numId="2"><w:abstractNumId w:val="0"/></w:num>'
             '<w:num w:numId="3"><w:abstractNumId w:val="0"/>'
             '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'
             '<w:num w:numId="4"><w:abstractNumId w:val="1"/></w:num>'
             '</w:numbering>') % W
types = ('<?xml version="1.0" encoding="UTF-8"?>'
         '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
         '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
         '<Default Extension="xml" ContentType="application/xml"/>'
         '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
         '<Override PartName="/word/numbering.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml"/>'
         '</Types>')
rels = ('<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
        '</Relationships>')
doc_rels = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/numbering" Target="numbering.xml"/>'
            '</Relationships>')
with zipfile.ZipFile("continued.docx", "w", zipfile.ZIP_DEFLATED) as z:
    for name, data in (("[Content_Types].xml", types), ("_rels/.rels", rels),
                       ("word/_rels/document.xml.rels", doc_rels),
                       ("word/document.xml", document), ("word/numbering.xml", numbering)):
        z.writestr(name, data)

NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
      'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
      'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
      'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"')

def p(text):
    return '<text:p>%s</text:p>' % text

def item(*blocks, start=None):
    attr = '' if start is None else ' text:start-value="%d"' % start
    return '<text:list-item%s>%s</text:list-item>' % (attr, "".join(blocks))

def lst(style, *items, extra=""):
    s = ' text:style-name="%s"' % style if style else ""
    return '<text:list%s%s>%s</text:list>' % (s, extra, "".join(items))

text = "".join([
    p("Steps:"),
    lst("Numbering_20_1", item(p("First.")), item(p("Second."), p("More about the second."))),
    p("A paragraph between."),
    lst("Numbering_20_1", item(p("Third, counted on.")),
        '<text:list-header>%s</text:list-header>' % p("A header without a number."),
        item(p("Fourth."), lst(None, item(p("Sub one.")))), extra=' text:continue-numbering="true"'),
    lst("Numbering_20_1", item(p("One again.")), item(p("Seven."), start=7), item(p("Eight."))),
    lst("L9", item(p("A bullet."))),
])
content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content %s office:version="1.3">'
           '<office:automatic-styles><text:list-style style:name="L9">'
           '<text:list-level-style-bullet text:level="1" text:bullet-char="\u2022"/></text:list-style>'
           '</office:automatic-styles><office:body><office:text>%s</office:text></office:body>'
           '</office:document-content>') % (NS, text)
styles = ('<?xml version="1.0" encoding="UTF-8"?><office:document-styles %s office:version="1.3">'
          '<office:styles><text:list-style style:name="Numbering_20_1">'
          '<text:list-level-style-number text:level="1" style:num-format="1" style:num-suffix="."/>'
          '<text:list-level-style-number text:level="2" style:num-format="a" style:num-suffix=")"/>'
          '</text:list-style></office:styles></office:document-styles>') % NS
manifest = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>'
            '</manifest:manifest>')
with zipfile.ZipFile("continued.odt", "w") as z:
    z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
    for name, data in (("META-INF/manifest.xml", manifest), ("content.xml", content), ("styles.xml", styles)):
        z.writestr(name, data, zipfile.ZIP_DEFLATED)
