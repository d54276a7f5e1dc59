#!/bin/bash
# docpipe-embed asks an OpenAI-compatible server for base64 vectors (as
# OpenAI's own client does) and takes JSON numbers from a server that
# refuses base64: one refused request, then numbers; the vectors are exact
# either way.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
unset DATABASE_URL OPENAI_API_KEY PGDATABASE

cat >"$T_DIR/docs.ndjson" <<'JSON'
{"v":1,"kind":"document","path":"/d/a.md","chunks":[{"seq":0,"text":"alpha one"},{"seq":1,"text":"alpha two"}]}
{"v":1,"kind":"document","path":"/d/b.md","chunks":[{"seq":0,"text":"bravo, café ☕"},{"seq":1,"text":"bravo two"}]}
{"v":1,"kind":"document","path":"/d/c.md","chunks":[{"seq":0,"text":"charlie one"}]}
JSON
embed() { docpipe-embed --backend openai --no-reuse --dim 384 "$@" <"$T_DIR/docs.ndjson"; }

fakeapi
embed -j 2 --batch-inputs 2 >"$T_DIR/o1" 2>"$T_DIR/e1"
is "$?" 0 "base64 server: exit 0"
is "$(inexact_vectors "$T_DIR/o1")" 0 "base64 server: every vector exact (384 dimensions)"
is "$(api_stats .encodings)" '{"base64":3}' "every request asked for base64"

fakeapi --no-base64
embed -j 1 --batch-inputs 1 >"$T_DIR/o2" 2>"$T_DIR/e2"
is "$?" 0 "a server that refuses base64: exit 0"
is "$(jq -s 'map(select(.error)) | length' "$T_DIR/o2")" 0 "no document failed"
is "$(inexact_vectors "$T_DIR/o2")" 0 "its vectors (JSON numbers) are exact"
# Each request is built before it waits for its turn: the two workers per
# request in flight (docpipe-embed's) may both have asked for base64.
is "$(api_stats '.encodings.float == 5 and .encodings.base64 <= 2')" true \
	"base64 refused at most once per worker (2 at -j 1), then numbers: one request per input"
is "$(api_stats '.status.embed["400"] == .encodings.base64')" true "the only 400s are the base64 refusals"

fakeapi --no-base64
embed -j 3 --batch-inputs 1 >"$T_DIR/o3" 2>"$T_DIR/e3"
is "$?" 0 "-j 3 against a server that refuses base64: exit 0"
is "$(inexact_vectors "$T_DIR/o3")" 0 "-j 3: vectors exact"
is "$(api_stats '.encodings.base64 <= 6 and .encodings.float == 5')" true \
	"-j 3: at most 6 base64 requests refused (2 workers per request in flight), 5 with numbers"

# A base64 vector of the wrong size: its document fails, naming why; the
# others of the same request are asked again (halves) and stored.  Twice:
# a request of one document answered wrongly is sent once more.
fakeapi
api_control '{"faults":[{"endpoint":"embed","kind":"bad_base64","input":"alpha one"},{"endpoint":"embed","kind":"bad_base64","input":"alpha one"}]}'
embed -j 1 --batch-inputs 1 >"$T_DIR/o5" 2>"$T_DIR/e5"
is "$?" 1 "a bad base64 vector: exit 1 (a document failed)"
is "$(jq -r 'select(.error) | .path' "$T_DIR/o5")" "/d/a.md" "only the document with the bad vector failed"
like "$(jq -r 'select(.error) | .error' "$T_DIR/o5")" "base64 vector for input 0: .*4 base64 characters.* \(see --dim\)$" \
	"the error names the input and the size, and embed's --dim"
is "$(jq -s 'map(select(.error | not)) | length' "$T_DIR/o5")" 2 "the other documents are stored"
is "$(inexact_vectors <(jq -c 'select(.error | not)' "$T_DIR/o5"))" 0 "their vectors exact"

# A refusal that is not about base64 (a bad input) is still its document's
# failure alone, after one try with numbers.
fakeapi
api_control '{"bad_input":"bravo two"}'
embed -j 1 --batch-inputs 1 >"$T_DIR/o4" 2>"$T_DIR/e4"
is "$?" 1 "a rejected input: exit 1 (a document failed)"
is "$(jq -r 'select(.error) | .path' "$T_DIR/o4")" "/d/b.md" "only the document with the rejected input failed"
is "$(inexact_vectors <(jq -c 'select(.error | not)' "$T_DIR/o4"))" 0 "the others' vectors exact"
done_testing
