#!/bin/bash
# Identifiers in either form (docpipe's lexer docpipe-v2): a chunk that only
# says useState is found by "use state" and a chunk that only says
# "reading time" by ReadingTime, in text and hybrid mode; snake_case and
# dotted names likewise.  A corpus lexed by docpipe-v1 is lexed again by
# the next store run (text_lexer in docpipe.settings).  The suite reruns it
# with pgvector (tests/run).
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail

{ doc_record /i/hook.md h1 "Call useState at the top of your component; it returns a pair."
  doc_record /i/time.md t1 "The reading time estimate shows how many minutes an article takes."
  doc_record /i/server.md s1 "An HTTPServer listens on a port and answers requests."
  doc_record /i/option.md o1 "Set max_retry_count in the configuration file of the client."
  doc_record /i/remote.md r1 "Call resources.GetRemote with a URL to fetch a remote file."
  doc_record /i/cafe.md c1 "The cafe serves coffee and croissants every morning."; } >docs.ndjson

newdb || exit 1
docpipe-embed <docs.ndjson | docpipe-store -q >/dev/null
is "$?" 0 "stored"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_lexer'")" docpipe-v2 "text_lexer docpipe-v2"
first() { docpipe-query --mode "$1" --json -k 1 -- "$2" | jq -r .path; }
for mode in text hybrid; do
	is "$(first $mode 'use state')" /i/hook.md "$mode: 'use state' finds useState"
	is "$(first $mode 'ReadingTime')" /i/time.md "$mode: ReadingTime finds 'reading time'"
	is "$(first $mode 'http server')" /i/server.md "$mode: 'http server' finds HTTPServer"
	is "$(first $mode 'max retry count')" /i/option.md "$mode: words find a snake_case name"
	is "$(first $mode 'get remote')" /i/remote.md "$mode: words find a dotted CamelCase name"
done
like "$(sql "SELECT tsv::text FROM docpipe.chunks c JOIN docpipe.documents d
	ON d.id = c.document_id WHERE d.path = '/i/hook.md'")" "'state':4 .*'use':3 'usest':2" \
	"the stored tsvector holds the whole and then its pieces"
is "$(docpipe-query --mode text --json -k 5 -- 'useState' | jq -r .path | paste -sd ' ')" /i/hook.md \
	"useState finds only its chunk"

# A corpus of docpipe-v1 (no pieces: PostgreSQL's own tsvectors stand in):
# the query still uses docpipe's lexer; the next store run lexes every
# chunk again.
sql "UPDATE docpipe.chunks SET tsv = to_tsvector('english', content)" >/dev/null
sql "UPDATE docpipe.settings SET value = 'docpipe-v1' WHERE key = 'text_lexer'" >/dev/null
is "$(first text 'use state')" "" "docpipe-v1 corpus: no pieces to find"
is "$(first text 'useState')" /i/hook.md "docpipe-v1 corpus: the whole word still found"
docpipe-store -q </dev/null; is "$?" 0 "the next store run"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_lexer'")" docpipe-v2 "migrated: text_lexer docpipe-v2"
is "$(first text 'use state')" /i/hook.md "migrated: 'use state' finds useState"
done_testing
