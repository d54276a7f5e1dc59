#!/bin/bash
# docpipe-embed against the local OpenAI/Ollama-compatible test server:
# exact vectors, order, retries, faults, quota refusal, reuse, the key.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

KEY="sk-test-$RANDOM$RANDOM-secret"
fakeapi --require-key "$KEY"
export OPENAI_API_KEY=$KEY

# Three documents, 5 chunks in all; b has a text the server can be told to reject.
cat >"$T_DIR/docs.ndjson" <<'JSON'
{"v":1,"kind":"document","path":"/d/a.md","chunks":[{"seq":0,"text":"alpha one"},{"seq":1,"text":"alpha two"}]}
{"v":1,"kind":"document","path":"/d/b.md","chunks":[{"seq":0,"text":"bravo BADTEXT"},{"seq":1,"text":"bravo two"}]}
{"v":1,"kind":"document","path":"/d/c.md","chunks":[{"seq":0,"text":"charlie one"}]}
JSON

docpipe-embed --backend openai --dim 16 -j 3 --batch-inputs 1 <"$T_DIR/docs.ndjson" >"$T_DIR/o1" 2>"$T_DIR/e1"
is "$?" 0 "openai backend: exit 0"
is "$(jq -r 'select(.kind=="document") | .embedder' "$T_DIR/o1" | sort -u)" "openai/text-embedding-3-small" "embedder identity backend/model"
is "$(inexact_vectors "$T_DIR/o1")" 0 "every vector is exactly what the server returned for its text"
is "$(api_requests embed)" 5 "--batch-inputs 1: one request per chunk"
is "$(sql 'SELECT count(*) FROM docpipe.embedding_cache')" 5 "results kept in docpipe.embedding_cache"

api_reset
docpipe-embed --backend openai --dim 16 -j 2 <"$T_DIR/docs.ndjson" >"$T_DIR/o2" 2>"$T_DIR/e2"
is "$(api_requests embed)" 0 "unchanged re-run: zero requests"
is "$(inexact_vectors "$T_DIR/o2")" 0 "reused vectors are the same"
like "$(cat "$T_DIR/e2")" "5 vectors reused, 0 requested" "reuse reported"

api_reset
sed 's/alpha two/alpha two, edited/' "$T_DIR/docs.ndjson" >"$T_DIR/edited.ndjson"
docpipe-embed --backend openai --dim 16 <"$T_DIR/edited.ndjson" >"$T_DIR/o3" 2>"$T_DIR/e3"
is "$(api_stats '[.requests.embed, .inputs.embed, .log[0].inputs]')" '[1,1,["alpha two, edited"]]' \
	"one edited chunk: one request with only that text"
is "$(inexact_vectors "$T_DIR/o3")" 0 "edited document's vectors are right"

api_reset
docpipe-embed --backend openai --dim 16 --refresh <"$T_DIR/docs.ndjson" >/dev/null 2>&1
# Each chunk's text asked once (three documents may leave in one request
# or in two: a reader held up 2 ms between them sends what it has).
is "$(api_stats '[.log[].inputs[]] | sort')" \
	'["alpha one","alpha two","bravo BADTEXT","bravo two","charlie one"]' \
	"--refresh makes new requests (every chunk asked anew, once)"

api_reset
OLLAMA_API_KEY=$KEY docpipe-embed --backend ollama --base-url "$BASE" --dim 8 --no-reuse <"$T_DIR/docs.ndjson" >"$T_DIR/o4" 2>"$T_DIR/e4"
is "$?" 0 "ollama backend: exit 0"
is "$(inexact_vectors "$T_DIR/o4")" 0 "ollama vectors exact"
is "$(jq -r 'select(.path=="/d/a.md") | .embedder' "$T_DIR/o4")" "ollama/nomic-embed-text" "ollama identity"

# Faults.  --no-reuse so each run asks the server.  One document: one
# batch, so the request after the 429 is its retry (with three, a second
# batch could leave as the 429 came back and meet the 503: a gap of 2 ms
# that was no retry, seen once on a loaded machine).
api_reset
api_control '{"faults":[{"endpoint":"embed","status":429,"retry_after":1},{"endpoint":"embed","status":503}]}'
start=$(date +%s%N)
head -n 1 "$T_DIR/docs.ndjson" | docpipe-embed --backend openai --dim 16 --no-reuse >"$T_DIR/o5" 2>"$T_DIR/e5"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
is "$rc" 0 "429 and 503 are retried"
is "$(inexact_vectors "$T_DIR/o5")" 0 "vectors right after retries"
# The wait between the 429's answer and the next request is the server's
# (1 s), not the normal backoff (250-500 ms for a first retry).  At least
# that: a busy machine only lengthens it (this test runs beside others; the
# wait's upper bound is api_throughput's, a test run alone).
gap=$(api_stats '.times | sort_by(.[1]) | (.[1][1] - .[0][2]) * 1000 | floor')
ok "$([ "$gap" -ge 990 ] && echo 0 || echo 1)" "Retry-After: 1 honoured (${gap} ms between the 429 and its retry; ${ms} ms in all)"
like "$(cat "$T_DIR/e5")" "2 retries, 1 throttled" "retries counted"

api_reset
api_control '{"bad_input":"BADTEXT"}'
docpipe-embed --backend openai --dim 16 --no-reuse -j 2 <"$T_DIR/docs.ndjson" >"$T_DIR/o6" 2>"$T_DIR/e6"
is "$?" 1 "a rejected input: exit 1"
is "$(jq -r 'select(.kind=="error") | .path' "$T_DIR/o6")" "/d/b.md" "only its document fails"
like "$(jq -r 'select(.kind=="error") | .error' "$T_DIR/o6")" "HTTP 400: This model's maximum context length" "with the server's reason"
is "$(jq -r 'select(.kind=="document") | .path' "$T_DIR/o6" | sort | tr '\n' ' ')" "/d/a.md /d/c.md " "the other documents go on"
is "$(inexact_vectors "$T_DIR/o6")" 0 "the other documents of the rejected batch have exactly the server's vectors"
# Which chunks share a batch depends on timing (-j 2); what must hold is
# that each batch holding the bad input is at most half the one before and
# the last holds its document's chunks alone: the bad input, or b's two
# chunks (a request of one document is not split: no other document to
# clear, src/embed/batch.c splittable).  The first batch is a, b and c, or
# a and b alone when c was read after it left (a loaded machine): halved,
# [a1 a2] and [b1 b2], and the last check, "the bad input alone", failed
# (batches [4,2], 1 of 5 runs at load 20).
rejected=$(api_stats '.rejected')
is "$(api_stats '.rejected_texts | (last | all(startswith("bravo "))) and
	([range(1; length) as $i | (.[$i] | length) <= (((.[$i - 1] | length) + 1) / 2 | floor)] | all)')" true \
	"the rejected batch is halved until the bad input's document is alone (batches with it: $rejected)"
api_control '{"bad_input":null}'

# A failure that is no input's (a parameter the model refuses: 400 to every
# request; a 404, a wrong model name, stops the stage after 3 calls:
# fault_api_not_found.sh) fails every half of a batch alike.  It was halved down to single inputs
# (2n - 1 requests for n inputs: 598 for 112 documents whose clean run takes
# 14, helper's fault sweep 5); now once both halves and an input of each
# fail alike, the rest fail unsent.  40 one-chunk documents, -j 1.
numbered_docs "$T_DIR/many" 40 6 m
docpipe-discover "$T_DIR/many" | docpipe-chunk >"$T_DIR/many.ndjson"
api_reset
api_control "$(jq -nc '{faults: [range(200) | {endpoint: "embed", status: 400, message: "dimensions not supported"}]}')"
docpipe-embed --backend openai --dim 16 --no-reuse -j 1 <"$T_DIR/many.ndjson" >"$T_DIR/o404" 2>"$T_DIR/e404"
is "$?:$(jq -r 'select(.kind=="error") | .error' "$T_DIR/o404" | grep -c 'HTTP 400: dimensions not supported')" "1:40" \
	"a 400 to every request: every document fails, with the server's reason"
n404=$(api_requests embed)
ok $((n404 <= 15 ? 0 : 1)) "not halved down to single inputs: $n404 requests for 40 inputs (79 before, in one batch)"
like "$(cat "$T_DIR/e404")" "not split further \(the reason is no input's; said once\)" "and said so"

for fault in malformed truncated wrong_count bad_index; do
	api_reset
	# A wrong answer goes to the request holding "alpha one": a's two
	# chunks leave together, mostly with another document's, so the
	# request can be split (c's one chunk could leave alone, as the first
	# request, when the reader is held up; a's too: below).
	only=$([ $fault = truncated ] || echo ',"input":"alpha one"')
	api_control "{\"faults\":[{\"endpoint\":\"embed\",\"kind\":\"$fault\"$only}]}"
	# A body that is not JSON from a server already seen is retried as a
	# 5xx is, within --retries (test_http's decide table).  A lone
	# document's request given up so was not sent once more (send_items
	# read "gave up after" in the message as retries spent on weather):
	# with --retries 1, a's chunks alone after another request was
	# answered failed "gave up after 1 attempt" (one clean clone's ASan
	# run, and by hand: c's record first, a's 0.3 s later).  The error's
	# kind says it now (DP_ERR_SPENT: weather only): it is sent once more.
	docpipe-embed --backend openai --dim 16 --no-reuse --retries 1 <"$T_DIR/docs.ndjson" >"$T_DIR/o7" 2>"$T_DIR/e7"
	rc=$?
	errors=$(jq -r 'select(.kind=="error") | .path' "$T_DIR/o7" | wc -l | tr -d ' ')
	if [ "$fault" = truncated ]; then
		# A transfer cut short is no answer (like a reset connection): the
		# documents of the request fail, without splitting it.  Which
		# documents it held: those with a chunk the server never answered
		# (its log has the answered requests; the three documents may
		# leave in one request or in two, a reader held up 2 ms between
		# them sends what it has).
		failed=$(jq -r 'select(.kind=="error") | .path' "$T_DIR/o7" | sort | xargs)
		unanswered=$(jq -rn --argjson served "$(api_stats '[.log[].inputs[]]')" \
			'[inputs | select(any(.chunks[]; .text | IN($served[]) | not)) | .path] | sort | join(" ")' \
			"$T_DIR/docs.ndjson")
		is "$rc:$failed:$errors" "1:$unanswered:$(wc -w <<<"$unanswered" | tr -d ' ')" \
			"$fault response: the documents of that request fail, no crash ($unanswered)"
	elif [ "$(api_stats '[.faulted[0].inputs[] | split(" ")[0]] | unique | length')" = 1 ]; then
		# a's chunks left alone (the reader held up over 30 ms after a, on a
		# loaded machine: 1 run in 5 at load 25): a request of one
		# document is not split (there is no culprit to find), it is sent
		# once more (below), which the server answers well.
		is "$rc:$errors" "0:0" "$fault response to a's chunks alone: sent once more, no document fails" || {
			sed 's/^/# /' "$T_DIR/e7"
			jq -c 'select(.kind == "error")' "$T_DIR/o7" | sed 's/^/# /'
			api_stats '.faulted, (.log[] | [.start, .end, .inputs])' | sed 's/^/# /'
		}
	else
		# An answer that is wrong: the request gives up (--retries 1) and is
		# split in halves, which the server answers well.
		is "$rc:$errors" "0:0" "$fault response: the request is split and retried, no document fails" || {
			sed 's/^/# /' "$T_DIR/e7"
			jq -c 'select(.kind == "error")' "$T_DIR/o7" | sed 's/^/# /'
			api_stats '.log[] | [.start, .end, .inputs]' | sed 's/^/# /'
		}
	fi
	is "$(inexact_vectors "$T_DIR/o7")" 0 "$fault response: the vectors written are exact"
done

# A wrong answer to a request of one document, --retries 1: the request
# is sent once more, as the documents of a request of several are (its
# halves, above): before, the lone document failed on it while a shared
# request's went through.  A second wrong answer fails it, 2 requests in all.
for fault in malformed wrong_count; do
	api_reset
	api_control "{\"faults\":[{\"endpoint\":\"embed\",\"kind\":\"$fault\"}]}"
	head -n 1 "$T_DIR/docs.ndjson" | docpipe-embed --backend openai --dim 16 --no-reuse --retries 1 >"$T_DIR/o21" 2>"$T_DIR/e21"
	is "$?:$(jq -r .kind "$T_DIR/o21"):$(api_requests embed)" "0:document:2" \
		"$fault response to a request of one document: sent once more, embedded" || sed 's/^/# /' "$T_DIR/e21"
	is "$(inexact_vectors "$T_DIR/o21")" 0 "$fault response to one document: the vectors written are exact"
	api_reset
	api_control "{\"faults\":[{\"endpoint\":\"embed\",\"kind\":\"$fault\"},{\"endpoint\":\"embed\",\"kind\":\"$fault\"}]}"
	head -n 1 "$T_DIR/docs.ndjson" | docpipe-embed --backend openai --dim 16 --no-reuse --retries 1 >"$T_DIR/o21" 2>"$T_DIR/e21"
	is "$?:$(jq -r .kind "$T_DIR/o21"):$(api_requests embed)" "1:error:2" \
		"$fault response to it twice: it fails, after 2 requests"
done
# The same from a server already seen (it answered the document before:
# its record is out), --retries 1: a body that is not JSON is then retried
# as a 5xx is, and dp_http gave up after its one attempt; send_items read
# "gave up after" in the message as retries spent on weather and did not
# send it again: the document failed (the malformed case above, when a's
# chunks left alone).  By the error's kind (DP_ERR_SPENT: weather only),
# it is sent once more.
api_reset
api_control '{"faults":[{"endpoint":"embed","kind":"malformed","input":"charlie one"}]}'
{
	head -n 1 "$T_DIR/docs.ndjson"
	wait_for 10 grep -q '"/d/a.md"' "$T_DIR/o22"
	sed -n 3p "$T_DIR/docs.ndjson"
} | docpipe-embed --backend openai --dim 16 --no-reuse --retries 1 >"$T_DIR/o22" 2>"$T_DIR/e22"
is "$?:$(jq -r .kind "$T_DIR/o22" | sort | uniq -c | xargs):$(api_requests embed)" "0:2 document:3" \
	"a body not JSON from a server already seen, to one document (--retries 1): sent once more, embedded" ||
	sed 's/^/# /' "$T_DIR/e22"
is "$(inexact_vectors "$T_DIR/o22")" 0 "... its vectors exact"

# A vector holding a value that is not a finite number (NaN, an infinity, a
# JSON number over float32's range), in JSON numbers or in base64, is a bad
# answer: its document fails naming why, the other documents of the request
# are split out and written, and it is never kept in the cache: the next
# run against a healthy server asks for it again, and the store takes it.
cat >"$T_DIR/nan.ndjson" <<'JSON'
{"v":1,"kind":"document","path":"/n/x.md","chunks":[{"seq":0,"text":"xray NANTEXT"},{"seq":1,"text":"xray two"}]}
{"v":1,"kind":"document","path":"/n/y.md","chunks":[{"seq":0,"text":"yankee one"}]}
JSON
# How many vectors kept in the cache hold a value that is not finite.
nonfinite_cached() {
	sql "SELECT value FROM docpipe.embedding_cache" | python3 -c '
import base64, math, struct, sys
vecs = [base64.b64decode(l.strip()) for l in sys.stdin if l.strip()]
print(sum(not all(math.isfinite(x) for x in struct.unpack("<%df" % (len(b) // 4), b)) for b in vecs))'
}
for enc in base64 float; do
	for value in NaN Infinity -Infinity 1e39; do
		api_reset
		api_control "{\"bad_vector\":{\"input\":\"NANTEXT\",\"value\":\"$value\"},\"no_base64\":$([ $enc = float ] && echo true || echo false)}"
		docpipe-embed --backend openai --dim 16 <"$T_DIR/nan.ndjson" >"$T_DIR/o18" 2>"$T_DIR/e18"
		is "$?:$(jq -r 'select(.kind=="error") | .path' "$T_DIR/o18" | tr '\n' ' ')" "1:/n/x.md " \
			"$value ($enc): exit 1, only the document with that vector fails"
		like "$(jq -r 'select(.kind=="error") | .error' "$T_DIR/o18")" "vector for input 0: vector value 15 is not a finite float32 number" \
			"$value ($enc): with the reason"
		is "$(inexact_vectors "$T_DIR/o18")" 0 "$value ($enc): the other document has exactly the server's vectors"
		is "$(nonfinite_cached)" 0 "$value ($enc): the bad vector is not kept in the cache"
	done
done
# A vector all zeros (a model that embeds nothing: its pooling off, not an
# embedding model) has no direction, its cosine distance NaN: a bad answer
# too (fault sweep 20: stored and cached).
zero_cached() {
	sql "SELECT value FROM docpipe.embedding_cache" | python3 -c '
import base64, struct, sys
vecs = [base64.b64decode(l.strip()) for l in sys.stdin if l.strip()]
print(sum(not any(struct.unpack("<%df" % (len(b) // 4), b)) for b in vecs))'
}
for enc in base64 float; do
	api_reset
	api_control "{\"bad_vector\":{\"input\":\"NANTEXT\",\"value\":\"zeros\"},\"no_base64\":$([ $enc = float ] && echo true || echo false)}"
	docpipe-embed --backend openai --dim 16 <"$T_DIR/nan.ndjson" >"$T_DIR/o18" 2>"$T_DIR/e18"
	is "$?:$(jq -r 'select(.kind=="error") | .path' "$T_DIR/o18" | tr '\n' ' ')" "1:/n/x.md " \
		"a vector all zeros ($enc): exit 1, only its document fails"
	like "$(jq -r 'select(.kind=="error") | .error' "$T_DIR/o18")" "vector for input 0 is all zeros" "... with the reason"
	is "$(zero_cached)" 0 "... not kept in the cache"
done
api_reset
docpipe-embed --backend openai --dim 16 <"$T_DIR/nan.ndjson" 2>"$T_DIR/e19" | tee "$T_DIR/o19" | docpipe-store >/dev/null 2>"$T_DIR/s19"
is "$?" 0 "then, against a healthy server: embedded and stored"
is "$(api_stats '[.log[].inputs[]] | index("xray NANTEXT") != null')" true \
	"the text whose answer was bad is requested again"
is "$(inexact_vectors "$T_DIR/o19")" 0 "every vector exact"
is "$(sql "SELECT count(*) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path LIKE '/n/%'")" 3 \
	"both documents stored, 3 chunks"
# A non-finite vector kept by an earlier version (which did not check) is
# not reused: it is dropped from the cache and asked anew.
nan16=$(f32_base64 $(printf 'nan %.0s' {1..16}))
yankee=$(TOP=$TOP python3 -c 'import os, sys; sys.path.insert(0, os.environ["TOP"] + "/tests")
from fakeapi import vector_base64, vector_units; print(vector_base64(vector_units("yankee one", 16)))')
is "$(sql "WITH u AS (UPDATE docpipe.embedding_cache SET value = '$nan16' WHERE value = '$yankee' RETURNING 1) SELECT count(*) FROM u")" 1 \
	"(a NaN vector put in the cache, as an earlier version kept it)"
api_reset
docpipe-embed --backend openai --dim 16 <"$T_DIR/nan.ndjson" 2>"$T_DIR/e20" | tee "$T_DIR/o20" | docpipe-store >/dev/null 2>"$T_DIR/s20"
is "$?" 0 "a NaN vector found in the cache: embedded and stored"
is "$(api_stats '[.log[].inputs[]]')" '["yankee one"]' "its text alone is requested again"
is "$(inexact_vectors "$T_DIR/o20")" 0 "every vector exact"
like "$(cat "$T_DIR/e20")" "1 cached vector unusable \\(vector value 0 is not a finite float32 number\\): dropped from the cache" "said on stderr"
is "$(nonfinite_cached)" 0 "the cache holds its good vector now"
zero16=$(f32_base64 $(printf '0 %.0s' {1..16}))
is "$(sql "WITH u AS (UPDATE docpipe.embedding_cache SET value = '$zero16' WHERE value = '$yankee' RETURNING 1) SELECT count(*) FROM u")" 1 \
	"(a vector all zeros put in the cache, as an earlier version kept it)"
api_reset
docpipe-embed --backend openai --dim 16 <"$T_DIR/nan.ndjson" >/dev/null 2>"$T_DIR/e21"
is "$?/$(api_stats '[.log[].inputs[]]' | tr -d '\n')/$(zero_cached)" '0/["yankee one"]/0' "a vector all zeros found in the cache: asked anew, replaced"
like "$(cat "$T_DIR/e21")" "1 cached vector unusable \\(all zeros\\): dropped from the cache" "said on stderr"

api_reset
# A hang far longer than the bound below: the bound tells a request
# given up after --timeout from one waited out (4 s against a 5 s hang
# failed under load), with room for a loaded machine.
api_control '{"faults":[{"endpoint":"embed","kind":"hang","seconds":90}]}'
start=$(date +%s%N)
docpipe-embed --backend openai --dim 16 --no-reuse --timeout 0.5 <"$T_DIR/docs.ndjson" >"$T_DIR/o8" 2>"$T_DIR/e8"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
is "$rc" 0 "a hung request times out and is retried"
ok "$([ "$ms" -lt 45000 ] && echo 0 || echo 1)" "without waiting for the 90 s hang (${ms} ms)"

api_reset
api_control '{"faults":[{"endpoint":"embed","status":429,"code":"insufficient_quota","message":"You exceeded your current quota"}]}'
docpipe-embed --backend openai --dim 16 --no-reuse <"$T_DIR/docs.ndjson" >"$T_DIR/o9" 2>"$T_DIR/e9"
is "$?" 4 "insufficient_quota: exit 4 (refused)"
is "$(api_requests embed)" 1 "no retry storm: one request in all"
# It stops at once: no retry is the one request above, no wait follows
# (a "< 2 s" bound here could fail at load 10; the documents left fail
# without a request, below).
like "$(cat "$T_DIR/e9")" "refused the run \\(quota exhausted, HTTP 429: You exceeded your current quota\\): add credit or raise the quota" \
	"clear message, naming the mend"
is "$(jq -r 'select(.kind=="error")' "$T_DIR/o9" | jq -s length)" 3 "every document is accounted for as an error record"

api_reset
OPENAI_API_KEY=wrong-key docpipe-embed --backend openai --dim 16 --no-reuse <"$T_DIR/docs.ndjson" >"$T_DIR/o10" 2>"$T_DIR/e10"
is "$?" 4 "bad credentials: exit 4"
# The server counts every request on arrival, before its key check.
is "$(api_requests embed)" 1 "401 is not retried: one request in all"
# Each refusal names its mend (before: "credentials" for a key not sent, a
# wrong one and a 403 alike, and no mend).
like "$(cat "$T_DIR/e10")" 'stopped: the API refused the run \(credentials, HTTP 401: Incorrect API key provided\): check the API key in \$OPENAI_API_KEY;' \
	"a wrong key: check it, where it came from"
OPENAI_API_KEY= docpipe-embed --backend openai --dim 16 --no-reuse <"$T_DIR/docs.ndjson" >/dev/null 2>"$T_DIR/e10"
is "$?" 4 "no key: exit 4"
like "$(cat "$T_DIR/e10")" 'refused the run \(credentials, HTTP 401: Incorrect API key provided\): no API key was sent: set \$OPENAI_API_KEY;' \
	"no key: said so, and where to set one"
api_control '{"faults":[{"endpoint":"embed","status":403,"message":"You are not allowed to sample from this model"}]}'
docpipe-embed --backend openai --dim 16 --no-reuse <"$T_DIR/docs.ndjson" >/dev/null 2>"$T_DIR/e10"
is "$?" 4 "403: exit 4"
like "$(cat "$T_DIR/e10")" 'refused the run \(permission, HTTP 403: You are not allowed to sample from this model\): the key .* is not allowed this model or endpoint: check the key.s permissions and the model;' \
	"403: a permission, not the key's credentials"

# Documents waiting for a place in flight when the run is refused are not
# sent: their error records say so, not the run's reason, which reads as if
# their own requests had been refused (before: a batch already waiting in
# dp_http for the place got the reason; the later ones "not embedded: the
# API refused the run", summarize's "not summarized: ...").  --threads 1:
# one request in flight, held 300 ms, while the second worker's batch (another
# document's: one chunk each) waits for its place.
for i in 1 2 3 4; do
	printf '{"v":1,"kind":"document","path":"/q/%d.md","chunks":[{"seq":0,"text":"quota %d"}]}\n' "$i" "$i"
done >"$T_DIR/quota.ndjson"
api_reset
api_control '{"latency":"embed=300","faults":[{"endpoint":"embed","status":429,"code":"insufficient_quota","message":"You exceeded your current quota"}]}'
docpipe-embed --backend openai --dim 16 --no-reuse --threads 1 --batch-inputs 1 <"$T_DIR/quota.ndjson" >"$T_DIR/o19" 2>"$T_DIR/e19"
rc=$?
api_control '{"latency":""}'
is "$rc/$(api_requests embed)/$(jq -r .kind "$T_DIR/o19" | sort -u)" 4/1/error "quota refused: exit 4, one request, every document an error record"
jq -r .error "$T_DIR/o19" >"$T_DIR/why19"
is "$(grep -c '^the API refused the run (quota exhausted, HTTP 429: You exceeded your current quota)' "$T_DIR/why19")" 1 \
	"the reason: in the record of the document whose request was refused, alone"
is "$(grep -cx 'not sent: the model API had refused the run (the stage.s "stopped:" message says why)' "$T_DIR/why19")" 3 \
	"the others: not sent, in summarize's words (one wording, dp_http's)"

# A server asking to wait longer than a call may take (Retry-After: a day,
# a daily quota, > the 300 s retry budget): the stage must not stall for
# it; it is a refusal (before: the stage paused, every later document
# failed at once unsent, exit 1, as if the documents were at fault).
api_reset
api_control '{"faults":[{"endpoint":"embed","status":429,"retry_after":86400}]}'
start=$(date +%s%N)
timeout 120 docpipe-embed --backend openai --dim 16 --no-reuse --batch-inputs 1 <"$T_DIR/docs.ndjson" >"$T_DIR/o17" 2>"$T_DIR/e17"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
is "$rc" 4 "Retry-After beyond the retry budget: a refusal, exit 4, no stall"
# Generous (10 s could fail under load): what it tells apart is the day.
ok "$([ "$ms" -lt 60000 ] && echo 0 || echo 1)" "bounded time, not the day asked (${ms} ms)"
like "$(cat "$T_DIR/e17")" "asked to wait 86400 s \\(24.0 h\\) before the next request \\(HTTP 429.*beyond the 300 s a call may wait: run it again after that wait, or raise the rate limit or quota, or --retry-budget;" \
	"the message names the wait and what to do, the option that sets the budget too (not given: before, named only when given)"
is "$(jq -r 'select(.kind=="error") | .path' "$T_DIR/o17" | wc -l | tr -d ' ')" 3 \
	"every document is an error record"
is "$(jq -r 'select(.kind=="error") | .error' "$T_DIR/o17" | grep -c '^not sent: the model API had refused the run')" 2 \
	"the held documents: not sent, as after a 401"
is "$(api_requests embed)" 1 "one request in all"
# --retry-budget sets that limit: a wait of 2 s refused under 1 s, naming
# the option; taken under 10 s, and every document embedded.
api_reset
api_control '{"faults":[{"endpoint":"embed","status":429,"retry_after":2}]}'
docpipe-embed --backend openai --dim 16 --no-reuse --batch-inputs 1 --retry-budget 1 <"$T_DIR/docs.ndjson" >/dev/null 2>"$T_DIR/e18"
is "$?" 4 "--retry-budget 1, a Retry-After of 2 s: a refusal, exit 4"
like "$(cat "$T_DIR/e18")" "asked to wait 2 s before the next request .*beyond the 1 s a call may wait: .*, or --retry-budget" \
	"... naming the option that sets the budget"
api_reset
api_control '{"faults":[{"endpoint":"embed","status":429,"retry_after":2}]}'
start=$(date +%s%N)
docpipe-embed --backend openai --dim 16 --no-reuse --batch-inputs 1 --retry-budget 10 <"$T_DIR/docs.ndjson" >"$T_DIR/o18" 2>/dev/null
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
is "$rc:$(jq -s '[.[] | select(.kind != "error")] | length' "$T_DIR/o18")" "0:3" "--retry-budget 10: the wait is taken, every document embedded"
ok "$([ "$ms" -ge 1900 ] && echo 0 || echo 1)" "... after the 2 s asked (${ms} ms)"
is "$(api_requests embed)" "$(jq -s '[.[].chunks | length] | add + 1' "$T_DIR/docs.ndjson")" \
	"... one request more than the chunks (one each, and the one refused)"

# Chunks of many documents share requests; results stay in order whatever
# order the server lists them in.
python3 - >"$T_DIR/many.ndjson" <<'PY'
import json
for d in range(40):
    print(json.dumps({"v": 1, "kind": "document", "path": "/m/%02d.md" % d,
                      "chunks": [{"seq": s, "text": "doc %d chunk %d" % (d, s)} for s in range(d % 3 + 1)]}))
PY
api_reset
api_control '{"order":"shuffle"}'
docpipe-embed --backend openai --dim 16 --no-reuse -j 2 --batch-inputs 16 <"$T_DIR/many.ndjson" >"$T_DIR/o14" 2>"$T_DIR/e14"
is "$?" 0 "40 documents, 79 chunks: exit 0"
is "$(jq -r 'select(.kind=="document") | .path' "$T_DIR/o14" | wc -l | tr -d ' ')" 40 "every document written"
is "$(inexact_vectors "$T_DIR/o14")" 0 "shuffled responses: every chunk has its own vector"
is "$(api_stats '[.inputs.embed, ([.log[].inputs | length] | max), .requests.embed <= 10]')" '[79,16,true]' \
	"79 chunks of 40 documents in a few requests of at most 16"
api_reset
api_control '{"order":"shuffle","bad_input":"doc 7 chunk 1"}'
docpipe-embed --backend openai --dim 16 --no-reuse -j 2 --batch-inputs 16 <"$T_DIR/many.ndjson" >"$T_DIR/o15" 2>"$T_DIR/e15"
is "$?" 1 "one bad input among 40 documents: exit 1"
is "$(jq -r 'select(.kind=="error") | .path' "$T_DIR/o15")" "/m/07.md" "only its document fails"
is "$(jq -r 'select(.kind=="document") | .path' "$T_DIR/o15" | wc -l | tr -d ' ')" 39 "the 39 others are written"
is "$(inexact_vectors "$T_DIR/o15")" 0 "with exactly the server's vectors"
api_control '{"order":"reverse","bad_input":null}'
# A partial batch does not wait for more input: three documents, the
# input left open until they are written (however long a loaded machine
# takes to start the stage).
api_reset
mkfifo "$T_DIR/in16"
docpipe-embed --backend openai --dim 16 --no-reuse <"$T_DIR/in16" >"$T_DIR/o16" 2>/dev/null &
EMBED=$!
exec {in16}>"$T_DIR/in16"
cat "$T_DIR/docs.ndjson" >&$in16
written16() { [ "$(jq -r 'select(.kind=="document") | .path' "$T_DIR/o16" 2>/dev/null | wc -l)" -ge 3 ]; }
wait_for 30 written16
is "$(jq -r 'select(.kind=="document") | .path' "$T_DIR/o16" 2>/dev/null | wc -l | tr -d ' ')" 3 "idle input: the partial batch is sent and written while the input stays open"
exec {in16}>&-
wait "$EMBED"

# A corpus stored with another embedder (here the local one) where the
# result cache is: with --check-corpus (docpipe run's, whose store writes
# there) the stage says so as it starts, before any request (exit 2): the
# store would refuse every document after each was paid for.  Without it
# (vectors going elsewhere, the database only a cache) it embeds.
newdb >/dev/null || exit 1
docpipe-embed <"$T_DIR/docs.ndjson" | docpipe-store -q >/dev/null
api_reset
docpipe-embed --backend openai --dim 16 --check-corpus <"$T_DIR/docs.ndjson" >"$T_DIR/o17" 2>"$T_DIR/e17"
is "$?:$(api_requests embed)" 2:0 "--check-corpus, a corpus of another embedder: exit 2 before any request"
like "$(cat "$T_DIR/e17")" "corpus in this database was embedded with local/fh-v1 \(dim 384\), this stage embeds with openai/text-embedding-3-small \(dim 16\)" \
	"naming both embedders"
# --no-reuse (no cache, every vector paid again) is no reason to pay for
# vectors the store refuses: the corpus is looked at all the same (before,
# every chunk was paid for: fault sweep 14).
api_reset
docpipe-embed --backend openai --dim 16 --no-reuse --check-corpus <"$T_DIR/docs.ndjson" >"$T_DIR/o17" 2>"$T_DIR/e17"
is "$?:$(api_requests embed)" 2:0 "--check-corpus --no-reuse, a corpus of another embedder: exit 2 before any request"
like "$(cat "$T_DIR/e17")" "corpus in this database was embedded with local/fh-v1 \(dim 384\)" "... naming it"
docpipe-embed --backend openai --dim 16 <"$T_DIR/docs.ndjson" >/dev/null 2>&1
is "$?" 0 "without it, the database only a cache: embedded"
newdb >/dev/null || exit 1
api_reset
docpipe-embed --backend openai --dim 16 --check-corpus <"$T_DIR/docs.ndjson" >/dev/null 2>&1
is "$?" 0 "--check-corpus on a database without a corpus yet: embedded"

# The key never shows.
printf '%s\n' "$KEY" >"$T_DIR/key"
chmod 644 "$T_DIR/key"
env -u OPENAI_API_KEY docpipe-embed --backend openai --api-key-file "$T_DIR/key" </dev/null >/dev/null 2>"$T_DIR/e11"
is "$?" 2 "--api-key-file refused unless mode 0600"
chmod 600 "$T_DIR/key"
env -u OPENAI_API_KEY docpipe-embed --backend openai --dim 16 --no-reuse --api-key-file "$T_DIR/key" <"$T_DIR/docs.ndjson" >"$T_DIR/o12" 2>"$T_DIR/e12"
is "$?" 0 "key from a 0600 file works"
docpipe-embed --backend openai --help >"$T_DIR/o13" 2>&1
if grep -qF -- "$KEY" "$T_DIR"/o* "$T_DIR"/e*; then ok 1 "the key never shows in any output"; else ok 0 "the key never shows in any output"; fi
done_testing
