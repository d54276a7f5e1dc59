#!/bin/bash
# A document's description (front matter, HTML meta: meta.description) is
# lexed into its first chunk's tsvector with the summary's weight (B): a
# reference page whose text never says what it is for is found by the
# words of its description, by text and hybrid search.  Stored the same
# way on both write paths and by the in-place re-lexing of a corpus stored
# by an older lexer (text_lexer docpipe-v1).
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail
newdb || exit 1

V=$(f32_base64 1 0 0 0)
doc() { # doc PATH DESCRIPTION TEXT1 TEXT2
	jq -nc --arg p "$1" --arg d "$2" --arg a "$3" --arg b "$4" --arg v "$V" \
		'{v:1, kind:"document", path:$p, root:"/d", content_hash:$p, embedder:"local/fh-v1", dim:4,
		  meta:(if $d == "" then {title:"t"} else {title:"t", description:$d} end),
		  chunks:[{seq:0, text:$a, heading:["Options"], vec:$v}, {seq:1, text:$b, heading:["Options", "More"], vec:$v}]}'
}
{
	doc /d/ref.md "Configure the reverse proxy for eviction of stale responses" \
		"| name | default |\n| ttl | 10s |" "| maxAge | 1h |"
	doc /d/other.md "" "Templates render pages from content files." "Partials are small templates."
} >docs.ndjson
lacks() { ok "$(grep -qE -- "$2" <<<"$1" && echo 1 || echo 0)" "$3"; } # lacks GOT REGEX NAME
tsv_of() { sql "SELECT c.tsv::text FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id
	WHERE d.path = '$1' AND c.seq = $2"; }

docpipe-store -q <docs.ndjson >/dev/null; is "$?" 0 "store (COPY)"
first=$(tsv_of /d/ref.md 0)
like "$first" "'proxi':[0-9]+B" "the description is in the first chunk, weight B"
lacks "$(tsv_of /d/ref.md 1)" "proxi" "and in no other chunk"
lacks "$(tsv_of /d/other.md 0)" "[0-9]B.*[0-9]B" "a document without a description: no B lexeme but its path's"
out=$(docpipe-query --mode text --json "reverse proxy eviction" | jq -r '.path' | head -1)
is "$out" /d/ref.md "text search finds the page by its description"
out=$(docpipe-query --json "how do I configure the reverse proxy" | jq -r '.path' | head -1)
is "$out" /d/ref.md "hybrid search too"

newdb || exit 1
docpipe-store -q --write-method insert <docs.ndjson >/dev/null; is "$?" 0 "store (INSERT)"
is "$(tsv_of /d/ref.md 0)" "$first" "the INSERT path stores the same tsvector"

# A corpus lexed by docpipe-v1 (no description): the next store lexes it
# again in place, description included, as a fresh store does.
sql "UPDATE docpipe.chunks SET tsv = NULL" >/dev/null
sql "UPDATE docpipe.settings SET value = 'docpipe-v1' WHERE key = 'text_lexer'" >/dev/null
docpipe-store -q </dev/null; is "$?" 0 "the next store re-lexes a docpipe-v1 corpus"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_lexer'")" docpipe-v3 "text_lexer docpipe-v3"
is "$(tsv_of /d/ref.md 0)" "$first" "re-lexed: the first chunk as a fresh store makes it"
lacks "$(tsv_of /d/ref.md 1)" "proxi" "re-lexed: no description in the other chunks"
out=$(docpipe-query --mode text --json "reverse proxy eviction" | jq -r '.path' | head -1)
is "$out" /d/ref.md "found after the re-lexing"

done_testing
