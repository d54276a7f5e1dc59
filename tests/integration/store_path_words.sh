#!/bin/bash
# The words of a document's path below its root (directories, the file name
# without its extension, an identifier-like file name also in its pieces:
# "PrevInSection" -> prev, section) are lexed into its first chunk's
# tsvector with the summary's weight (B): a reference page whose text never
# names what it is for is found by its file name, by text and hybrid
# search.  Stored the same way on both write paths and by the in-place
# re-lexing of a corpus stored by an older lexer (text_lexer docpipe-v2),
# which queries still read meanwhile.
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail
newdb || exit 1

V=$(f32_base64 1 0 0 0)
doc() { # doc PATH ROOT TEXT1 TEXT2
	jq -nc --arg p "$1" --arg r "$2" --arg a "$3" --arg b "$4" --arg v "$V" \
		'{v:1, kind:"document", path:$p, root:$r, content_hash:$p, embedder:"local/fh-v1", dim:4,
		  chunks:[{seq:0, text:$a, heading:["Usage"], vec:$v}, {seq:1, text:$b, heading:["Usage", "More"], vec:$v}]}'
}
{
	doc /d/functions/strings/Replace.md /d "{{ \$s | old new }} returns a copy of the input." "Limit the count with a third argument."
	doc /d/methods/page/PrevInSection.md /d "{{ with .X }}{{ .Title }}{{ end }} on a regular page." "Returns nil at the edge."
	doc /d/templates/HTMLEscape.md /elsewhere "Lilo & Stitch becomes entities." "Five characters in all."
	doc /d/guide/intro.md /d "Templates render pages from content files." "Partials are small templates."
} >docs.ndjson
lacks() { ok "$(grep -qE -- "$2" <<<"$1" && echo 1 || echo 0)" "$3"; } # lacks GOT REGEX NAME
tsv_of() { sql "SELECT c.tsv::text FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id
	WHERE d.path = '$1' AND c.seq = $2"; }
top_text() { docpipe-query --mode text --json "$1" | jq -r '.path' | head -1; }

docpipe-store -q <docs.ndjson >/dev/null; is "$?" 0 "store (COPY)"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_lexer'")" docpipe-v3 "text_lexer docpipe-v3"
replace=$(tsv_of /d/functions/strings/Replace.md 0)
like "$replace" "'replac':[0-9]+B" "the file name is in the first chunk, weight B"
like "$replace" "'function':[0-9]+B .*'string':[0-9]+B" "so are the directories below the root"
lacks "$replace" "'d':" "not the root's own words"
lacks "$(tsv_of /d/functions/strings/Replace.md 1)" "replac|string" "and no other chunk has them"
lacks "$replace" "'md'" "nor the extension"
prev=$(tsv_of /d/methods/page/PrevInSection.md 0)
like "$prev" "'prev':[0-9]+B" "an identifier file name in its pieces: prev"
like "$prev" "'section':[0-9]+B" "and section"
like "$prev" "'previnsect':[0-9]+B" "and whole"
escape=$(tsv_of /d/templates/HTMLEscape.md 0)
like "$escape" "'escap':[0-9]+B" "a run of capitals ends where a piece begins (HTML Escape)"
lacks "$escape" "templat" "a root that is not the path's prefix: the file name alone"

is "$(top_text "replace strings")" /d/functions/strings/Replace.md "text search finds the page by its path's words"
is "$(top_text "previous page in the section prev")" /d/methods/page/PrevInSection.md "and by an identifier's pieces"
out=$(docpipe-query --json "how do I replace part of a string" | jq -r '.path' | head -1)
is "$out" /d/functions/strings/Replace.md "hybrid search too"

newdb || exit 1
docpipe-store -q --write-method insert <docs.ndjson >/dev/null; is "$?" 0 "store (INSERT)"
is "$(tsv_of /d/functions/strings/Replace.md 0)" "$replace" "the INSERT path stores the same tsvector"

# A corpus lexed by docpipe-v2 (no path words): queries read it meanwhile;
# the next store lexes it again in place, as a fresh store does.
sql "UPDATE docpipe.settings SET value = 'docpipe-v2' WHERE key = 'text_lexer'" >/dev/null
# (PostgreSQL's parser would make "lilo/stitch" one file-path token.)
is "$(top_text "lilo/stitch")" /d/templates/HTMLEscape.md "a docpipe-v2 corpus is searched with docpipe's terms"
sql "UPDATE docpipe.chunks SET tsv = NULL" >/dev/null
docpipe-store -q </dev/null; is "$?" 0 "the next store re-lexes a docpipe-v2 corpus"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_lexer'")" docpipe-v3 "text_lexer docpipe-v3"
is "$(tsv_of /d/functions/strings/Replace.md 0)" "$replace" "re-lexed: the first chunk as a fresh store makes it"
is "$(tsv_of /d/methods/page/PrevInSection.md 0)" "$prev" "re-lexed: the identifier's pieces too"
lacks "$(tsv_of /d/functions/strings/Replace.md 1)" "replac" "re-lexed: no path words in the other chunks"
is "$(top_text "replace strings")" /d/functions/strings/Replace.md "found after the re-lexing"

done_testing
