#!/bin/bash
# A list item's code block and table stay code and rows in converted formats
# (README "Formats": HTML's list items, ODT's code styles in list items).
# pandoc writes numbered steps with a command in each step as <li><p>..</p>
# <div><pre>..</pre></div></li> (HTML, EPUB) or as code-styled paragraphs in
# a text:list-item (ODT): the HTML converter flattened the item into one line
# ("1. Create a project: hugo new project quickstart cd quickstart The
# folder ..."), the ODT one made each code line a list item of its own.
# DOCX and ODT numbered lists are numbered as HTML's ol are: their numbers
# live in word/numbering.xml and the ODT list styles, and every item came
# out a bullet ("- Update the changelog."); an item's second paragraph was
# an item of its own.
# The files are in tests/data/formats-lists (README there).
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail

D=$TOP/tests/data/formats-lists
chunk_files "$D" steps.html steps.epub steps.odt steps.docx numbered.html numbered.epub numbered.odt numbered.docx \
	continued.docx continued.odt
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
	contains "$t" $'\n1. Create a project:\n\n```\nhugo new project quickstart\ncd quickstart\n```\n' \
		"$f: the step's code paragraphs are one fenced block"
	contains "$t" $'```\n\nThe folder holds the configuration.\n\n2. Pick a theme:\n\n'"$table"$'\n\n3. Start the server.\n\n- A bullet' \
		"$f: the step's text after its code a paragraph, the steps counted on past it and the table; the next list a block"
	contains "$t" $'\n- A bullet with code:\n\n```\nfmt.Println("hello")\n```' "$f: a bullet's code block fenced"
	is "$(grep -c '^- hugo new\|^- cd quickstart\|^- fmt' <<<"$t")" 0 "$f: no code line is a list item"
done
# The same numbered lists in the four formats read alike: nested levels
# under their item's text, a bullet list's numbered sublist, a list that
# starts again, one that starts at 5, letters and Roman numerals numbered.
want=$'Before a release:\n\n1. Update the changelog.\n2. Run the tests:\n   1. unit tests;\n   2. integration tests.\n3. Tag the release.\n\nNotes:\n\n- Bullets stay bullets.\n- Nested under a bullet:\n  1. first check\n  2. second check\n\nAfter the release:\n\n1. Announce it.\n2. Close the milestone.\n\nFrom five:\n\n5. Fifth step.\n6. Sixth step.\n\nIn Roman numerals:\n\n1. Part one.\n2. Part two.'
for f in numbered.html numbered.epub numbered.odt numbered.docx; do
	contains "$(chunks_text "$f")" "$want" "$f: numbered lists"
done
# Counts go on and start again as Word and LibreOffice number them.
is "$(chunks_text continued.docx)" $'Steps:\n\n1. First.\n2. Second.\n\nA paragraph between.\n\n3. Third, counted on.\n4. Fourth, another num of the same list.\n\n1. One again.\n   1. Sub item.\n2. Two.\n\nNumbering removed.\n\n- A bullet.' \
	"continued.docx: a list counted on past a paragraph and into another num of its abstractNum, restarted by a startOverride; numId 0 is no item"
is "$(chunks_text continued.odt)" $'Steps:\n\n1. First.\n2. Second.\n\nMore about the second.\n\nA paragraph between.\n\n3. Third, counted on.\n\nA header without a number.\n\n4. Fourth.\n   1. Sub one.\n\n1. One again.\n7. Seven.\n8. Eight.\n\n- A bullet.' \
	"continued.odt: a list continued (continue-numbering), a header without a label, a new list from 1, an item's start-value, styles.xml's list style"
is "$(jq -r '.chunker | split(" ")[0]' "$T_DIR/out" | sort -u | tr '\n' ' ')" "docx-v4 epub-v4 html-v4 odt-v3 " \
	"the converters' identity is new: stored documents are chunked again"
# Chunk provenance still names the item's elements.
is "$(jq -r --arg p "$D/steps.html" 'select(.path == $p) | .chunks[0].locator' "$T_DIR/out")" "/html/body/h1" \
	"HTML: the first chunk starts at the page's h1"
done_testing
