#!/bin/bash
# --threads auto under 429 weather (issue 8): a server that answers 30% of
# requests 429 (Retry-After 0.2 s) and 5% 503 at random, whatever the load.
# Before the limiter told weather from a wall, auto fell to one request in
# flight paced at its floor (0.1 a second) and this run took minutes; now
# it finishes, nothing failed.
# In tests/run's pool, not alone: its bound is 240 s, and the light run
# is judged against a clean run beside it (below).
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
unset DATABASE_URL OPENAI_API_KEY PGDATABASE

chunked_doc /big.md 80 >"$T_DIR/big.ndjson"
fakeapi --slots 16 --latency chat=20 --rate-429 0.3 --rate-5xx 0.05 --retry-after 0.2

start=$(date +%s.%N)
timeout 240 docpipe-summarize --backend openai --no-reuse --chunk-summaries --threads auto \
	--max-threads 32 <"$T_DIR/big.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
rc=$?
secs=$(echo "$(date +%s.%N) - $start" | bc)
api_stats >"$T_DIR/stats"
diag "$(jq -c .status.chat "$T_DIR/stats"), $secs s; $(grep -o 'in flight: .*' "$T_DIR/err")"
is "$rc" 0 "auto under 30% 429 + 5% 503 at random: exit 0 within 240 s"
is "$(jq -r .kind "$T_DIR/out")" document "the document is summarized, nothing failed"
# 83 requests: at one request in flight paced at its floor (0.1 a second),
# as before, over 800 s; some runs still take a wrong turn early and need
# 30-50 s (docs/PERFORMANCE.md), most 5-15 s.  The bound leaves room for a
# loaded machine and the sanitizer build: this checks "finishes", not speed.
ok "$(echo "$secs < 240" | bc | grep -q 1 && echo 0 || echo 1)" "finished in bounded time (under 240 s: $secs s)"
most=$(jq -r .max_concurrent.chat "$T_DIR/stats")
ok "$([ "$most" -le 32 ] && echo 0 || echo 1)" "never above --max-threads (32): $most"

# Light weather: 3% of 429s at random.  Too light for a test of 16 answers
# to see, it was taken for a wall, and every 429 lowered that wall's pace
# for good: 0.6-1.4 requests in flight over the second half of this run
# against 16 slots (now 25-27; bench/api-throughput.sh light: 9x the clean
# run's time).  Judged by the requests in flight (from the server's log),
# not by time.  A starved process cannot keep many in flight whatever its
# limiter (ASan on 2 cores at load 10-17: 2.0-2.5, where the bound was 3),
# so the same run without 429s goes beside it, at the same moment, against
# a server of its own: the light run passes with 3 in flight or more, or
# with a tenth of what the clean one kept or more (under ASan at load 8-14
# the light run kept 7.1-13.5 of the clean one's 38-39, its weather's own
# decreases; the spiral keeps 0.6-1.4 of 25-38; a starved stage about as
# many in both).  Session 53's CI failed it once more (2.9 of 58.6): slow
# start's alarm on two losses in 8 answers and a test of 16 answers that
# said "a wall" on none; since session 54 such a test under a weather known
# is weather (limiter.c, weather_alike): simulated, 1 seed in 1,000 under
# a tenth of the clean run (was 30).
# Distinct texts: copies would wait for one request (docs/reuse.md, "Copies in one run").
# 100 documents (1,100 requests) a run, not 160: two runs now share the cores.
chunked_doc "/light%d.md" 10 100 | jq -c '.path as $p | .chunks |= map(.text = $p + " " + .text)' >"$T_DIR/light.ndjson"
fakeapi --slots 16 --latency chat=20
CLEAN=$BASE
fakeapi --slots 16 --latency chat=20 --rate-429 0.03 --retry-after 0.2
timeout 240 docpipe-summarize --backend openai --no-reuse --chunk-summaries --threads auto --base-url "$CLEAN/v1" \
	<"$T_DIR/light.ndjson" >"$T_DIR/clean.out" 2>"$T_DIR/clean.err" &
clean=$!
timeout 240 docpipe-summarize --backend openai --no-reuse --chunk-summaries --threads auto \
	<"$T_DIR/light.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
rc=$?
wait $clean
clean_rc=$?
api_stats >"$T_DIR/stats"
curl -sf "$CLEAN/_stats" >"$T_DIR/clean.stats"
# second_half STATS: the requests in flight, on average, over the second
# half of the run the server's log shows.
second_half() {
	python3 - "$1" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["times"]
start, end = min(x[1] for x in t), max(x[2] for x in t)
half = (start + end) / 2
busy = sum(max(0.0, x[2] - max(x[1], half)) for x in t)
print("%.1f" % (busy / (end - half)))
PY
}
in_flight=$(second_half "$T_DIR/stats")
clean_in_flight=$(second_half "$T_DIR/clean.stats")
diag "$(jq -c .status.chat "$T_DIR/stats"); $(grep -o 'lowered .*' "$T_DIR/err"); $in_flight in flight in the second half, $clean_in_flight without 429s"
is "$rc/$clean_rc" 0/0 "auto under 3% 429 at random (and beside it without): exit 0"
is "$(jq -r .kind "$T_DIR/out" | sort | uniq -c | tr -s ' ')" " 100 document" "the 100 documents are summarized, nothing failed"
ok "$(echo "$in_flight >= 3 || $in_flight * 10 >= $clean_in_flight" | bc | grep -q 1 && echo 0 || echo 1)" \
	"light weather is no wall: 3 requests in flight or more over the run's second half, or a tenth of the clean run's ($in_flight, clean $clean_in_flight)"
done_testing
