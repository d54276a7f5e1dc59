#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# docpipe-summarize against the local test server: exact summaries, chunk
# summaries, sections of long documents, reuse, refusal.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

python3 "$TOP/tests/fakeapi.py" --port 0 >"$T_DIR/port" 2>"$T_DIR/server.err" &
SERVERS+=($!)
wait_for 30 test -s "$T_DIR/port"
BASE=http://127.0.0.1:$(awk '{print $2}' "$T_DIR/port")
export OPENAI_BASE_URL=$BASE/v1
unset OPENAI_API_KEY

cat >"$T_DIR/docs.ndjson" <<'JSON'
{"v":1,"kind":"document","path":"/d/a.md","chunks":[{"seq":0,"text":"Alpha is first.","heading":["A"]},{"seq":1,"text":"Alpha goes on.","heading":["A","More"]}]}
{"v":1,"kind":"document","path":"/d/b.md","chunks":[{"seq":0,"text":"Bravo is second.","heading":[]}]}
JSON

docpipe-summarize --backend openai --chunk-summaries -j 2 <"$T_DIR/docs.ndjson" >"$T_DIR/o1" 2>"$T_DIR/e1"
is "$?" 0 "openai chat backend: exit 0"
is "$(api_requests chat)" 5 "one request per document and per chunk"
# Every summary in the output is one the server returned, for the right prompt.
api_stats >"$T_DIR/stats"
check=$(python3 - "$T_DIR/o1" "$T_DIR/stats" <<'PY'
import json, sys
stats = json.load(open(sys.argv[2]))
returned = {e["inputs"][0]: e["outputs"][0] for e in stats["log"]}
bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    prompts = {o: p for p, o in returned.items()}
    doc_prompt = prompts.get(r["summary"], "")
    bad += "".join(c["text"] for c in r["chunks"])[:5] not in doc_prompt
    for c in r["chunks"]:
        p = prompts.get(c["summary"], "")
        bad += c["text"] not in p or r["summary"] not in p
print(bad)
PY
)
is "$check" 0 "summaries are exactly what the server returned for their prompts"
like "$(jq -r .summarizer "$T_DIR/o1" | sort -u)" "^openai/gpt-4o-mini/p-[0-9a-f]{8}$" "summarizer names backend, model and prompt"
is "$(sql 'SELECT count(*) FROM docpipe.summary_cache')" 5 "results kept in docpipe.summary_cache"

api_reset
docpipe-summarize --backend openai --chunk-summaries <"$T_DIR/docs.ndjson" >"$T_DIR/o2" 2>"$T_DIR/e2"
is "$(api_requests chat)" 0 "unchanged re-run: zero requests"
is "$(jq -c '[.summary, [.chunks[].summary]]' "$T_DIR/o2" | sort)" "$(jq -c '[.summary, [.chunks[].summary]]' "$T_DIR/o1" | sort)" "reused summaries are the same"

api_reset
sed 's/Bravo is second./Bravo is second, edited./' "$T_DIR/docs.ndjson" >"$T_DIR/edited"
docpipe-summarize --backend openai --chunk-summaries <"$T_DIR/edited" >/dev/null 2>&1
is "$(api_requests chat)" 2 "one edited document: only its summary and its chunk's"

api_reset
echo 'Say it short: {text}' >"$T_DIR/prompt"
docpipe-summarize --backend openai --prompt-file "$T_DIR/prompt" <"$T_DIR/docs.ndjson" >"$T_DIR/o3" 2>/dev/null
is "$(api_requests chat)" 2 "another prompt: new requests"
like "$(api_stats '.log[0].inputs[0]')" "^Say it short: " "the prompt template is used"
ok "$([ "$(jq -r .summarizer "$T_DIR/o3" | sort -u)" != "$(jq -r .summarizer "$T_DIR/o1" | sort -u)" ] && echo 0 || echo 1)" "and recorded in the identity"

# A long document is summarized by section, then combined.
api_reset
python3 -c '
import json
chunks = [{"seq": i, "text": ("word%d " % i) * 400, "heading": []} for i in range(6)]
print(json.dumps({"v": 1, "kind": "document", "path": "/d/long.md", "chunks": chunks}))' >"$T_DIR/long"
docpipe-summarize --backend ollama --base-url "$BASE" --context-tokens 1300 --no-reuse <"$T_DIR/long" >"$T_DIR/o4" 2>/dev/null
is "$?" 0 "ollama backend: long document"
is "$(api_requests chat)" 4 "3 sections (2 chunks of ~600 tokens each) and 1 combining request"
api_stats >"$T_DIR/stats4"
check=$(python3 - "$T_DIR/o4" "$T_DIR/stats4" <<'PY'
import json, sys
summary = json.loads(open(sys.argv[1]).read())["summary"]
answer = {e["inputs"][0]: e["outputs"][0] for e in json.load(open(sys.argv[2]))["log"]}
sections = [o for p, o in answer.items() if "word" in p]  # prompts with chunk text
combine = [p for p, o in answer.items() if o == summary]
print(len(sections) == 3 and len(combine) == 1 and all(s in combine[0] for s in sections))
PY
)
is "$check" True "the summary is the server's answer to the combining request of the 3 section summaries"

api_reset
api_control '{"faults":[{"endpoint":"chat","status":500},{"endpoint":"chat","status":429,"retry_after_ms":200}]}'
docpipe-summarize --backend openai --no-reuse <"$T_DIR/docs.ndjson" >"$T_DIR/o5" 2>"$T_DIR/e5"
is "$?" 0 "500 and 429 retried"
like "$(cat "$T_DIR/e5")" "2 retries, 1 throttled" "retries counted"

api_reset
api_control '{"faults":[{"endpoint":"chat","status":429,"code":"insufficient_quota"}]}'
docpipe-summarize --backend openai --no-reuse --chunk-summaries <"$T_DIR/docs.ndjson" >"$T_DIR/o6" 2>"$T_DIR/e6"
is "$?" 4 "quota exhausted: exit 4"
is "$(api_requests chat)" 1 "no retry storm"
is "$(jq -r .kind "$T_DIR/o6" | sort | uniq -c | tr -s ' ')" " 2 error" "both documents reported as errors"
# A call whose retry meets the run refused meanwhile was sent (its attempt
# answered 503): its error says its attempts and the last one's answer,
# and "not sent" of the retry alone (before: the run's reason, as if its own
# request had been refused for quota).  --threads 1: the other document's
# request leaves while the first sleeps out its backoff (250 ms at least).
api_reset
api_control '{"faults":[{"endpoint":"chat","status":503},{"endpoint":"chat","status":429,"code":"insufficient_quota","message":"You exceeded your current quota"}]}'
docpipe-summarize --backend openai --no-reuse --threads 1 <"$T_DIR/docs.ndjson" >"$T_DIR/o6" 2>"$T_DIR/e6"
is "$?/$(api_requests chat)/$(jq -r .kind "$T_DIR/o6" | sort -u)" 4/2/error "a 503, then the quota refused: exit 4, 2 requests"
jq -r .error "$T_DIR/o6" | sort >"$T_DIR/why6"
like "$(head -n 1 "$T_DIR/why6")" '^/chat/completions: 1 attempt in [0-9.]+ s, then not sent: the model API had refused the run \(.*\); the last attempt: HTTP 503: injected fault 503$' \
	"the document retried: its last attempt's answer, its retry not sent"
like "$(tail -n 1 "$T_DIR/why6")" '^the API refused the run \(quota exhausted, HTTP 429: You exceeded your current quota\)' \
	"the document refused: the run's reason"

# A 5xx asking to wait beyond --retry-budget is the server's trouble: once
# the server is down (3 calls met 5xx since its last success) the run is
# refused naming it so and the mend, try later or raise --retry-budget
# (before: a 429's advice, "raise the rate limit or quota").  The calls
# given up before it say why after 1 attempt of --retries 6: the wait asked
# would end past the budget (before: "gave up after 1 attempt" alone).
for i in 1 2 3 4 5; do
	printf '{"v":1,"kind":"document","path":"/w/%d.md","chunks":[{"seq":0,"text":"Wait %d.","heading":[]}]}\n' "$i" "$i"
done >"$T_DIR/wait.ndjson"
api_reset
fault='{"endpoint":"chat","status":503,"retry_after":600,"message":"server overloaded"}'
api_control "{\"faults\":[$fault,$fault,$fault]}"
docpipe-summarize --backend openai --no-reuse --threads 1 --retry-budget 5 <"$T_DIR/wait.ndjson" >"$T_DIR/o8" 2>"$T_DIR/e8"
is "$?/$(api_requests chat)/$(jq -r .kind "$T_DIR/o8" | sort -u)" 4/3/error \
	"a 503 asking 600 s, --retry-budget 5: 3 calls, then the run refused (exit 4)"
like "$(tr '\n' ' ' <"$T_DIR/e8")" 'stopped: the model API asked to wait 600 s before the next request \(HTTP 503: server overloaded\), beyond the 5 s a call may wait: the server is down or overloaded, not the rate limit or quota; run it again later, or raise --retry-budget; see the error records' \
	"the refusal names the server's trouble and its mend"
is "$(grep -c 'rate limit or quota,' "$T_DIR/e8")" 0 "... not a 429's (\"raise the rate limit or quota, ...\")"
is "$(jq -r .error "$T_DIR/o8" | grep -cx '/chat/completions: gave up after 1 attempt in [0-9.]* s: HTTP 503: server overloaded; not tried again: the wait before the next attempt (600 s, asked by the server) would end past the 5 s a call may wait (--retry-budget)')" 2 \
	"the 2 calls given up before: the wait asked and the budget named"
is "$(jq -r .error "$T_DIR/o8" | grep -c '^not sent: ')" 2 "the 2 documents left: not sent"

# An empty or blank answer is a bad answer, as a missing one: its document
# fails with the reason, and the answer is neither kept in the cache nor
# stored.  The next run asks for it again.
cat >"$T_DIR/odd.ndjson" <<'JSON'
{"v":1,"kind":"document","path":"/e/c.md","chunks":[{"seq":0,"text":"Charlie is third.","heading":[]}]}
{"v":1,"kind":"document","path":"/e/d.md","chunks":[{"seq":0,"text":"Delta is fourth.","heading":[]}]}
JSON
blank_cached() { sql "SELECT count(*) FROM docpipe.summary_cache WHERE btrim(value, E' \\t\\n\\r') = ''"; }
for content in '' ' \n\t '; do
	api_reset
	api_control "{\"chat_answer\":{\"input\":\"Charlie is third.\",\"content\":\"$content\"}}"
	docpipe-summarize --backend openai --chunk-summaries <"$T_DIR/odd.ndjson" >"$T_DIR/o7" 2>"$T_DIR/e7"
	is "$?:$(jq -r 'select(.kind=="error") | .path' "$T_DIR/o7")" "1:/e/c.md" "answer \"$content\": exit 1, its document fails"
	like "$(jq -r 'select(.kind=="error") | .error' "$T_DIR/o7")" "empty answer: choices\[0\]\.message\.content holds no text" \
		"answer \"$content\": with the reason"
	is "$(blank_cached)" 0 "answer \"$content\": not kept in the cache"
	docpipe-store <"$T_DIR/o7" >/dev/null 2>&1
	is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '/e/c.md' OR btrim(summary, E' \\t\\n\\r') = ''")" 0 \
		"answer \"$content\": not stored"
done
# A null content (the form of a refusal) and an empty "choices" list: the
# same (fault sweep 12: held).
for answer in '"content":null' '"content":"x","no_choices":true'; do
	api_reset
	api_control "{\"chat_answer\":{\"input\":\"Charlie is third.\",$answer}}"
	docpipe-summarize --backend openai --chunk-summaries <"$T_DIR/odd.ndjson" >"$T_DIR/o7" 2>"$T_DIR/e7"
	is "$?:$(jq -r 'select(.kind=="error") | [.path, .error] | join(" ")' "$T_DIR/o7"):$(blank_cached)" \
		"1:/e/c.md malformed response: no choices[0].message.content:0" "answer {$answer}: exit 1, its document fails by name, nothing cached"
done
api_reset
docpipe-summarize --backend openai --chunk-summaries <"$T_DIR/odd.ndjson" >"$T_DIR/o8" 2>"$T_DIR/e8"
is "$?" 0 "then, against a healthy server: exit 0"
is "$(api_requests chat)" 2 "the failed document's summary and chunk summary are asked again, the other's reused"
like "$(jq -r 'select(.path=="/e/c.md") | .summary' "$T_DIR/o8")" "^SUMMARY-[0-9a-f]{16}$" "its summary is the server's"
# An empty summary kept by an earlier version (which did not check) is not
# reused: it is dropped from the cache and asked anew.
delta=$(jq -r 'select(.path=="/e/d.md") | .summary' "$T_DIR/o8")
is "$(sql "WITH u AS (UPDATE docpipe.summary_cache SET value = '' WHERE value = '$delta' RETURNING 1) SELECT count(*) FROM u")" 1 \
	"(an empty summary put in the cache, as an earlier version kept it)"
api_reset
docpipe-summarize --backend openai --chunk-summaries <"$T_DIR/odd.ndjson" >"$T_DIR/o9" 2>"$T_DIR/e9"
is "$?:$(api_requests chat)" 0:1 "an empty summary found in the cache: asked again, alone"
is "$(jq -r 'select(.path=="/e/d.md") | .summary' "$T_DIR/o9")" "$delta" "the document has its summary"
like "$(cat "$T_DIR/e9")" "1 cached summary unusable \\(empty\\): dropped from the cache, asked anew" "said on stderr"
is "$(blank_cached)" 0 "the cache holds the summary now"

# A NUL in an answer ("\u0000": PostgreSQL text cannot hold one, the store
# refuses it) becomes U+FFFD, as in front matter; the answer is kept in the
# cache with the others of its batch (the document's chunk summaries), and
# the document is stored.
cat >"$T_DIR/nul.ndjson" <<'JSON'
{"v":1,"kind":"document","path":"/e/e.md","chunks":[{"seq":0,"text":"Echo is fifth.","heading":[]},{"seq":1,"text":"Echo goes on NULTEXT.","heading":[]},{"seq":2,"text":"Echo ends.","heading":[]}]}
JSON
# summarize_with ANSWER IN OUT: summarizes IN (with chunk summaries) into
# OUT, the test server answering ANSWER (its chat_answer control), with
# BEFORE set to the cache's size before.  Returns summarize's status.
summarize_with() {
	api_reset
	api_control "{\"chat_answer\":$1}"
	BEFORE=$(sql "SELECT count(*) FROM docpipe.summary_cache")
	docpipe-summarize --backend openai --chunk-summaries <"$2" >"$3" 2>"$3.err"
}
summarize_with '{"input":["Here is a chunk","NULTEXT"],"content":"a chunk\u0000summary"}' "$T_DIR/nul.ndjson" "$T_DIR/o10"
is "$?:$(api_requests chat)" 0:4 "an answer holding a NUL: exit 0 (4 requests)"
is "$(jq -r '.chunks[1].summary' "$T_DIR/o10")" "a chunk"$'\xef\xbf\xbd'"summary" "the NUL becomes U+FFFD"
is "$(($(sql "SELECT count(*) FROM docpipe.summary_cache") - BEFORE))" 4 \
	"the document summary and all 3 chunk summaries are kept in the cache"
docpipe-store <"$T_DIR/o10" >/dev/null 2>"$T_DIR/s10"
is "$?" 0 "the document is stored"
is "$(sql "SELECT c.summary FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '/e/e.md' AND c.seq = 1")" \
	"a chunk"$'\xef\xbf\xbd'"summary" "with that summary"
api_reset
docpipe-summarize --backend openai --chunk-summaries <"$T_DIR/nul.ndjson" >"$T_DIR/o11" 2>"$T_DIR/e11"
is "$?:$(api_requests chat)" 0:0 "unchanged re-run: zero requests"

# One bad answer fails its document, but the good answers of its round
# (paid for) are kept: the next run asks only for the one that failed.
cat >"$T_DIR/bad3.ndjson" <<'JSON'
{"v":1,"kind":"document","path":"/e/f.md","chunks":[{"seq":0,"text":"Foxtrot is sixth.","heading":[]},{"seq":1,"text":"Foxtrot goes on.","heading":[]},{"seq":2,"text":"Foxtrot ends EMPTYTEXT.","heading":[]}]}
JSON
summarize_with '{"input":["Here is a chunk","EMPTYTEXT"],"content":""}' "$T_DIR/bad3.ndjson" "$T_DIR/o12"
is "$?:$(jq -r .kind "$T_DIR/o12")" "1:error" "an empty chunk summary fails its document"
is "$(($(sql "SELECT count(*) FROM docpipe.summary_cache") - BEFORE))" 3 \
	"the document summary and the 2 good chunk summaries are kept"
api_reset
docpipe-summarize --backend openai --chunk-summaries <"$T_DIR/bad3.ndjson" >"$T_DIR/o13" 2>"$T_DIR/e13"
is "$?:$(api_requests chat)" 0:1 "the next run asks only for the chunk summary that failed"

# An answer the server cut at its output limit (finish_reason "length"; a
# proxy's or vLLM's default max_tokens) stops mid-word: it fails its
# document and is not kept; the good answers of its round are.
cat >"$T_DIR/cut.ndjson" <<'JSON'
{"v":1,"kind":"document","path":"/e/g.md","chunks":[{"seq":0,"text":"Golf is seventh.","heading":[]},{"seq":1,"text":"Golf ends CUTTEXT.","heading":[]}]}
JSON
summarize_with '{"input":["Here is a chunk","CUTTEXT"],"content":"The chunk descr","finish_reason":"length"}' "$T_DIR/cut.ndjson" "$T_DIR/o14"
is "$?:$(jq -r .kind "$T_DIR/o14")" "1:error" "an answer cut at the server's token limit fails its document"
like "$(jq -r .error "$T_DIR/o14")" 'answer cut at the server.s output token limit \(finish_reason "length"\)' "with the reason"
is "$(($(sql "SELECT count(*) FROM docpipe.summary_cache") - BEFORE))" 2 \
	"the cut answer is not kept (the document's and the other chunk's are)"
# An answer the provider's content filter stopped (OpenAI's and Azure's
# finish_reason "content_filter", partial content) likewise: it was stored
# and cached as the summary.
summarize_with '{"input":["Here is a chunk","CUTTEXT"],"content":"The chunk descr","finish_reason":"content_filter"}' "$T_DIR/cut.ndjson" "$T_DIR/o14"
is "$?:$(jq -r .kind "$T_DIR/o14")" "1:error" "an answer cut by the content filter fails its document"
like "$(jq -r .error "$T_DIR/o14")" 'answer cut by the provider.s content filter \(finish_reason "content_filter"\)' "with the reason"
is "$(($(sql "SELECT count(*) FROM docpipe.summary_cache") - BEFORE))" 0 \
	"the filtered answer is not kept (the others were kept by the run before)"
is "$(sql "SELECT count(*) FROM docpipe.summary_cache WHERE value = 'The chunk descr'")" 0 \
	"nor any cut answer"
cat >"$T_DIR/filter.ndjson" <<'JSON'
{"v":1,"kind":"document","path":"/e/g2.md","chunks":[{"seq":0,"text":"A story about a FIGHTTEXT.","heading":[]}]}
JSON
summarize_with '{"input":"FIGHTTEXT","content":"The story describes a","finish_reason":"content_filter"}' "$T_DIR/filter.ndjson" "$T_DIR/o14"
like "$?:$(jq -r .error "$T_DIR/o14")" '^1:.*content filter' "a document summary cut by the filter fails its document too"
is "$(($(sql "SELECT count(*) FROM docpipe.summary_cache") - BEFORE))" 0 "and is not kept"
api_reset
api_control '{"chat_answer":{"input":"Golf","content":"Golf is cut","finish_reason":"length"}}'
docpipe-summarize --backend ollama --base-url "$BASE" --no-reuse <"$T_DIR/cut.ndjson" >"$T_DIR/o15" 2>/dev/null
like "$?:$(jq -r .error "$T_DIR/o15")" '^1:.*answer cut at the server.s output token limit \(done_reason "length"\)' \
	"ollama: done_reason \"length\" likewise"
# An Ollama answer saying "done": false is not whole: it fails its document
# with the reason, as a cut one (it was taken as the summary); an answer
# without "done" (a server that leaves it out) is taken.
api_control '{"chat_answer":{"input":"Golf","content":"Golf is half","done":false}}'
docpipe-summarize --backend ollama --base-url "$BASE" --no-reuse <"$T_DIR/cut.ndjson" >"$T_DIR/o15" 2>/dev/null
like "$?:$(jq -r .error "$T_DIR/o15")" '^1:.*incomplete answer \(done: false, done_reason: stop\)' \
	"ollama: \"done\": false fails its document, saying why"
api_control '{"chat_answer":{"input":"Golf","content":"Golf is whole","done":null}}'
docpipe-summarize --backend ollama --base-url "$BASE" --no-reuse <"$T_DIR/cut.ndjson" >"$T_DIR/o15" 2>/dev/null
is "$?:$(jq -r .summary "$T_DIR/o15")" "0:Golf is whole" "ollama: an answer without \"done\" is taken"

# A reasoning model's answer (DeepSeek-R1, Qwen3 served without a reasoning
# parser) opens with its chain of thought in <think>...</think>: the text
# after it is the summary; one that never closes the block is all
# reasoning and fails its document; a summary an earlier version cached
# with the block is asked anew.  Before (fault sweep 20), the reasoning was
# stored and cached as the summary.
cat >"$T_DIR/think.ndjson" <<'JSON'
{"v":1,"kind":"document","path":"/e/t.md","chunks":[{"seq":0,"text":"Tango THINKTEXT.","heading":[]}]}
JSON
summarize_with '{"input":"THINKTEXT","content":"<think>\nThe user wants a summary. Let me see.\n</think>\n\nTango in brief."}' \
	"$T_DIR/think.ndjson" "$T_DIR/o16"
is "$?:$(jq -r .summary "$T_DIR/o16")" "0:Tango in brief." "an answer opening with <think>...</think>: the text after it is the summary"
is "$(sql "SELECT count(*) FROM docpipe.summary_cache WHERE value LIKE '%think>%'")" 0 "... and the reasoning is not cached"
sed 's/Tango/Uniform/' "$T_DIR/think.ndjson" >"$T_DIR/think2.ndjson"
summarize_with '{"input":"THINKTEXT","content":"<think>\nThe user wants a summary. Let me"}' "$T_DIR/think2.ndjson" "$T_DIR/o16"
like "$?:$(jq -r .error "$T_DIR/o16")" "^1:the answer is the model's reasoning only: choices\[0\]\.message\.content opens <think> and never closes it" \
	"an answer that never closes <think>: its document fails, saying why"
sql "UPDATE docpipe.summary_cache SET value = '<think>hmm</think>' || value WHERE value = 'Tango in brief.'" >/dev/null
api_reset
docpipe-summarize --backend openai <"$T_DIR/think.ndjson" >"$T_DIR/o16" 2>"$T_DIR/e16"
like "$?:$(api_requests chat):$(jq -r .summary "$T_DIR/o16")" "^0:1:SUMMARY-[0-9a-f]{16}$" \
	"a summary cached with the model's reasoning: asked anew"
like "$(cat "$T_DIR/e16")" "cached summary unusable \(the model's reasoning\)" "... said"

# A proxy that answers status 200 with an error object (its upstream
# failed): the document fails with the server's message, not "malformed
# response", and nothing is kept.
cat >"$T_DIR/proxy.ndjson" <<'JSON'
{"v":1,"kind":"document","path":"/e/h.md","chunks":[{"seq":0,"text":"Hotel is eighth.","heading":[]},{"seq":1,"text":"Hotel ends PROXYTEXT.","heading":[]}]}
JSON
summarize_with '{"input":["Here is a chunk","PROXYTEXT"],"error":{"message":"upstream model overloaded","type":"server_error"}}' \
	"$T_DIR/proxy.ndjson" "$T_DIR/o16"
is "$?:$(jq -r .kind "$T_DIR/o16")" "1:error" "an error object with status 200 fails its document"
like "$(jq -r .error "$T_DIR/o16")" 'HTTP 200 with an error instead of an answer: upstream model overloaded' \
	"with the server's message"
is "$(($(sql "SELECT count(*) FROM docpipe.summary_cache") - BEFORE))" 2 "the error is not kept (the good answers are)"

# A content given as a list of parts (Mistral's reasoning models, some
# gateways): its text parts are the summary, the thinking left out; every
# such answer failed "malformed response" (fault sweep 21a).  OpenAI's
# refusal (content null, the words in "refusal") is the document's reason.
cat >"$T_DIR/parts.ndjson" <<'JSON'
{"v":1,"kind":"document","path":"/e/p.md","chunks":[{"seq":0,"text":"Papa PARTSTEXT.","heading":[]}]}
JSON
summarize_with '{"input":"PARTSTEXT","content":[{"type":"thinking","thinking":[{"type":"text","text":"hmm"}]},{"type":"text","text":"Papa in "},{"type":"text","text":"brief."}]}' \
	"$T_DIR/parts.ndjson" "$T_DIR/o16"
is "$?:$(jq -r .summary "$T_DIR/o16")" "0:Papa in brief." "content as a list of parts: its text parts are the summary"
sed 's/PARTSTEXT/REFUSETEXT/' "$T_DIR/parts.ndjson" >"$T_DIR/refuse.ndjson"
summarize_with '{"input":"REFUSETEXT","content":null,"refusal":"I cannot help with that."}' "$T_DIR/refuse.ndjson" "$T_DIR/o16"
is "$?:$(jq -r .error "$T_DIR/o16")" '1:the model refused to answer: "I cannot help with that."' \
	"a refusal: the document fails with the model's words"
# A model that takes only its default temperature (OpenAI's reasoning
# models: "Unsupported value: 'temperature' does not support 0"): the
# request is sent again without it, and the later ones go without it;
# every document failed with that 400 before, a request each (fault sweep
# 21a).
api_reset
api_control '{"no_temperature":true}'
docpipe-summarize --backend openai --no-reuse --chunk-summaries -j 4 <"$T_DIR/docs.ndjson" >"$T_DIR/o16" 2>"$T_DIR/e16"
is "$?:$(jq -r .kind "$T_DIR/o16" | sort -u):$(api_stats '.status.chat."200"')" "0:document:5" \
	"a model refusing temperature 0: every summary made without it"
# The first request goes alone; those built before its refusal came are
# refused too (at most the 4 in flight) and sent again likewise.
like "$(api_stats '.status.chat."400"')" "^[1-4]$" "after one refused request (a few at most)"
api_control '{"no_temperature":false}'
# A server refusing an option for every request (a proxy that does not
# route the model's name: a 400 naming "model"): before any answer, the 3rd
# such request stops the stage (exit 4), the documents left failed "not
# sent: the model API had refused the run ..."; every document failed alone, a
# request each (fault sweep 21a).  400s naming the content ("messages": a
# context too long, said alike for every document) stop nothing.
for i in 1 2 3 4 5 6 7 8; do
	printf '{"v":1,"kind":"document","path":"/opt/%d.md","chunks":[{"seq":0,"text":"Option doc %d.","heading":[]}]}\n' "$i" "$i"
done >"$T_DIR/opt.ndjson"
api_reset
fault='{"endpoint":"chat","status":400,"param":"model","message":"Invalid model name passed in model=x"}'
api_control "{\"faults\":[$fault,$fault,$fault,$fault,$fault]}"
docpipe-summarize --backend openai --no-reuse -j 1 <"$T_DIR/opt.ndjson" >"$T_DIR/o16" 2>"$T_DIR/e16"
rc=$?
sent=$(api_requests chat)
is "$rc:$(jq -r .kind "$T_DIR/o16" | sort -u | tr '\n' ,)" "4:error," \
	"an option refused for every request: exit 4, every document an error record"
# Counted in the call's judge of rejections, before the place is given
# back: no request leaves after the third.
is "$sent" 3 "... exactly 3: the third rejection refuses the run before another request leaves"
like "$(tr '\n' ' ' <"$T_DIR/e16")" 'rejected 3 requests naming an option and answered none \(.*Invalid model name passed in model=x \(param "model"\)\)' \
	"the reason names the parameter"
is "$(jq -r .error "$T_DIR/o16" | grep -c '^not sent: the model API had refused the run')" $((8 - sent)) \
	"the documents left: refused, unsent"
api_reset
fault='{"endpoint":"chat","status":400,"param":"messages","message":"the request exceeds the available context size"}'
api_control "{\"faults\":[$fault,$fault,$fault,$fault]}"
docpipe-summarize --backend openai --no-reuse -j 1 <"$T_DIR/opt.ndjson" >"$T_DIR/o16" 2>"$T_DIR/e16"
is "$?:$(jq -r .kind "$T_DIR/o16" | sort | uniq -c | tr -s ' ' | tr '\n' ,)" "1: 4 document, 4 error," \
	"4 documents refused naming their content: only they fail"
# A server (or proxy) that streams its answers whatever the request says:
# the stage stops at the first answer, saying so (the 3-call rule for pages
# that are not JSON took it for a web page at the URL).
api_reset
api_control '{"stream":true}'
docpipe-summarize --backend openai --no-reuse -j 4 <"$T_DIR/docs.ndjson" >"$T_DIR/o16" 2>"$T_DIR/e16"
is "$?:$(api_requests chat)" 4:1 "answers streamed though none was asked: exit 4 after 1 request"
like "$(cat "$T_DIR/e16")" 'streamed its answer \(server-sent events: "data: .*"stream": false' "saying so"
api_control '{"stream":false}'

# An answer far larger than a summary can be (a server's or proxy's
# garbage, a gzip bomb: the bound counts inflated bytes) is refused at 1 MiB
# (SUMMARIZE_RESPONSE_MAX): memory stays bounded per request in flight.
api_reset
python3 -c 'import json; print(json.dumps({"chat_answer": {"input": "Golf", "content": "x" * (2 << 20)}}))' >"$T_DIR/huge.json"
curl -sf -X POST --data-binary @"$T_DIR/huge.json" "$BASE/_control" >/dev/null
docpipe-summarize --backend openai --no-reuse <"$T_DIR/cut.ndjson" >"$T_DIR/o16" 2>/dev/null
is "$?:$(jq -r .kind "$T_DIR/o16")" "1:error" "a 2 MB answer fails its document"
like "$(jq -r .error "$T_DIR/o16")" "response over 1048576 bytes, more than this request can need" "with the bound"
api_control '{"chat_answer":null}'

# A session holding a cache table locked (VACUUM FULL, LOCK TABLE, a
# migration): a lookup or save that cannot have its lock within 2 s is a
# miss, said once, and the stage goes on; it waited with every thread for as
# long as the lock lasted.
# lock_cache SECONDS: a session holds summary_cache locked that long
# (LOCKER its pid), from when the lock is granted.
lock_cache() {
	psql -X -q -c "BEGIN; LOCK TABLE docpipe.summary_cache IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($1)" \
		>/dev/null 2>&1 &
	LOCKER=$!
	# This database's table: pg_locks lists every database's locks, and a
	# store or stage of a test running beside makes its own summary_cache.
	wait_for 30 sql_ge "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		WHERE c.relname = 'summary_cache' AND l.mode = 'AccessExclusiveLock' AND l.granted
		AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())" 1
}
api_reset
lock_cache 60
docpipe-summarize --backend openai <"$T_DIR/docs.ndjson" >"$T_DIR/o17" 2>"$T_DIR/e17"
rc=$?
is "$rc:$(jq -r .kind "$T_DIR/o17" | sort -u | xargs)" "0:document" "a cache table locked: the documents are summarized (exit 0)"
ok "$(kill -0 $LOCKER 2>/dev/null)$?" "while the lock is still held"
like "$(cat "$T_DIR/e17")" "result cache lookup failed, asking anew: .*lock timeout.*said once" "says the cache did not answer"
sql "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%LOCK TABLE docpipe.summary_cache%'
	AND datname = current_database() AND pid <> pg_backend_pid()" >/dev/null
wait $LOCKER 2>/dev/null

# What the locked table refused to save (its INSERT timed out on the
# lock: lock_timeout 2 s) waits in the backlog and is saved
# once the lock goes: a re-run pays nothing.  Dropped before (fault sweep
# 19: a 15 s VACUUM FULL cost the next run 247 chat requests).
api_reset
for i in $(seq 60); do
	printf '{"v":1,"kind":"document","path":"/lk/%d.md","chunks":[{"seq":0,"text":"Locked text %d.","heading":[]}]}\n' "$i" "$i"
done >"$T_DIR/lk.ndjson"
api_control '{"latency":"chat=300"}'
lock_cache 8
docpipe-summarize --backend openai -j 2 <"$T_DIR/lk.ndjson" >"$T_DIR/o18" 2>"$T_DIR/e18"
is "$?/$(api_requests chat)" 0/60 "a table locked for 8 s of the run: 60 documents, 60 requests"
wait $LOCKER 2>/dev/null
api_reset
docpipe-summarize --backend openai <"$T_DIR/lk.ndjson" >"$T_DIR/o19" 2>"$T_DIR/e19"
is "$?/$(api_requests chat)" 0/0 "the answers were saved once the lock went: the re-run pays nothing"
[ "$(api_requests chat)" = 0 ] || sed "s/^/# /" "$T_DIR/e18"
api_control '{"latency":""}'
done_testing
