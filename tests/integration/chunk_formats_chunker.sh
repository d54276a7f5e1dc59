#!/bin/bash
# Converted formats (issue 12) through the chunker of issue 9: small
# sections merge (--min-tokens), overlap repeats whole blocks, heading paths
# are cleaned, no chunk is a heading alone; the identity names the chunker's
# settings and the converter; converted chunks carry a locator and no byte
# or line range while Markdown chunks keep theirs; front matter is read at
# the start of --convert Markdown output and of a notebook's first cell
# only; docpipe plan sees the chunks the chunk stage makes.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail

D=$T_DIR/docs
mkdir -p "$D"
cp "$TOP/tests/data/formats/latin1.html" "$TOP/tests/data/formats/mime-spec-p1-3.pdf" "$D/"
printf '# Plain\n\nSome Markdown text in a file.\n\n## More\n\nAnd more of it, with a second line\nhere.\n' >"$D/plain.md"

docpipe-discover "$D" | docpipe-chunk >"$T_DIR/def" 2>"$T_DIR/def.err"
is "$?" 0 "defaults: every document chunked"
doc() { jq -c --arg p "$D/$1" "select(.path == \$p) | $2" "$T_DIR/def"; }
like "$(doc latin1.html .chunker)" '^"html-v4 \(libxml2 [^)]+\) md4c-v3 max=512 overlap=0 min=64"$' \
	"identity: the converter and its version, and the chunker's settings"
like "$(doc mime-spec-p1-3.pdf .chunker)" '^"pdf-v3 \(poppler-glib [^)]+\) md4c-v3 max=512 overlap=0 min=64"$' \
	"identity of a PDF"
is "$(doc latin1.html '[.chunks[].heading]')" '[["Le café"]]' \
	"small sections of a converted page merge under their common path"
is "$(docpipe-discover "$D/latin1.html" | docpipe-chunk --min-tokens 0 | jq -c '[.chunks[].heading]')" \
	'[["Le café"],["Le café","Recette"]]' "... and stay apart with --min-tokens 0"
is "$(jq -c 'select(.format != "markdown") | .chunks[] | select(has("start") or has("end") or has("line_start") or has("line_end"))' "$T_DIR/def" | wc -l)" \
	0 "converted chunks: no byte or line range"
is "$(jq -c 'select(.format != "markdown" and .format != "pdf") | .chunks[] | select(.locator == null)' "$T_DIR/def" | wc -l)" \
	0 "converted chunks: a locator each (PDF: pages)"
is "$(doc mime-spec-p1-3.pdf '[.chunks[] | select(.page_start == null or .page_end == null)] | length')" 0 \
	"PDF chunks: a page range each"
jq -c --arg p "$D/plain.md" 'select(.path == $p)' "$T_DIR/def" >"$T_DIR/md"
python3 - "$T_DIR/md" <<'PY'
import json, sys
rec = json.load(open(sys.argv[1]))
data = open(rec["path"], "rb").read()
bad = [c["seq"] for c in rec["chunks"]
       if data[c["start"]:c["end"]].decode() != c["text"]
       or c["line_start"] != data[:c["start"]].count(b"\n") + 1
       or c["line_end"] != data[:c["end"] - 1].count(b"\n") + 1]
sys.exit(1 if bad or not rec["chunks"] or "locator" in rec["chunks"][0] else 0)
PY
is "$?" 0 "Markdown chunks: byte and line ranges reproduce the text, no locator"

# A page whose one section needs several chunks: fenced blocks stay whole,
# the overlap repeats whole blocks; heading ids and MDX comments cleaned.
{
	printf '<html><body><h1>Guide {#guide}</h1><h2>Usage {/*usage*/}</h2>\n'
	for i in 1 2 3 4 5 6; do
		printf '<p>Paragraph %s tells how the tool reads its input and what it writes out.</p>\n' "$i"
		printf '<pre><code class="language-sh">step %s --first\nstep %s --second\nstep %s --third</code></pre>\n' "$i" "$i" "$i"
	done
	printf '</body></html>\n'
} >"$D/long.html"
docpipe-discover "$D/long.html" | docpipe-chunk --max-tokens 64 --overlap 24 --min-tokens 0 >"$T_DIR/long"
is "$(jq -c '[.chunks[].heading] | unique' "$T_DIR/long")" '[["Guide"],["Guide","Usage"]]' \
	"converted headings cleaned ({#id}, MDX comment)"
is "$(jq '[.chunks[].text | select(test("^#+ [^\\n]*$"))] | length' "$T_DIR/long")" 0 \
	"a converted heading alone is no chunk"
[ "$(jq '.chunks | length' "$T_DIR/long")" -ge 4 ]
ok $? "the long section is split"
is "$(jq '[.chunks[].text | [splits("\n") | select(startswith("```"))] | length | select(. % 2 == 1)] | length' "$T_DIR/long")" \
	0 "no chunk starts or ends inside a fenced block"
[ "$(jq '[.chunks as $c | range(1; $c | length) | select(($c[.].text | split("\n\n")[0]) as $f | $c[. - 1].text | contains($f))] | length' "$T_DIR/long")" -ge 1 ]
ok $? "the overlap repeats whole blocks of the previous chunk"

# Front matter: at the start of --convert Markdown output.
C=$T_DIR/conv
mkdir -p "$C"
printf -- '---\ntitle: "Guide to X"\nweight: 10\ntags: [a, b]\n---\nIntro paragraph about X and why it matters to everyone.\n\n## Install {#install}\n\nRun the installer, then check the version it prints.\n' >"$C/a.page"
printf -- '---\nthis is not front matter\n\nBody text.\n' >"$C/b.page"
docpipe-discover "$C" --glob '*.page' | docpipe-chunk --convert 'page=cat' --min-tokens 0 >"$T_DIR/conv.out" 2>"$T_DIR/conv.err"
conv() { jq -c --arg p "$C/$1" "select(.path == \$p) | $2" "$T_DIR/conv.out"; }
is "$(conv a.page '[.meta.title, .meta.weight, .meta.tags]')" '["Guide to X",10,["a","b"]]' \
	"--convert Markdown output: front matter is metadata"
is "$(conv a.page '[.chunks[].heading]')" '[["Guide to X"],["Guide to X","Install"]]' \
	"... its title heads the heading paths (no H1), no YAML in them"
like "$(conv a.page .chunker)" '^"page-v3 \(command: cat\) md4c-v3 max=512 overlap=0 min=0"$' "... identity"
like "$(conv b.page '.chunks[0].text')" '^"---\\nthis is not front matter' "malformed front matter stays text"
like "$(cat "$T_DIR/conv.err")" "b.page: converter output: .*; kept as text" "... with a warning"

# Front matter: in a notebook's first cell (raw or Markdown), not later.
cat >"$D/fm.ipynb" <<'NB'
{"nbformat": 4, "nbformat_minor": 5,
 "metadata": {"kernelspec": {"language": "python", "display_name": "Python 3"}},
 "cells": [
  {"cell_type": "raw", "metadata": {}, "source": ["---\n", "title: Sales notebook\n", "author: Ana\n", "---\n"]},
  {"cell_type": "markdown", "metadata": {}, "source": ["Totals per region and quarter, from the ledger export of the year.\n"]},
  {"cell_type": "markdown", "metadata": {}, "source": ["---\n", "later: yes\n", "---\n", "\n", "A rule and a heading, not metadata.\n"]}
 ]}
NB
docpipe-discover "$D/fm.ipynb" | docpipe-chunk --min-tokens 0 >"$T_DIR/nb"
is "$(jq -c '[.meta.title, .meta.author, .meta.later, .chunks[0].heading[0]]' "$T_DIR/nb")" \
	'["Sales notebook","Ana",null,"Sales notebook"]' "notebook: front matter of the first cell only"
ok "$(jq -r '.chunks[].text' "$T_DIR/nb" | grep -c 'author: Ana')" "notebook: the front matter is not text"

# Stored: the provenance columns of each kind of chunk.
newdb || exit 1
docpipe-discover "$D/plain.md" "$D/latin1.html" "$D/mime-spec-p1-3.pdf" | docpipe-chunk |
	docpipe-embed | docpipe-store >"$T_DIR/receipts" 2>"$T_DIR/store.err"
is "$(jq -r .status "$T_DIR/receipts" | sort | uniq -c | tr -s ' ')" " 3 stored" "stored"
is "$(sql "SELECT regexp_replace(d.path, '.*/', ''), count(c.byte_start), count(c.line_start), count(c.page_start), count(*) > 0
	FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id GROUP BY d.path ORDER BY 1" | tr '\n' ' ')" \
	"latin1.html|0|0|0|t mime-spec-p1-3.pdf|0|0|$(doc mime-spec-p1-3.pdf '.chunks | length')|t plain.md|1|1|0|t " \
	"store: byte and line ranges for Markdown only, pages for PDF"

# docpipe plan runs the chunk stage itself: the chunks it counts for
# converted documents are the chunk stage's.
docpipe plan "$D" --opt chunk=--max-tokens=64 --json >"$T_DIR/plan" 2>"$T_DIR/plan.err"
is "$?" 0 "plan exits 0"
is "$(jq .documents.chunks "$T_DIR/plan")" \
	"$(docpipe-discover "$D" | docpipe-chunk --max-tokens 64 | jq -s '[.[].chunks | length] | add')" \
	"plan counts the chunk stage's chunks of converted documents"

done_testing
