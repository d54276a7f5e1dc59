#!/bin/bash
# Answers of the model API (or a proxy before it) that are unusual but not
# wrong, and error pages that are not JSON (tests/fakeapi.py's fault kinds
# html, http10, trickle): a proxy's HTML 502/500 page is retried like any
# 5xx (api_promises.sh checks how a body that is not JSON is quoted); an
# HTTP/1.0 answer without
# Content-Length (its body ends at the close) and an answer trickling in
# one byte at a time are taken.  Summarize and embed alike (sweep of
# session 20: all held already; this keeps them).  A 503 page of 2 MiB,
# over what the request can need (an application server's stack trace),
# is retried like any 503 (fault sweep 13: the document failed at once,
# "response over ... bytes").
. "$(dirname "$0")/../lib/tap.sh"
export OPENAI_API_KEY=k
numbered_docs "$T_DIR/d" 3 40 n
docpipe-discover "$T_DIR/d" | docpipe-chunk >"$T_DIR/chunks.ndjson"
fakeapi
stage() { # stage chat|embed ARGS...: the stage of that endpoint over the 3 documents
	local ep=$1
	shift
	if [ "$ep" = chat ]; then
		docpipe-summarize --backend openai --no-reuse "$@" <"$T_DIR/chunks.ndjson" >"$T_DIR/o" 2>"$T_DIR/e"
	else
		docpipe-embed --backend openai --dim 16 --no-reuse "$@" <"$T_DIR/chunks.ndjson" >"$T_DIR/o" 2>"$T_DIR/e"
	fi
}
docs() { jq -r 'select(.kind=="document") | .path' "$T_DIR/o" | wc -l | tr -d ' '; }
for ep in chat embed; do
	for f in '"kind":"html","status":502' '"kind":"html","status":500' '"kind":"html","status":503,"bytes":2097152' \
		'"kind":"http10"' '"kind":"trickle","seconds":1'; do
		api_reset
		api_control "{\"faults\":[{\"endpoint\":\"$ep\",$f}]}"
		stage $ep --retries 2
		rc=$?
		# chat: one request per document; embed: one or more for all
		# three (its batches follow the input's timing); a 5xx page one more.
		n=$(api_requests $ep) want=$([ $ep = chat ] && echo 3 || echo 1)
		case $f in *html*) want=$((want + 1)) ;; esac
		[ $ep = embed ] && [ "$n" -ge "$want" ] && want=$n
		is "$rc:$(docs):$n" "0:3:$want" "$ep, {$f}: exit 0, every document out, $want requests"
	done
done

# A 200 whose body is not JSON (a gateway's page, an answer cut short with a
# right Content-Length) from a server that has answered JSON is tried again
# as a 5xx (before: that document failed at once); as the first answer (a
# wrong URL's web server) it fails at once, as no attempt would mend it.
# One thread, so the third document's request comes after two answers.
for ep in chat embed; do
	api_reset
	api_control "{\"faults\":[{\"endpoint\":\"$ep\",\"kind\":\"malformed\",\"input\":\"n 3\"}]}"
	stage $ep --retries 3 --threads 1 $([ $ep = embed ] && echo --batch-inputs 1)
	is "$?:$(docs):$(api_requests $ep)" "0:3:4" "$ep: a 200 not JSON after JSON answers: tried again, every document out, 4 requests"
done
api_reset
api_control '{"faults":[{"endpoint":"chat","kind":"malformed"}]}'
stage chat --retries 3 --threads 1
is "$?:$(docs):$(api_requests chat)" "1:2:3" "chat: a 200 not JSON as the first answer: that document fails at once (3 requests)"
like "$(jq -r 'select(.kind=="error") | .error' "$T_DIR/o")" 'malformed response body \(HTTP 200, [0-9]+ bytes\): not JSON' "and its error says why"

# A right answer holding the escape of a lone UTF-16 surrogate ("\ud800",
# from a server that cut an emoji's pair) is taken, the surrogate read as
# U+FFFD as most JSON parsers do.  jq 1.6's parser refused it (sweep 7):
# as the first answer its document failed "not JSON", after one it was
# retried as a 5xx, the same answer paid again.  Chat's is in its content
# (the summary), embed's in its "model".
for ep in chat embed; do
	for n in 1 3; do
		api_reset
		api_control "{\"faults\":[{\"endpoint\":\"$ep\",\"kind\":\"lone_surrogate\",\"input\":\"n $n\"}]}"
		stage $ep --retries 3 --threads 1 $([ $ep = embed ] && echo --batch-inputs 1)
		is "$?:$(docs):$(api_requests $ep)" "0:3:3" "$ep: a lone surrogate escape in answer $n: taken, every document out, 3 requests"
	done
done
api_reset
api_control '{"faults":[{"endpoint":"chat","kind":"lone_surrogate","input":"n 3"}]}'
stage chat --threads 1
is "$?:$(jq -r 'select(.path | endswith("/n3.md")) | .summary' "$T_DIR/o")" "0:bad "$'\xef\xbf\xbd'" x" \
	"chat: the summary holds U+FFFD where the lone surrogate was"

# A lone call in a storm (a run's last): 429s with a 500 now and then.
# Its 500s spent its attempts, since no other call met errors to show the
# storm: the fault suite's storm_burst failed a document 1 run in 2.  A
# call that met more 429s than server errors takes its 5xx for weather,
# retried at its 429s' pace.
api_reset
t='{"endpoint":"chat","status":429,"retry_after_ms":50}' e='{"endpoint":"chat","status":500}'
api_control "{\"faults\":[$t,$t,$e,$t,$t,$e,$t,$t,$e,$t,$t,$e]}"
head -n 1 "$T_DIR/chunks.ndjson" | docpipe-summarize --backend openai --no-reuse --retries 3 >"$T_DIR/o" 2>"$T_DIR/e"
is "$?:$(docs):$(api_requests chat)" "0:1:13" "a lone call: 4 x (2 429s, a 500), --retries 3: the document is out (it failed before)"
# A poison input among 429s still fails after its attempts: its 500s
# outnumber its 429s.
api_reset
api_control "{\"faults\":[$t,$e,$e,$e,$e,$e]}"
head -n 1 "$T_DIR/chunks.ndjson" | docpipe-summarize --backend openai --no-reuse --retries 3 >"$T_DIR/o" 2>"$T_DIR/e"
is "$?:$(api_requests chat)" "1:5" "a 429 then 500s, --retries 3: the first 500 is weather (one 429 before it), then 3 counted attempts fail it"

# A 4xx whose body is a proxy's HTML page (nginx's "413 Request Entity Too
# Large") said only "HTTP 413: (no message)" (helper's fault sweep 5): the
# page's start is quoted.
api_reset
api_control '{"faults":[{"endpoint":"chat","kind":"html","status":413}]}'
stage chat --retries 3 --threads 1
like "$(jq -r 'select(.kind=="error") | .error' "$T_DIR/o")" 'HTTP 413: not JSON: "<html><body><h1>413' "a 4xx HTML page: its start is the reason"
done_testing
