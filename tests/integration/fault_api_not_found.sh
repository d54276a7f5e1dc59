#!/bin/bash
# A model API URL whose path is not the API's (OPENAI_BASE_URL without /v1
# on a server that has no route there, a proxy's prefix the server lacks)
# or a model the server does not know: every call is answered 404 (or
# 405).  Before, a 404 was each input's own rejection: every document
# failed alone, one request each, over the whole corpus, and docpipe run
# went on chunking it (fault sweep 11).  Now, as for a server never
# reached, once 3 calls are answered 404/405 with no 2xx in the process's
# life the stage stops as a refused run does (exit 4), naming the URL to
# check; the documents left fail at once.  A 404 after a success stays
# that input's: its document fails alone, the run goes on.
# Likewise a URL whose server answers 200 with a page that is not JSON (a
# web UI's, a proxy's sign-in or block page: fault sweep 20): each such
# answer failed its document at once, over the whole corpus; now 3 with
# no JSON answer in the process's life stop the stage (exit 4).  So do 3
# embeddings of another size than asked, and 3 chat answers cut at the
# output limit, before a right one (below).
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
export OPENAI_API_KEY=test-key

numbered_docs "$T_DIR/docs" 12 12 doc
docpipe-discover "$T_DIR/docs" | docpipe-chunk >"$T_DIR/chunked.ndjson"
kinds() { jq -r .kind "$1" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' '; }
requests() { grep -o 'in [0-9]* requests' "$1" | awk '{print $2}'; }
fakeapi
url_hint='the model API answered 3 calls with HTTP 404 and none with success \(HTTP 404: no route /proxy/v1/[a-z/]*\): check its URL'

# summarize and embed with a path prefix the server lacks (404 "no route").
docpipe-summarize --backend openai --no-reuse --threads 2 --base-url "$BASE/proxy/v1" \
	<"$T_DIR/chunked.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
is "$?/$(kinds "$T_DIR/out")" "4/error=12 " \
	"summarize, every call 404: the stage stops as refused (exit 4), every document failed by name"
like "$(cat "$T_DIR/err")" "stopped: $url_hint" "... naming the URL to check"
n=$(requests "$T_DIR/err")
# At --threads 2: the third 404 and the one call beside it (4).  The third
# was counted after its place was given back, and other calls went in
# between: 6 in a loaded make check.
ok $([ "${n:-99}" -le 5 ] && echo 0 || echo 1) "... after 3 calls and those beside them, not 12 ($n requests)"

docpipe-embed --backend openai --no-reuse --base-url "$BASE/proxy/v1" \
	<"$T_DIR/chunked.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
is "$?/$(kinds "$T_DIR/out")" "4/error=12 " "embed, every call 404: exit 4, every document failed by name"
like "$(cat "$T_DIR/err")" "stopped: $url_hint" "... naming the URL to check"

# docpipe run: the run stops with the stage (status 4), said once.
newdb || exit 1
docpipe run "$T_DIR/docs" --progress none --opt summarize=--backend=openai \
	--opt "summarize=--base-url=$BASE/proxy/v1" >"$T_DIR/report" 2>"$T_DIR/err"
is "$?/$(jq -r '.added' "$T_DIR/report")" "4/0" "docpipe run: status 4, nothing stored" ||
	diag "$(tail -5 "$T_DIR/err" | cut -c1-300)"
like "$(cat "$T_DIR/err")" "$url_hint" "... the reason said" || diag "$(tail -5 "$T_DIR/err" | cut -c1-300)"

# Every call answered 200 with an HTML page, summarize and embed.
page_hint='the model API answered 3 calls with HTTP 200 pages that are not JSON and none with JSON \(malformed response body \(HTTP 200, [0-9]* bytes\): not JSON: "<html>.*check its URL'
pages() { api_reset; api_control "$(jq -nc '{faults: [range(40) | {endpoint: "*", kind: "html", status: 200}]}')"; }
pages
docpipe-summarize --backend openai --no-reuse --threads 2 <"$T_DIR/chunked.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
is "$?/$(kinds "$T_DIR/out")" "4/error=12 " \
	"summarize, every call a 200 HTML page: the stage stops as refused (exit 4), every document failed by name"
like "$(cat "$T_DIR/err")" "stopped: $page_hint" "... naming the URL to check"
n=$(api_requests chat)
ok $([ "${n:-99}" -le 5 ] && echo 0 || echo 1) "... after 3 calls and those beside them, not 12 ($n requests)"
pages
docpipe-embed --backend openai --no-reuse --batch-inputs 1 <"$T_DIR/chunked.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
is "$?/$(kinds "$T_DIR/out")" "4/error=12 " "embed, every call a 200 HTML page: exit 4, every document failed by name" ||
	diag "$(cut -c1-300 "$T_DIR/err")"
like "$(cat "$T_DIR/err")" "stopped: $page_hint" "... naming the URL to check"
api_reset

# Every embedding answered with vectors of another size than asked (a
# server that ignores "dimensions", fault sweep 20): every document failed,
# each request paid (59 requests for 30 documents); now 3 such answers
# before one of the size asked stop the stage (exit 4).
api_reset
api_control "$(jq -nc '{faults: [range(40) | {endpoint: "embed", kind: "wrong_dim"}]}')"
docpipe-embed --backend openai --no-reuse --batch-inputs 1 --threads 4 <"$T_DIR/chunked.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
is "$?/$(kinds "$T_DIR/out")" "4/error=12 " "embed, every vector one value too long: exit 4, every document failed by name" ||
	diag "$(cut -c1-300 "$T_DIR/err")"
like "$(cat "$T_DIR/err")" 'stopped: the model API answered 3 requests with vectors of about 385 values and none with the 384 asked for \(sent as "dimensions"\)' \
	"... naming both sizes"
# The size is judged before the request's place in flight is given back
# (dp_http_judge): the third refuses the run while it holds its place, so
# no request starts after it.  At --threads 4 that leaves the third and
# the 3 at most in flight beside it, 6 requests whatever the load.  Judged
# after the place was given back, each of the stage's workers waiting for
# a place (2 per place) sent one more: 7-12 under load.
n=$(api_requests embed)
ok $([ "${n:-99}" -le 6 ] && echo 0 || echo 1) "... after 3 requests and the 3 beside them at --threads 4, not 12 ($n requests)"
api_reset

# Every chat answer cut at the server's output limit (a proxy's or LM
# Studio's small default max_tokens; fault sweep 20): every document
# failed, each answer paid; now 3 cut answers before a whole one stop the
# stage (exit 4).
# As embed's wrong size above, the cut is judged before the place is given
# back: at --threads 4, 6 requests at most (summarize's 16 workers, 4 per
# place, sent up to 12 when it was judged after).
api_control '{"chat_answer":{"input":"","content":"The document descr","finish_reason":"length"}}'
docpipe-summarize --backend openai --no-reuse --threads 4 <"$T_DIR/chunked.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
is "$?/$(kinds "$T_DIR/out")" "4/error=12 " "summarize, every answer cut at the output limit: exit 4, every document failed by name" ||
	diag "$(cut -c1-300 "$T_DIR/err")"
like "$(cat "$T_DIR/err")" 'stopped: the model API cut 3 answers at its output token limit and gave none whole \(answer cut at the server.s output token limit \(finish_reason "length"\): raise the model.s output limit on the server\)' \
	"... saying what to raise"
n=$(api_requests chat)
ok $([ "${n:-99}" -le 6 ] && echo 0 || echo 1) "... after 3 answers and the 3 beside them at --threads 4, not 12 ($n requests)"
api_reset

# A 404 after successes is the input's: 3 documents fail alone, the rest
# are summarized (one thread: the documents go in order).
api_control '{"faults":[{"endpoint":"chat","status":404,"input":"doc 5"},{"endpoint":"chat","status":404,"input":"doc 7"},{"endpoint":"chat","status":404,"input":"doc 9"}]}'
docpipe-summarize --backend openai --no-reuse --threads 1 <"$T_DIR/chunked.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
is "$?/$(kinds "$T_DIR/out")" "1/document=9 error=3 " "404s after successes: those 3 documents fail alone, 9 summarized" ||
	diag "$(cut -c1-300 "$T_DIR/err")"
done_testing
