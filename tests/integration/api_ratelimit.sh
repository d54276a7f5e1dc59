#!/bin/bash
# timing: alone (tests/run: with nothing beside it)
# --threads auto against a rate-limited server (tests/fakeapi.py --rpm):
# with the limits announced in OpenAI's x-ratelimit-* headers it paces by
# them and gets (near) no 429s; without them (Ollama, proxies) its pace
# probe keeps the 429s under a bound; a user's --rpm still caps the pace.
. "$(dirname "$0")/../lib/tap.sh"
# It judges a pace: ASan's slowdown is no pace to judge, and the limiter's
# code runs under ASan in test_limiter, api_throughput and api_storm.
release_only "it judges the pace against a rate limit"
set -o pipefail
unset DATABASE_URL OPENAI_API_KEY PGDATABASE

# One document of 400 chunks: 400 chunk summaries, 2 section summaries
# and the combining request.
chunked_doc /big.md 400 >"$T_DIR/big.ndjson"
chunked_doc /small.md 100 >"$T_DIR/small.ndjson"

fakeapi --slots 64 --latency chat=20 --rpm 3000 --no-log
control() { api_control "$1"; }
summarize() {
	docpipe-summarize --backend openai --no-reuse --chunk-summaries --max-threads 32 "$@" \
		<"$T_DIR/big.ndjson"
}
# count STATUS: the chat answers with that status since the last reset.
count() { api_stats ".status.chat[\"$1\"] // 0"; }

# The headers are sent as OpenAI does.
hdr=$(curl -s -D - -o /dev/null -X POST -d '{"messages":[{"content":"x"}]}' "$BASE/v1/chat/completions" | tr -d '\r')
like "$hdr" "x-ratelimit-limit-requests: 3000" "fakeapi announces the limit"
like "$hdr" "x-ratelimit-reset-requests: [0-9.]+(ms|s)" "and when it is whole again"

control '{}' && api_reset
sleep 1 # (the probe above took a token: start with a full bucket)
summarize --threads auto >"$T_DIR/o1" 2>"$T_DIR/e1"
is "$?" 0 "auto, limits in headers: exit 0"
is "$(jq -r .kind "$T_DIR/o1")" document "the document is summarized"
h429=$(count 429)
diag "with headers: $(count 200) answered, $h429 x 429; $(grep -o 'in flight: .*' "$T_DIR/e1")"
ok "$([ "$h429" -le 2 ] && echo 0 || echo 1)" "paced by the announced limit: at most 2 of 403 requests answered 429 (got $h429)"

# The user's --rpm is never exceeded: the headers allow 50/s, --rpm 1500 25/s.
api_reset
start=$(date +%s.%N)
docpipe-summarize --backend openai --no-reuse --chunk-summaries --threads auto --rpm 1500 \
	<"$T_DIR/small.ndjson" >/dev/null 2>"$T_DIR/e2"
is "$?" 0 "--rpm 1500 with headers allowing more: exit 0"
secs=$(echo "$(date +%s.%N) - $start" | bc)
n=$(api_stats .requests.chat)
ok "$(echo "$n > 25 * $secs + 1" | bc)" "--rpm caps the pace: $n requests in $secs s, at most 25 a second"

# Without the headers: the probe.  The first wall costs a few 429s (slow
# start, then the descent to the granted rate), then few: bench/api-throughput.sh
# drpm measures 1.9% over 1,326 requests; over these 403, 2-8% as a rule:
# under 15%.  Whether the first losses are the wall's or weather is a
# statistical verdict (limiter.h) that errs at times: in two full make
# checks under ASan the wall was taken for weather at first ("2 more
# undone: weather, 14%"; 16% and 18% of 429s).  A second run is judged
# then: a regression fails both.
control '{"ratelimit_headers": false}'
probe_run() {
	api_reset
	sleep 1 # (a full bucket)
	summarize --threads auto >"$T_DIR/o3" 2>"$T_DIR/e3"
	rc=$?
	n429=$(count 429) n200=$(count 200)
	diag "without headers: $n200 answered, $n429 x 429; $(grep -o 'in flight: .*' "$T_DIR/e3")"
}
probe_run
[ $((n429 * 100)) -lt $((15 * (n200 + n429))) ] || probe_run
is "$rc" 0 "auto, no headers: exit 0"
ok "$([ $((n429 * 100)) -lt $((15 * (n200 + n429))) ] && echo 0 || echo 1)" \
	"paced by its probe: under 15% of requests answered 429 (got $n429)"
done_testing
