#!/bin/bash
# A list item's code block and table stay code and rows in converted formats
# (README "Formats": HTML's list items, ODT's code styles in list items).
# pandoc writes numbered steps with a command in each step as <li><p>..</p>
# <div><pre>..</pre></div></li> (HTML, EPUB) or as code-styled paragraphs in
# a text:list-item (ODT): the HTML converter flattened the item into one line
# ("1. Create a project: hugo new project quickstart cd quickstart The
# folder ..."), the ODT one made each code line a list item of its own.
# The files are in tests/data/formats-lists (README there).
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail

D=$TOP/tests/data/formats-lists
chunk_files "$D" steps.html steps.epub steps.odt steps.docx
is "$?" 0 "every document chunked"

code=$'```sh\nhugo new project quickstart\ncd quickstart\n```'
table=$'| theme | licence |\n|---|---|\n| ananke | MIT |\n| paper | MIT |'
for f in steps.html steps.epub; do
	t=$(chunks_text "$f")
	contains "$t" $'\n1. Create a project:\n\n'"$code"$'\n\nThe folder holds the configuration.\n' \
		"$f: the step's line, its code block fenced with its language, the text after it a paragraph"
	contains "$t" $'\n2. Pick a theme:\n\n'"$table"$'\n\n3. Start the server.' \
		"$f: a table in an item stays pipe rows, the next item after it"
	contains "$t" $'\n- A bullet with code:\n\n```go\nfmt.Println("hello")\n```' "$f: a bullet's code block fenced"
done
# ODT and DOCX have no numbers in the text (list styles number the items).
for f in steps.odt steps.docx; do
	t=$(chunks_text "$f")
	contains "$t" $'\n- Create a project:\n\n```\nhugo new project quickstart\ncd quickstart\n```\n' \
		"$f: the step's code paragraphs are one fenced block"
	contains "$t" $'\n- A bullet with code:\n\n```\nfmt.Println("hello")\n```' "$f: a bullet's code block fenced"
	is "$(grep -c '^- hugo new\|^- cd quickstart\|^- fmt' <<<"$t")" 0 "$f: no code line is a list item"
done
# Chunk provenance still names the item's elements.
is "$(jq -r --arg p "$D/steps.html" 'select(.path == $p) | .chunks[0].locator' "$T_DIR/out")" "/html/body/h1" \
	"HTML: the first chunk starts at the page's h1"
done_testing
