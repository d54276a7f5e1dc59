#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A document slower to process than the hub's re-send timeout (a big one,
# or a slow model API) is not lost: the replica that works on it says so
# in its stats ("holding"), and while it makes progress the hub does not
# re-send it (a copy would pay its requests again; after --attempts it
# failed).  A replica that holds a document without any progress gets no
# such credit: --timeout still ends a stuck document.
. "$(dirname "$0")/../lib/tap.sh"
release_only "the hub's re-send timeouts"
newdb || exit 1
unset OPENAI_API_KEY

# Each chat request takes 0.3 s; one summarize thread; the slow document's
# 24 chunk summaries and its own summary take ~8 s, --timeout is 3 s.
fakeapi --latency chat=300+0
mkdir -p "$T_DIR/docs"
for i in $(seq 12); do
	printf '## Part %d\n\n%s\n\n' "$i" "$(seq -s ' ' 1 120)"
done >"$T_DIR/docs/slow.md"
printf '# Small\n\nA small one.\n' >"$T_DIR/docs/small.md"
start=$(date +%s.%N)
docpipe run "$T_DIR/docs" --progress none --timeout 3 --attempts 2 --threads summarize=1 \
	--opt chunk=--max-tokens=80 --opt summarize=--backend=openai --opt summarize=--chunk-summaries \
	>"$T_DIR/r1" 2>"$T_DIR/e1"
rc=$?
secs=$(echo "$(date +%s.%N) - $start" | bc)
is "$rc/$(jq -r '[.added, .failed, .resent] | @tsv' "$T_DIR/r1")" "0/2	0	0" \
	"a document slower than --timeout (${secs%.*} s against 3 s): stored, none failed, none re-sent"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/e1" | tail -5
paid=$(api_stats .requests.chat)
api_reset
docpipe-discover "$T_DIR/docs" | docpipe-chunk --max-tokens 80 |
	docpipe-summarize --backend openai --chunk-summaries --no-reuse --threads 8 >/dev/null 2>&1
is "$paid" "$(api_stats .requests.chat)" \
	"each request paid once (as many as a shell pipeline, which cannot re-send)"

# Stuck: chunk's converter for the slow document never ends (it waits for
# chunk's own end, tail --pid, at no CPU where a --jq counting to 40
# million burnt a core), no progress; the hub re-sends it after --timeout
# and, after --attempts, fails it.
HANG='--convert=md=case "$1" in */slow.md) exec tail -s 0.1 --pid=$PPID -f /dev/null ;; esac; cat'
touch "$T_DIR/docs/slow.md" "$T_DIR/docs/small.md"
printf '\nchanged\n' >>"$T_DIR/docs/slow.md"
docpipe run "$T_DIR/docs" --progress none --timeout 1 --attempts 2 --opt "chunk=$HANG" \
	>"$T_DIR/r2" 2>"$T_DIR/e2"
is "$?/$(jq -r '.failures[] | select(.path | endswith("/slow.md")) | .error | test("attempt")' "$T_DIR/r2")" "1/true" \
	"a replica stuck on a document without progress: re-sent after --timeout, failed after --attempts"

# A wait the model API asks for (429, Retry-After 4 s, to both documents'
# first requests: no progress meanwhile) longer than the hub's --timeout x
# --attempts (2 s x 1: a re-sent copy's arrival is progress, which would
# give the original credit), within summarize's --retry-budget: the stage says
# it waits on the model API, the hub re-sends nothing; before, every
# document was failed "no receipt after 1 attempts", its requests paid.
api_reset
api_control '{"faults":[{"endpoint":"chat","status":429,"retry_after":4},{"endpoint":"chat","status":429,"retry_after":4}]}'
printf '\nagain\n' >>"$T_DIR/docs/small.md"
docpipe run "$T_DIR/docs" --progress none --timeout 2 --attempts 1 --threads summarize=1 \
	--opt summarize=--backend=openai --opt summarize=--retry-budget=30 >"$T_DIR/r3" 2>"$T_DIR/e3"
rc=$?
is "$rc/$(jq -r '[.updated, .failed] | @tsv' "$T_DIR/r3")" "0/2	0" \
	"a Retry-After longer than --timeout x --attempts: both stored, none failed"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/e3" | tail -5
is "$(api_stats .requests.chat)" 4 "... a request each and the two answered 429"
done_testing
