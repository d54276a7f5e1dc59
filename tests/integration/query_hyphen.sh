#!/bin/bash
# A hyphenated question word is one lexeme (docpipe's lexer keeps
# "state-of-the-art" whole and in parts, as PostgreSQL's parser does): the
# text side must search for that lexeme as it is.  plainto_tsquery made it
# an AND of its unstemmed parts and stop words, which no stored tsvector
# has, so the compound never counted and a chunk with the words apart
# ranked the same.
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail

{ doc_record /h/apart.md a1 "Art of the state: state art."
  doc_record /h/compound.md c1 "Our new compiler is state-of-the-art, and its error messages are the clearest we have seen in any language tool."; } >docs.ndjson

newdb || exit 1
docpipe-embed <docs.ndjson | docpipe-store -q >/dev/null
is "$?" 0 "stored"
for mode in text hybrid; do
	is "$(docpipe-query --mode $mode --json -k 1 'state-of-the-art' | jq -r .path)" /h/compound.md \
		"$mode: the chunk with the hyphenated word ranks first"
done
is "$(docpipe-query --mode text --json -k 5 'utf-8 state' | jq -r .path | sort | paste -sd ' ')" \
	"/h/apart.md /h/compound.md" "other terms still match"
done_testing
