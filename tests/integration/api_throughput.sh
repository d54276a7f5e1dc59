#!/bin/bash
# timing: alone (tests/run: with nothing beside it)
# docpipe-summarize's request scheduler and the HTTP limiter against the
# local test server: requests of one document overlap, --threads caps them,
# a big document does not hold small ones back, --threads auto finds its
# level, --rpm / --tpm pace, 429s wait exactly their Retry-After and do not
# use up attempts, refusals cost one request, failures stay in their
# document.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
unset DATABASE_URL OPENAI_API_KEY PGDATABASE

# serve NAME [fakeapi options]: starts a test server; sets BASE.
serve() {
	local name=$1
	shift
	python3 "$TOP/tests/fakeapi.py" --port 0 "$@" >"$T_DIR/$name.port" 2>"$T_DIR/$name.err" &
	SERVERS+=($!)
	wait_for 30 test -s "$T_DIR/$name.port"
	BASE=http://127.0.0.1:$(awk '{print $2}' "$T_DIR/$name.port")
	export OPENAI_BASE_URL=$BASE/v1
}
summarize() { docpipe-summarize --backend openai --no-reuse "$@"; }

# One document of 240 chunks, and 20 small documents of 2 chunks; 40
# documents of 4 chunks, then one of 120.
python3 - "$T_DIR" <<'PY'
import json, sys
d = sys.argv[1]
def doc(path, n, word):
    return json.dumps({"v": 1, "kind": "document", "path": path, "chunks": [
        {"seq": i, "text": "%s chunk %d: %s" % (word, i, " ".join([word] * 30)), "heading": ["H"]}
        for i in range(n)]})
big = doc("/big.md", 240, "big")
small = [doc("/small%02d.md" % k, 2, "small%d" % k) for k in range(20)]
open(d + "/big.ndjson", "w").write(big + "\n")
open(d + "/mix.ndjson", "w").write("\n".join([big] + small) + "\n")
open(d + "/small.ndjson", "w").write("\n".join(small) + "\n")
after = [doc("/s%02d.md" % k, 4, "s%d" % k) for k in range(40)] + [doc("/big.md", 120, "big")]
open(d + "/after.ndjson", "w").write("\n".join(after) + "\n")
PY

serve s64 --slots 64 --latency chat=30
summarize --chunk-summaries --threads 8 <"$T_DIR/big.ndjson" >"$T_DIR/o1" 2>"$T_DIR/e1"
is "$?" 0 "a document of 240 chunks: exit 0"
api_stats >"$T_DIR/s1"
# 240 chunk summaries, and its summary: 2 sections (~9,000 tokens) and
# the combining request.
is "$(jq -c '[.requests.chat, .max_concurrent.chat]' "$T_DIR/s1")" "[243,8]" \
	"its 243 requests overlap, 8 in flight at most (--threads 8)"
check=$(python3 - "$T_DIR/o1" "$T_DIR/s1" <<'PY'
import json, sys
log = json.load(open(sys.argv[2]))["log"]
answer = {e["inputs"][0]: e["outputs"][0] for e in log}
prompt_of = {o: p for p, o in answer.items()}
bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    # The summary answers the combining prompt, made of the sections' answers.
    combine = prompt_of.get(r["summary"], "")
    sections = [o for p, o in answer.items() if p.startswith("Summarize the following")
                and ("big chunk 0:" in p or "big chunk 239:" in p)]
    bad += len(sections) != 2 or not all(o in combine for o in sections)
    for c in r["chunks"]:
        p = prompt_of.get(c.get("summary"), "")
        bad += c["text"] not in p or r["summary"] not in p
print(bad)
PY
)
is "$check" 0 "every summary is the server's answer to its own prompt"

# Fairness: the big document comes first, the 20 small ones once its
# chunk summaries are under way; round-robin between documents lets them
# through (first-come-first-served would hold them until the big one's
# requests are all sent).
api_reset
{
	head -n 1 "$T_DIR/mix.ndjson"
	for _ in $(seq 200); do
		[ "$(api_stats '[.log[].inputs[0] | select(test("^Here is a summary"))] | length')" -ge 20 ] && break
		sleep 0.05
	done
	tail -n +2 "$T_DIR/mix.ndjson"
} | summarize --chunk-summaries --threads 4 >"$T_DIR/o2" 2>"$T_DIR/e2"
is "$?" 0 "one big and 20 small documents: exit 0"
is "$(jq -r .path "$T_DIR/o2" | tail -n 1)" "/big.md" "the small documents are written before the big one"
# In the order the server answered: every small document's request came
# while at least 30 of the big one's were still to come (the big one
# takes three of the 4 places, a quarter is theirs: their 60
# requests go while it makes ~180 of its 240; 74-82 were left in 5 runs,
# 147-162 when each document had half the places at most).
is "$(api_stats '.log | map(.inputs[0] | test("small[0-9]")) as $s
	| ([range(length) | select($s[.])] | max) < ([range(length) | select($s[.] | not)] | .[-30])')" true \
	"the small documents are not held back by the big one"
is "$(jq -r 'select(.kind=="document") | .path' "$T_DIR/o2" | wc -l | tr -d ' ')" 21 "all written"

# Order (sched.c's pick, with late binding: a request is chosen when it can
# leave): the earliest document first, so documents finish in about the
# order they came (round-robin sent the 20 small documents' summaries
# before any chunk request).  The log's order is the order of the sends.
api_reset
summarize --chunk-summaries --threads 4 <"$T_DIR/small.ndjson" >"$T_DIR/o2b" 2>"$T_DIR/e2b"
is "$?" 0 "20 small documents: exit 0"
is "$(api_stats '.log | map(.inputs[0]) as $p
	| ([range(length) | select($p[.] | test("^Here is a summary") and test("small0 chunk"))]) as $first
	| ([range(length) | select($p[.] | test("^Here is a summary") | not) | select($p[.] | test("small19 "))]) as $last
	| ($first | length) == 2 and ($last | length) == 1 and ($first | max) < $last[0]')" true \
	"the first document's chunk summaries go before the last document's summary"
# Half the 4 places at most per document: small00 and small01 go
# together, and which of the two is written first is the server's timing
# (small01 first twice in ~10 full checks).
is "$(head -n 2 "$T_DIR/o2b" | jq -r .path | grep -c '^/small00\.md$')" 1 \
	"and it is written among the first two"
# ... but a document summarized by sections (its sections, their
# combination, then its chunks: the longest path) goes first, wherever it
# comes in the input.
api_reset
{ tail -n +2 "$T_DIR/mix.ndjson"; head -n 1 "$T_DIR/mix.ndjson"; } |
	summarize --chunk-summaries --threads 4 >"$T_DIR/o2c" 2>"$T_DIR/e2c"
is "$?" 0 "20 small documents, then a big one: exit 0"
is "$(api_stats '.log | map(.inputs[0]) as $p
	| ([range(length) | select($p[.] | test("^Summarize the following") and test("big chunk"))]) as $big
	| ([range(length) | select($p[.] | test("^Summarize the following") and test("small"))]) as $small
	| ($big | length) == 2 and ($small | length) == 20 and ($big | max) < $small[9]')" true \
	"the big document's two sections go before the tenth small document's summary"
# ... and a big document (more requests left than places) goes first, up
# to three quarters of the places (sched.c's pick): coming after 40 small
# ones, it is answered while theirs go on (139-145 of their 200 requests
# after its last; 0 when it took what they left), not last, alone, with
# its record the run's tail.
api_reset
summarize --chunk-summaries --threads 8 <"$T_DIR/after.ndjson" >"$T_DIR/o2d" 2>"$T_DIR/e2d"
is "$?" 0 "40 small documents, then a big one: exit 0"
is "$(api_stats '.log | map(.inputs[0] | test("big chunk")) as $b
	| ([range(length) | select($b[.])] | max) as $m | [range($m; length) | select($b[.] | not)] | length
	| . >= 60')" true "the big document's last answer comes before 60 of the small ones' at least"
is "$(jq -r .path "$T_DIR/o2d" | tail -n 10 | grep -c '^/big\.md$')" 0 \
	"and it is not among the last 10 written"

# --threads auto: from one request in flight up to --max-threads against a
# server with room.
api_reset
summarize --chunk-summaries --threads auto --max-threads 12 <"$T_DIR/big.ndjson" >/dev/null 2>"$T_DIR/e3"
is "$?" 0 "--threads auto: exit 0"
api_stats >"$T_DIR/s3"
like "$(cat "$T_DIR/e3")" "in flight: [0-9]+ at the end, 12 at most" "auto climbs to --max-threads (12)"
is "$(jq -r '.max_concurrent.chat <= 12' "$T_DIR/s3")" true "and never above it"
is "$(jq -r '.times | sort_by(.[1]) | .[0][2] <= .[1][1]' "$T_DIR/s3")" true \
	"the first request goes alone (a refusal would cost one request)"

# ... and down against a server that answers 429 above 3000 requests/min.
serve rpm --slots 64 --latency chat=20 --rpm 3000 --no-ratelimit-headers
summarize --chunk-summaries --threads auto --max-threads 32 <"$T_DIR/big.ndjson" >"$T_DIR/o4" 2>"$T_DIR/e4"
is "$?" 0 "auto against a rate limit: exit 0, nothing failed"
api_stats >"$T_DIR/s4"
like "$(cat "$T_DIR/e4")" "lowered [1-9][0-9]* times" "auto lowers its level on 429s"
diag "$(grep -o 'requests (.*' "$T_DIR/e4"); 429s: $(jq -r '.status.chat["429"] // 0' "$T_DIR/s4")"

# A fixed level is lowered by a rate wall (most of a round answered 429),
# then grows back.
api_reset
summarize --chunk-summaries --threads 16 <"$T_DIR/big.ndjson" >/dev/null 2>"$T_DIR/e5"
is "$?" 0 "--threads 16 against the rate limit: exit 0"
like "$(cat "$T_DIR/e5")" "lowered [1-9][0-9]* times" "the whole stage backs off from a rate wall"
api_stats >"$T_DIR/s5"
frac() { jq -r '(.status.chat["429"] // 0) / .requests.chat * 1000 | floor' "$1"; }
diag "429s per 1000 requests: auto $(frac "$T_DIR/s4"), --threads 16 $(frac "$T_DIR/s5")"
# Whether the first losses are the wall's or weather is a statistical
# verdict (limiter.h), and it errs at times: one full make check under
# ASan in about ten took this wall for weather at first (auto 278 of 1000,
# "2 more undone: weather, 29%"; 16-76 as a rule).  A second run is
# judged then: a regression fails both.
if [ $(($(frac "$T_DIR/s4") * 2)) -ge "$(frac "$T_DIR/s5")" ]; then
	diag "$(grep -o 'in flight: .*' "$T_DIR/e4"): once more"
	api_reset
	sleep 1 # (a full bucket, as the first run had)
	summarize --chunk-summaries --threads auto --max-threads 32 <"$T_DIR/big.ndjson" >/dev/null 2>"$T_DIR/e4"
	api_stats >"$T_DIR/s4"
	diag "429s per 1000 requests, auto again: $(frac "$T_DIR/s4")"
fi
ok "$([ $(($(frac "$T_DIR/s4") * 2)) -lt "$(frac "$T_DIR/s5")" ] && echo 0 || echo 1)" \
	"auto, paced to what the server lets through, gets under half the 429s of a fixed level"

# Client-side budgets: --rpm and --tpm pace the requests.
serve fast --slots 64
summarize --threads 8 --rpm 1200 <"$T_DIR/small.ndjson" >/dev/null 2>"$T_DIR/e6"
is "$?" 0 "--rpm 1200: exit 0"
api_stats >"$T_DIR/s6"
# 20 requests a second: 50 ms between two starts at the server.  Judged by
# the median of the 19 gaps, not by the span of the 20 starts (>= 0.9 s of
# 0.95): a server the machine held 43 ms at the first request (load 5-10)
# took most of that span's margin, while it takes one gap, not the median
# (10 gaps: a pause of ~0.5 s).  Unpaced, the 20 go within milliseconds;
# paced at twice the rate, the median is 25 ms.
is "$(python3 - "$T_DIR/s6" <<'PY'
import json, sys
t = sorted(x[1] for x in json.load(open(sys.argv[1]))["times"])
gaps = sorted(b - a for a, b in zip(t, t[1:]))
print(len(t) == 20 and gaps[len(gaps) // 2] >= 0.04)
PY
)" True "--rpm 1200: at most 20 requests a second (the median gap between starts >= 40 ms)"
api_reset
summarize --threads 8 --tpm 150000 <"$T_DIR/small.ndjson" >/dev/null 2>"$T_DIR/e7"
is "$?" 0 "--tpm: exit 0"
api_stats >"$T_DIR/s7"
# Each request is estimated at ~(prompt bytes / 4 + 256) ~ 350 tokens:
# 2,500 tokens a second is ~7 requests a second, so 20 take > 2 s.
is "$(jq -r '[.times[][1]] | (max - min) > 2' "$T_DIR/s7")" true "--tpm 150000: requests paced by tokens"

# 429 waits: exactly Retry-After, however short or long (the normal backoff
# would wait 250-500 ms), and 429s do not use up --retries.
# One small document, one prompt: the second request is the retry.
head -n 1 "$T_DIR/small.ndjson" >"$T_DIR/one.ndjson"
gap() { # the ms between the answer to the first request and the second request
	api_stats '.times | sort_by(.[1]) | (.[1][1] - .[0][2]) * 1000 | floor'
}
api_reset
api_control '{"faults":[{"endpoint":"chat","status":429,"retry_after_ms":700}]}'
summarize --threads 1 <"$T_DIR/one.ndjson" >/dev/null 2>&1
g=$(gap)
# From below (load only lengthens it; a backoff would be 250-500 ms); from
# above generously, 5 s (950 ms could fail under load): the value is not
# taken for seconds.
ok "$([ "$g" -ge 690 ] && [ "$g" -lt 5000 ] && echo 0 || echo 1)" "retry-after-ms 700 honoured (${g} ms)"
# The backoff made 2-4 s here (DOCPIPE_TEST_BACKOFF_MS; 250-500 ms by
# default), so that "not the backoff" and "not rounded up to 1 s" are one
# bound 920 ms above the 80 asked: below the default backoff it was 160 ms
# above, which a loaded machine's answer, sleep and send can take.
api_reset
api_control '{"faults":[{"endpoint":"chat","status":429,"retry_after":0.08}]}'
DOCPIPE_TEST_BACKOFF_MS=4000 summarize --threads 1 <"$T_DIR/one.ndjson" >/dev/null 2>&1
g=$(gap)
ok "$([ "$g" -ge 75 ] && [ "$g" -lt 1000 ] && echo 0 || echo 1)" "Retry-After 0.08 s: retried after that, not the longer backoff nor 1 s (${g} ms)"
api_reset
api_control '{"faults":[{"endpoint":"chat","status":429,"retry_after_ms":10},{"endpoint":"chat","status":429,"retry_after_ms":10},{"endpoint":"chat","status":429,"retry_after_ms":10},{"endpoint":"chat","status":429,"retry_after_ms":10},{"endpoint":"chat","status":429,"retry_after_ms":10}]}'
summarize --threads 1 --retries 2 <"$T_DIR/one.ndjson" >"$T_DIR/o8" 2>"$T_DIR/e8"
is "$?:$(jq -r .kind "$T_DIR/o8")" "0:document" "five 429s in a row with --retries 2: still summarized"
api_reset
api_control '{"faults":[{"endpoint":"chat","status":500},{"endpoint":"chat","status":500}]}'
summarize --threads 1 --retries 2 <"$T_DIR/one.ndjson" >"$T_DIR/o9" 2>"$T_DIR/e9"
is "$?:$(jq -r .kind "$T_DIR/o9")" "1:error" "while two 500s use up --retries 2"

# Refusals cost one request whatever --threads says.
for t in 16 auto; do
	api_reset
	api_control '{"faults":[{"endpoint":"chat","status":429,"code":"insufficient_quota"}]}'
	summarize --chunk-summaries --threads "$t" <"$T_DIR/mix.ndjson" >"$T_DIR/o10" 2>"$T_DIR/e10"
	is "$?:$(api_stats .requests.chat)" "4:1" "--threads $t: quota refused: exit 4 after one request"
	is "$(jq -r .kind "$T_DIR/o10" | sort | uniq -c | tr -s ' ')" " 21 error" "--threads $t: every document reported as an error"
done

# docpipe-embed: one document of 240 chunks fills parallel requests, at
# most --threads of them.
serve emb --slots 64 --latency embed=40+1
docpipe-embed --backend openai --no-reuse --dim 8 --batch-inputs 16 --threads 4 \
	<"$T_DIR/big.ndjson" >"$T_DIR/o12" 2>"$T_DIR/e12"
is "$?" 0 "embed, one document of 240 chunks: exit 0"
is "$(api_stats '[.inputs.embed, .max_concurrent.embed, ([.log[].inputs | length] | max) <= 16]')" \
	"[240,4,true]" "its chunks go out in parallel requests of at most 16, 4 in flight (--threads 4)"
serve s64b --slots 64 --latency chat=30

# A failing request fails only its document.
api_reset
api_control '{"bad_input":"small7 chunk 1"}'
summarize --chunk-summaries --threads 8 <"$T_DIR/mix.ndjson" >"$T_DIR/o11" 2>"$T_DIR/e11"
is "$?" 1 "one rejected request: exit 1"
is "$(jq -r 'select(.kind=="error") | .path' "$T_DIR/o11")" "/small07.md" "only its document fails"
like "$(jq -r 'select(.kind=="error") | .error' "$T_DIR/o11")" "HTTP 400" "with the server's reason"
is "$(jq -r 'select(.kind=="document") | .path' "$T_DIR/o11" | wc -l | tr -d ' ')" 20 "the others are written"
done_testing
