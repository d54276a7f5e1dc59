#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# --threads auto against a server of one slot whose answers take a third
# of --timeout (a local model: Ollama or llama.cpp serving one request at
# a time).  Each request more in flight waits one answer more: the climb
# made the waits outlast the timeout, the requests were given up and sent
# again, and the give-ups were taken for weather (30 documents: 161
# requests sent again, 6.5x the time of --threads 1).  Now an answer over
# half the timeout lowers the level at once (src/lib/limiter.h, "Late
# answers"): nothing is asked twice.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
unset DATABASE_URL OPENAI_API_KEY PGDATABASE

# Distinct texts: copies would wait for one request (docs/reuse.md).
chunked_doc "/local%d.md" 1 10 | jq -c '.path as $p | .chunks |= map(.text = $p + " " + .text)' >"$T_DIR/docs.ndjson"
# The case's premise is its timing, which a loaded machine can break: one
# of slow start's two requests held up 0.4 s between its place and its
# sending is answered within half of --timeout, the round sees no late
# answer and doubles the level (4 in flight, 12 requests); a queued request
# held up 0.6 s passes --timeout (given up, sent again).  The limiter then
# judges what it measured, rightly: such a run is made again (twice at
# most), not judged.  held_up: the longest hold-up (ms) the server's log
# shows before the run went wrong (3 requests open at once, or one open
# past --timeout): a request that arrived that long after the last arrival
# or answer before it (the stage sends as a place frees: milliseconds), or
# an answer that long after its turn in the slot and its 0.7 s.  A limiter
# that climbs by itself does so with no hold-up before: it fails at once.
held_up() {
	python3 - "$T_DIR/stats" <<'PY'
import json, sys
t = sorted((x[1], x[2]) for x in json.load(open(sys.argv[1]))["times"] if x[0] == "chat")
opened, wrong = 0, float("inf")
for when, d in sorted([(s, 1) for s, e in t] + [(e, -1) for s, e in t]):
    opened += d
    if opened >= 3:
        wrong = when
        break
wrong = min([wrong] + [s + 2.0 for s, e in t if e - s >= 2.0])
ends, most = sorted(e for s, e in t), 0.0
for i, (s, e) in enumerate(t):
    before = [a for a, _ in t[:i]] + [x for x in ends if x <= s]
    if before and s < wrong:
        most = max(most, s - max(before))
    due = max([s] + [x for x in ends if x < e]) + 0.7
    if due < wrong:
        most = max(most, e - due)
print(int(most * 1000))
PY
}
for try in 1 2 3; do
	# A server of its own each time: a request of the run before, given
	# up by the stage, may still wait for the slot.
	[ $try = 1 ] || kill "$SERVER"
	fakeapi --slots 1 --latency chat=700
	timeout 120 docpipe-summarize --backend openai --no-reuse --threads auto --timeout 2 \
		<"$T_DIR/docs.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
	rc=$?
	api_stats >"$T_DIR/stats"
	held=$(held_up)
	diag "try $try: $(jq -c .status.chat "$T_DIR/stats"); $(grep -o 'in flight: .*' "$T_DIR/err"); held up $held ms at most"
	[ "$rc/$(jq -c '[.requests.chat, .max_concurrent.chat <= 2]' "$T_DIR/stats")" = "0/[10,true]" ] && break
	[ "$held" -ge 200 ] || break
done
is "$rc" 0 "auto against one slot answering in a third of --timeout: exit 0"
is "$(jq -r .kind "$T_DIR/out" | sort | uniq -c | tr -s ' ')" " 10 document" "the 10 documents are summarized"
is "$(jq -r .requests.chat "$T_DIR/stats")" 10 "one request each: none given up and sent again"
most=$(jq -r .max_concurrent.chat "$T_DIR/stats")
ok "$([ "$most" -le 2 ] && echo 0 || echo 1)" "at most 2 in flight (a third answer would wait past the timeout): $most"
is "$(grep -c "answers took over half of --timeout" "$T_DIR/err")" 0 "auto: no hint"
# A fixed level above the server's one slot queues requests past the
# timeout; nothing said so (fault sweep 17).  Now the closing lines do.
# Two in flight already wait twice 0.7 s, over half of --timeout: said,
# without the timeouts and sendings again of a higher level (45 s at 4).
# 4 of the documents: from the second answer on each is late (7 s for
# the 10, one after another in the slot).
api_reset
head -n 4 "$T_DIR/docs.ndjson" | timeout 120 docpipe-summarize --backend openai --no-reuse --threads 2 --timeout 2 \
	>"$T_DIR/out2" 2>"$T_DIR/err2"
like "$(cat "$T_DIR/err2")" "[0-9]+ answers took over half of --timeout at --threads 2: the server may serve fewer requests at once" \
	"--threads 2 against one slot: the hint to lower it or use auto"
# Requests always slower than --timeout among ones answered in time (a long
# prompt on a local model): each is its own, not a storm's: its attempts
# count and its document fails by name after --retries.  As weather they
# were sent again for the whole 300 s retry budget (fault sweep 17).
mkdir -p "$T_DIR/mixed"
python3 - "$T_DIR/mixed" <<'PY'
import random, sys
random.seed(1)
w = "alpha beta gamma delta kernel socket buffer thread queue model answer prompt token".split()
para = lambda n: " ".join(random.choice(w) for _ in range(n)) + ".\n\n"
for i in range(2):
    open(f"{sys.argv[1]}/big{i}.md", "w").write(f"# Big {i}\n\n" + "".join(para(120) for _ in range(40)))
for i in range(30):
    open(f"{sys.argv[1]}/small{i}.md", "w").write(f"# Small {i}\n\n" + "".join(para(60) for _ in range(3)))
PY
docpipe-discover "$T_DIR/mixed" | docpipe-chunk >"$T_DIR/mixed.ndjson"
fakeapi --slots 2 --latency chat=50+0.3
timeout 100 docpipe-summarize --backend openai --no-reuse --threads 2 --timeout 1 --retries 3 \
	<"$T_DIR/mixed.ndjson" >"$T_DIR/mixed.out" 2>"$T_DIR/mixed.err"
rc=$?
is "$rc" 1 "prompts slower than --timeout among quick ones: exit 1 within 100 s (not the 300 s budget)"
is "$(jq -r 'select(.kind == "document") | .path' "$T_DIR/mixed.out" | wc -l)" 30 "the 30 small documents are summarized"
like "$(jq -r 'select(.kind == "error") | .error' "$T_DIR/mixed.out" | sort -u | head -1)" "no answer within --timeout 1 s" \
	"each big one fails by name, the timeout named"
# The same with 4 big documents left alone at the end: 4 calls timing out
# with no answer between them looked like a server down for everyone, and
# were sent again for the 300 s budget (295 s, fault sweep 17).  A request
# larger than any answered is its own (no request of its size class or a
# larger one has been answered).
python3 - "$T_DIR/mixed" <<'PY'
import random, sys
random.seed(2)
w = "alpha beta gamma delta kernel socket buffer thread queue model answer prompt token".split()
para = lambda n: " ".join(random.choice(w) for _ in range(n)) + ".\n\n"
for i in range(2, 4):
    open(f"{sys.argv[1]}/big{i}.md", "w").write(f"# Big {i}\n\n" + "".join(para(120) for _ in range(40)))
PY
docpipe-discover "$T_DIR/mixed" | docpipe-chunk | jq -c 'select(.path | test("big") | not)' >"$T_DIR/last.ndjson"
docpipe-discover "$T_DIR/mixed" | docpipe-chunk | jq -c 'select(.path | test("big"))' >>"$T_DIR/last.ndjson"
fakeapi --slots 4 --latency chat=50+0.3
timeout 100 docpipe-summarize --backend openai --no-reuse --threads 4 --timeout 1 --retries 3 \
	<"$T_DIR/last.ndjson" >"$T_DIR/last.out" 2>"$T_DIR/last.err"
rc=$?
is "$rc/$(jq -r .kind "$T_DIR/last.out" | sort | uniq -c | tr -s ' ' | tr '\n' ' ')" "1/ 30 document  4 error " \
	"4 prompts slower than --timeout left at the end: each fails by name within 100 s (not the 300 s budget)"
ok "$([ "$(api_requests chat)" -le 60 ] && echo 0 || echo 1)" "... each after its 3 attempts ($(api_requests chat) requests for 38)"

# An embedding batch slower than --timeout (1 slot, 64 inputs in 2.7 s,
# --timeout 2): it was sent again whole until its attempts were spent, and
# every document in it failed; with several such batches the stage stopped
# as refused ("took connections but never answered", fault sweep 17).  Now
# a batch not answered in time goes out smaller: its first input alone,
# then the rest in halves.
mkdir -p "$T_DIR/many"
for i in $(seq 100); do printf '# Doc %d\n\ntext number %d about things %d.\n' "$i" "$i" "$i" >"$T_DIR/many/doc$i.md"; done
docpipe-discover "$T_DIR/many" | docpipe-chunk >"$T_DIR/many.ndjson"
fakeapi --slots 1 --latency embed=100+40
for j in 1 4; do
	api_reset
	timeout 100 docpipe-embed --backend openai --no-reuse --dim 16 --timeout 2 --threads $j \
		<"$T_DIR/many.ndjson" >"$T_DIR/many.out" 2>"$T_DIR/many.err"
	rc=$?
	n=$(api_requests embed)
	is "$rc/$(jq -r 'select(.kind == "document") | .path' "$T_DIR/many.out" | wc -l)" 0/100 \
		"--threads $j, batches slower than --timeout: the 100 documents are embedded"
	# 8 and 12 requests on a quiet machine; with 4 in flight on one slot
	# the queued ones wait their turn, so a slower server (ASan, load 8-13:
	# 27) times more of the halves out and splits them again.  Every input
	# alone would be 100+.
	ok "$([ "$n" -le 40 ] && echo 0 || echo 1)" "... in smaller requests, not the same ones again: $n requests"
done
# After a batch timed out, later ones are smaller (half, growing back by a
# quarter after 16 answered): each full batch of one big document timed
# out again before it went in parts, 1.85x the inputs paid (fault sweep 18).
chunked_doc "/big.md" 300 | jq -c '.chunks |= map(.text = "big \(.seq) " + .text)' >"$T_DIR/big.ndjson"
api_reset
timeout 100 docpipe-embed --backend openai --no-reuse --dim 16 --timeout 2 --threads 1 \
	<"$T_DIR/big.ndjson" >"$T_DIR/big.out" 2>"$T_DIR/big.err"
is "$?/$(jq -r .kind "$T_DIR/big.out")" 0/document "one document of 300 chunks, batches slower than --timeout: embedded"
paid=$(api_stats .inputs.embed)
ok "$([ "$paid" -le 450 ] && echo 0 || echo 1)" "... later batches smaller: $paid inputs paid for 300 (556 before)"
# One input slower than --timeout alone, first in its batch, while the
# server answers the rest: only its document fails (every document of the
# batch failed with its reason, fault sweep 18).
fakeapi --slots 4 --latency embed=5+1
api_control "{\"faults\":[$(yes '{"endpoint":"embed","kind":"hang","seconds":5,"input":"text number 1 about things 1."}' | head -n 8 | paste -sd,)]}"
timeout 100 docpipe-embed --backend openai --no-reuse --dim 16 --timeout 2 --retries 3 --threads 2 \
	<"$T_DIR/many.ndjson" >"$T_DIR/slow1.out" 2>"$T_DIR/slow1.err"
is "$?/$(jq -r 'select(.kind == "error") | .path' "$T_DIR/slow1.out" | sed 's|.*/||')" 1/doc1.md \
	"one input slower than --timeout: its document alone fails"
is "$(jq -r 'select(.kind == "document") | .path' "$T_DIR/slow1.out" | wc -l)" 99 "... the 99 others are embedded"
done_testing
