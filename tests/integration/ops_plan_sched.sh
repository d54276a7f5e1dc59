#!/bin/bash
# docpipe plan against the request scheduler of docpipe-summarize (issue 8)
# with several requests in flight: section rounds of long documents, their
# combine rounds and chunk-summary prompts (heading path, document summary)
# are built by the one piece of code both use (src/summarize/prompts.c), so
# the run spends exactly the chat requests and tokens planned while its
# requests overlap; embed --threads 4 stays within the planned range.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
set -o pipefail

python3 "$TOP/tests/fakeapi.py" --port 0 --latency chat=30+0 >"$T_DIR/port" 2>"$T_DIR/server.err" &
SERVERS+=($!)
wait_for 30 test -s "$T_DIR/port"
BASE=http://127.0.0.1:$(awk '{print $2}' "$T_DIR/port")

D=$T_DIR/docs
mkdir -p "$D"
SRC=/work/shared/corpora/rust-book/src
for f in ch01-02-hello-world ch04-00-understanding-ownership ch05-00-structs ch06-00-enums \
	ch14-00-more-about-cargo; do
	cp "$SRC/$f.md" "$D/"
done
# Ollama-style answers carry no usage: the run counts tokens with the
# plan's estimate.  The fake server's summaries are 6 tokens long.
API=(--opt summarize=--backend=ollama --opt "summarize=--base-url=$BASE" --opt summarize=--chunk-summaries
     --opt summarize=--threads=4 --opt summarize=--context-tokens=256
     --opt embed=--backend=ollama --opt "embed=--base-url=$BASE" --opt embed=--dim=8
     --opt embed=--threads=4 --opt chunk=--max-tokens=200)

docpipe plan "$D" "${API[@]}" --summary-tokens 6 --json >"$T_DIR/plan" 2>"$T_DIR/plan.err"
is "$?" 0 "plan exits 0"
is "$(api_stats '.requests.chat + .requests.embed')" 0 "zero requests while planning"
[ "$(jq -r .stages.summarize.guessed "$T_DIR/plan")" -gt 0 ]; ok $? "long documents: rounds over summaries not made yet"
# The server holds the chat requests after the first (the stage's probe)
# until two are open at once: several in flight whatever the load (with
# the 30 ms answers alone, a slow machine could send each after the one
# before had its answer).
api_control '{"hold_after": {"chat": 1}}'
(
	wait_for 60 api_requests_ge chat 3
	api_control '{"hold": false}'
) &
release=$!
docpipe run "$D" "${API[@]}" --progress none >"$T_DIR/report" 2>"$T_DIR/run.err"
is "$?" 0 "run exits 0"
wait $release
[ "$(api_stats .max_concurrent.chat)" -gt 1 ]; ok $? "the scheduler had several chat requests in flight ($(api_stats .max_concurrent.chat))"
is "$(api_stats .requests.chat)" "$(jq -r .stages.summarize.requests "$T_DIR/plan")" \
	"chat requests served = planned ($(api_stats .requests.chat))"
is "$(jq -r .tokens "$T_DIR/plan")" "$(jq -r .tokens "$T_DIR/report")" \
	"tokens spent = planned ($(jq -r .tokens "$T_DIR/report"))"
E=$(api_stats .requests.embed)
LO=$(jq -r .stages.embed.requests "$T_DIR/plan") HI=$(jq -r .stages.embed.requests_max "$T_DIR/plan")
[ "$LO" -le "$E" ] && [ "$E" -le "$HI" ]; ok $? "embedding requests $E within the planned $LO-$HI"
is "$(api_stats .inputs.embed)" "$(jq -r .stages.embed.inputs "$T_DIR/plan")" "embedding inputs = planned"

done_testing
