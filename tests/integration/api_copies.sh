#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# Copies in one run (docs/reuse.md, "Copies in one run"; README "No money
# wasted"): copies of one document, and identical texts within one
# document, are paid once: a request whose text is already asked waits for
# that answer (summarize and embed).  A first request that fails is asked
# again by a waiter, and the copies fare alike; a text refused twice fails
# every copy with the reason.  An unchanged re-run pays nothing.
. "$(dirname "$0")/../lib/tap.sh"
# LeakSanitizer reported 41 bytes from jv_mem_alloc here in sessions 45
# and 53 (check 3, "40 copies": exit 86): a summary of this test server's
# ("SUMMARY-" and 16 hex digits, a jq string of 24), as summarize_chat
# returned it to sched.c's worker.  The cause (session 54): deliver gave
# the copies waiting on an answer references to the owner's string, and
# the threads that step, finish and write those documents copy and free
# them outside the lock; jq's reference counts are not atomic, so an
# update lost leaked the string (or freed it early: a use after free, seen
# once in 200 runs of 200 copies).  Each copy now gets a string of its own;
# the last check below shows no two threads meet on one.  The slow
# unwinder (ASan builds only; 7-10 CPU-s a run with it) named the frames.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0:malloc_context_size=40"
# Answers take 300 ms: copies read meanwhile find no result in the cache.
fakeapi --latency chat=300,embed=300
unset OPENAI_API_KEY

# corpus FILE COPIES [PREFIX]: COPIES copies of one document of 4 chunks
# (the 2nd and 4th alike) and two other documents of 3 chunks.
corpus() {
	python3 - "$@" <<'PY'
import json, sys
out, copies, pre = sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else ""
def doc(path, texts):
    return json.dumps({"v": 1, "kind": "document", "path": path,
        "chunks": [{"seq": i, "text": t, "heading": ["H"]} for i, t in enumerate(texts)]})
twice = pre + "The same paragraph, written twice in the copied file."
copy = [pre + "Copied file, its first paragraph.", twice, pre + "Copied file, a third one.", twice]
with open(out, "w") as f:
    for k in range(copies):
        print(doc("/c/copy%02d.md" % k, copy), file=f)
    for o in range(2):
        print(doc("/o/other%d.md" % o, [pre + "Other %d, part %d." % (o, i) for i in range(3)]), file=f)
PY
}
run() { # run IN OUT: summarize --chunk-summaries | embed, into this database's cache
	docpipe-summarize --backend openai --chunk-summaries -j 8 <"$1" 2>"$2.e1" |
		docpipe-embed --backend openai -j 4 >"$2" 2>"$2.e2"
}
# run_held IN OUT: run over a warm-up document, then IN, the server holding
# every request after the warm-up's first until the other files' summaries
# are asked (5 chat requests: the warm-up's summary, answered, then its
# chunk's, the copied file's and the two others' summaries, held).  The
# stage begins each document as it reads it, so every copy waits on the
# first one's request by then; without the hold a loaded machine could
# read a copy after that request's answer (asked again before the cache
# has it) or its failure (nobody waited: it fails its own document).  The
# warm-up's answer is the stage's first success, which opens its level:
# held from its very first request, the stage let one more go each 5 s
# (limiter.h, dp_limiter_overdue), 10 s a run for the 3 summaries.  Its
# cost (WARM_CHAT chat requests, WARM_INPUTS embedding inputs) comes off
# the counts below.
WARM_CHAT=2 WARM_INPUTS=1
printf '%s\n' '{"v":1,"kind":"document","path":"/a/warm.md","chunks":[{"seq":0,"text":"A warm-up text, asked first.","heading":["H"]}]}' \
	>"$T_DIR/warm.ndjson"
run_held() {
	local pipeline
	api_control '{"hold_after": {"chat": 1}}'
	cat "$T_DIR/warm.ndjson" "$1" >"$T_DIR/held.ndjson"
	run "$T_DIR/held.ndjson" "$2" &
	pipeline=$!
	wait_for 120 api_requests_ge chat 5 || diag "the other files' summaries were not asked"
	api_control '{"hold": false}'
	wait $pipeline
}
# chat_paid, inputs_paid: the requests and inputs of the last run_held's
# own documents (the warm-up's off).
chat_paid() { echo $(($(api_requests chat) - WARM_CHAT)); }
inputs_paid() { echo $(($(inputs) - WARM_INPUTS)); }
inputs() { api_stats .inputs.embed; }
errors() { jq -s '[.[] | select(.kind == "error")] | length' "$1"; }

# One copy: 3 distinct chunk prompts and 1 summary per document (12 chat),
# 3 distinct texts per document (9 embedding inputs).
newdb || exit 1
corpus "$T_DIR/one.ndjson" 1
run "$T_DIR/one.ndjson" "$T_DIR/o1"
is "$?" 0 "one copy: the pipeline ends (exit 0)"
is "$(api_requests chat):$(inputs)" 12:9 "identical texts in one document are asked once (12 chat requests, 9 embedding inputs)"

newdb || exit 1
api_reset
corpus "$T_DIR/copies.ndjson" 40
run_held "$T_DIR/copies.ndjson" "$T_DIR/o40"
is "$?" 0 "40 copies: the pipeline ends (exit 0)"
is "$(chat_paid):$(inputs_paid)" 12:9 "40 copies of a file cost what one does (12 chat requests, 9 embedding inputs)"
ERRS=$(errors "$T_DIR/o40")
is "$ERRS" 0 "no document failed"
same=$(jq -c 'select(.path | startswith("/c/")) | [.summary, [.chunks[] | [.summary, .vec]]]' "$T_DIR/o40" | sort -u | wc -l)
is "$same" 1 "every copy has the same summaries and vectors"
is "$(jq -c 'select(.path == "/c/copy00.md") | [.summary, [.chunks[] | [.summary, .vec]]]' "$T_DIR/o1")" \
	"$(jq -c 'select(.path == "/c/copy07.md") | [.summary, [.chunks[] | [.summary, .vec]]]' "$T_DIR/o40")" \
	"a copy's results are those of the one-copy run"
is "$(inexact_vectors "$T_DIR/o40")" 0 "every vector is the server's for its text"
like "$(cat "$T_DIR/o40.e1")" "196 summaries reused, $((12 + WARM_CHAT)) requested" \
	"summarize counts the copies' answers as reused (208 prompts, 12 asked, and the warm-up's)"

api_reset
run "$T_DIR/copies.ndjson" "$T_DIR/again"
is "$?:$(api_requests chat):$(api_requests embed)" 0:0:0 "an unchanged re-run makes no request"

# One thread at a time per answer: a copy's answers are strings of its
# own, never references to another document's, whose count the thread
# that steps or writes that document would change as this one does (jq's
# reference counts are not atomic: the leak above).  tests/lib/jvrace.c
# widens every change of the count of the server's answers to 300 us and
# says when two threads meet on one: with the references shared (before
# session 54) 700-1,300 meetings a run; their lost updates leaked or
# freed an answer in 3 runs of 500 (40 copies) to 1 of 10 (200 copies).
# The API's answers first, then the cache's (delivered alike).
newdb || exit 1
api_reset
if ${CC:-cc} -shared -fPIC -O1 -o "$T_DIR/jvrace.so" "$TOP/tests/lib/jvrace.c" -ldl 2>"$T_DIR/jvrace.err"; then
	for from in API:1 cache:0; do
		asked=$(api_requests chat)
		LD_PRELOAD="$T_DIR/jvrace.so${LD_PRELOAD:+ $LD_PRELOAD}" JVRACE_PREFIX=SUMMARY- \
			ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
			docpipe-summarize --backend openai --chunk-summaries -j 8 <"$T_DIR/copies.ndjson" \
			>"$T_DIR/race.${from%:*}" 2>"$T_DIR/race.${from%:*}.e"
		rc=$?
		asked=$(($(api_requests chat) > asked))
		watched=$(sed -n 's/^jvrace watched //p' "$T_DIR/race.${from%:*}.e")
		is "$rc:$(grep -c '^jvrace:' "$T_DIR/race.${from%:*}.e"):$asked:$((${watched:-0} > 0))" \
			"0:0:${from#*:}:1" \
			"answers from the ${from%:*}: no two threads change one's reference count at once (${watched:-no} changes watched)"
	done
else
	diag "$(cat "$T_DIR/jvrace.err")"
	skip "no C compiler for tests/lib/jvrace.c"
	skip "no C compiler for tests/lib/jvrace.c"
fi

# One place in flight (-j 1): the copies waiting hold none, so the one
# request that answers them gets it.
newdb || exit 1
api_reset
timeout 120 docpipe-summarize --backend openai --chunk-summaries -j 1 <"$T_DIR/copies.ndjson" >"$T_DIR/oj1" 2>"$T_DIR/oj1.e"
is "$?:$(api_requests chat):$(jq -s length "$T_DIR/oj1")" 0:12:42 "one place in flight: the 42 documents come out after 12 requests"

# The first request of the copied file's summary fails (400, once): a copy
# waiting on it asks again, and every copy gets the answer.
newdb || exit 1
api_reset
corpus "$T_DIR/fail1.ndjson" 40 "F1 "
api_control '{"faults": [{"endpoint": "chat", "status": 400, "input": "F1 Copied file, its first"}]}'
run_held "$T_DIR/fail1.ndjson" "$T_DIR/of1"
is "$?" 0 "a failed first request: the pipeline ends (exit 0)"
is "$(errors "$T_DIR/of1")" 0 "no copy fails: one that waited asked again"
is "$(chat_paid)" 13 "one request more (13), not one per copy"

# A text the server refuses every time: asked twice, then every copy fails
# with the server's reason (an error record each), none silently.
newdb || exit 1
api_reset
corpus "$T_DIR/bad.ndjson" 10 "BAD "
api_control '{"bad_input": "BAD Copied file, a third"}'
run_held "$T_DIR/bad.ndjson" "$T_DIR/obad"
is "$(jq -r 'select(.kind == "error") | .path' "$T_DIR/obad" | sort | tr '\n' ' ')" \
	"$(printf '/c/copy%02d.md ' $(seq 0 9))" "every copy fails, the others do not"
is "$(jq -r 'select(.kind == "error") | .error' "$T_DIR/obad" | grep -c 400)" 10 "each copy's error names the server's answer"
# 8 requests of the other documents, 2 of the refused summary.
is "$(chat_paid)" 10 "the refused text is asked twice, not once per copy (10 chat requests)"
done_testing
