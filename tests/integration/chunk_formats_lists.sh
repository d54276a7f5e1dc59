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
for f in steps.html steps.epub steps.odt steps.docx; do
	printf '{"v":1,"kind":"file","path":"%s/%s"}\n' "$D" "$f"
done | docpipe-chunk >"$T_DIR/out" 2>"$T_DIR/err"
is "$?" 0 "every document chunked"
text() { jq -r --arg p "$D/$1" 'select(.path == $p) | [.chunks[].text] | join("\n\n")' "$T_DIR/out"; }

# holds TEXT PART NAME: PART is in TEXT as written, newlines included (grep
# would read each line of a pattern as a pattern of its own).
holds() {
	if [[ $1 == *"$2"* ]]; then ok 0 "$3"; else ok 1 "$3"; printf '#   got: %s\n# wanted: %s\n' "$1" "$2"; fi
}
code=$'```sh\nhugo new project quickstart\ncd quickstart\n```'
table=$'| theme | licence |\n|---|---|\n| ananke | MIT |\n| paper | MIT |'
for f in steps.html steps.epub; do
	t=$(text "$f")
	holds "$t" $'\n1. Create a project:\n\n'"$code"$'\n\nThe folder holds the configuration.\n' \
		"$f: the step's line, its code block fenced with its language, the text after it a paragraph"
	holds "$t" $'\n2. Pick a theme:\n\n'"$table"$'\n\n3. Start the server.' \
		"$f: a table in an item stays pipe rows, the next item after it"
	holds "$t" $'\n- A bullet with code:\n\n```go\nfmt.Println("hello")\n```' "$f: a bullet's code block fenced"
done
# ODT and DOCX have no numbers in the text (list styles number the items).
for f in steps.odt steps.docx; do
	t=$(text "$f")
	holds "$t" $'\n- Create a project:\n\n```\nhugo new project quickstart\ncd quickstart\n```\n' \
		"$f: the step's code paragraphs are one fenced block"
	holds "$t" $'\n- A bullet with code:\n\n```\nfmt.Println("hello")\n```' "$f: a bullet's code block fenced"
	is "$(grep -c '^- hugo new\|^- cd quickstart\|^- fmt' <<<"$t")" 0 "$f: no code line is a list item"
done
# Chunk provenance still names the item's elements.
is "$(jq -r --arg p "$D/steps.html" 'select(.path == $p) | .chunks[0].locator' "$T_DIR/out")" "/html/body/h1" \
	"HTML: the first chunk starts at the page's h1"
done_testing
