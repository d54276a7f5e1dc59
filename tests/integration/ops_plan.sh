#!/bin/bash
# docpipe plan against the test model server: zero requests while planning,
# and the run that follows spends exactly the requests and tokens planned
# (real Markdown from the rust book; Ollama-style API, whose answers carry
# no usage, so the run counts tokens with the same estimate as the plan).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
set -o pipefail

python3 "$TOP/tests/fakeapi.py" --port 0 >"$T_DIR/port" 2>"$T_DIR/server.err" &
SERVERS+=($!)
wait_for 30 test -s "$T_DIR/port"
BASE=http://127.0.0.1:$(awk '{print $2}' "$T_DIR/port")

D=$T_DIR/docs
mkdir -p "$D"
SRC=/work/shared/corpora/rust-book/src
for f in ch01-00-getting-started ch04-00-understanding-ownership ch05-00-structs ch06-00-enums \
	ch14-00-more-about-cargo ch18-00-oop appendix-00 ch03-00-common-programming-concepts; do
	cp "$SRC/$f.md" "$D/"
done
cp "$SRC/ch01-02-hello-world.md" "$D/"   # a long one: many chunks
# The fake server's summaries are 24 ASCII characters: 6 tokens.
API=(--opt summarize=--backend=ollama --opt "summarize=--base-url=$BASE" --opt summarize=--chunk-summaries
     --opt embed=--backend=ollama --opt "embed=--base-url=$BASE" --opt embed=--dim=8
     --opt chunk=--max-tokens=200)
ONE=(--opt embed=--batch-inputs=1)

# plan_then_run NAME EXTRA...: plans, checks nothing was sent, runs, and
# compares the run's report with the plan.
plan_then_run() {
	local name=$1; shift
	api_reset
	docpipe plan "$D" "${API[@]}" "$@" --summary-tokens 6 --json >"$T_DIR/plan" 2>"$T_DIR/plan.err"
	is "$?" 0 "$name: plan exits 0"
	is "$(api_stats '.requests.chat + .requests.embed')" 0 "$name: zero requests while planning"
	docpipe run "$D" "${API[@]}" "$@" --progress none >"$T_DIR/report" 2>"$T_DIR/run.err"
	RUN_RC=$?
}

plan_then_run "first run" "${ONE[@]}"
is "$RUN_RC" 0 "first run: exit 0"
is "$(jq -r '.documents | [.new, .changed, .unchanged, .gone, .failed] | @tsv' "$T_DIR/plan")" \
	"$(printf '9\t0\t0\t0\t0')" "first plan: 9 new documents"
is "$(jq -r .requests "$T_DIR/plan")" "$(jq -r .requests "$T_DIR/report")" \
	"first run: requests spent = requests planned ($(jq -r .requests "$T_DIR/report"))"
is "$(jq -r .tokens "$T_DIR/plan")" "$(jq -r .tokens "$T_DIR/report")" \
	"first run: tokens spent = tokens planned ($(jq -r .tokens "$T_DIR/report"))"
is "$(jq -r '.stages.summarize.requests' "$T_DIR/plan")" "$(api_stats .requests.chat)" \
	"summarize: chat requests served = planned"
is "$(jq -r '.stages.embed | "\(.inputs) \(.requests)"' "$T_DIR/plan")" \
	"$(api_stats '"\(.inputs.embed) \(.requests.embed)"')" "embed: inputs and requests served = planned"
[ "$(jq -r .requests "$T_DIR/plan")" -gt 20 ]; ok $? "the plan is not trivially empty"

plan_then_run "unchanged" "${ONE[@]}"
is "$(jq -r '[.documents.unchanged, .requests, .tokens] | @tsv' "$T_DIR/plan")" "$(printf '9\t0\t0')" \
	"unchanged corpus: 9 unchanged, 0 requests, 0 tokens planned"
is "$(jq -r '.stages.embed.cached' "$T_DIR/plan")" "$(sql 'SELECT count(*) FROM docpipe.chunks')" \
	"every vector known to be cached"
is "$(jq -r '[.unchanged, .requests] | @tsv' "$T_DIR/report")" "$(printf '9\t0')" "and the run spends nothing"

# Edit one file, remove another, add one.
printf '\n## A new section\n\nWith a paragraph that was not there before.\n' >>"$D/ch05-00-structs.md"
rm "$D/ch18-00-oop.md"
cp "$SRC/ch02-00-guessing-game-tutorial.md" "$D/"
plan_then_run "edited" "${ONE[@]}"
is "$(jq -r '.documents | [.new, .changed, .unchanged, .gone] | @tsv' "$T_DIR/plan")" \
	"$(printf '1\t1\t7\t1')" "edited corpus: 1 new, 1 changed, 7 unchanged, 1 gone"
is "$(jq -r '[.added, .updated, .unchanged, .deleted] | @tsv' "$T_DIR/report")" \
	"$(printf '1\t1\t7\t1')" "the run agrees"
is "$(jq -r '"\(.requests) \(.tokens)"' "$T_DIR/plan")" "$(jq -r '"\(.requests) \(.tokens)"' "$T_DIR/report")" \
	"edited corpus: requests and tokens spent = planned ($(jq -r .requests "$T_DIR/report") requests)"

# Long documents summarized in rounds (sections, then their summaries):
# the later rounds' prompts hold summaries not made yet.
plan_then_run "rounds" "${ONE[@]}" --opt summarize=--context-tokens=256
is "$RUN_RC" 0 "rounds: exit 0"
[ "$(jq -r .stages.summarize.guessed "$T_DIR/plan")" -gt 0 ]; ok $? "rounds: some prompts hold summaries not made yet"
is "$(jq -r '"\(.requests) \(.tokens)"' "$T_DIR/plan")" "$(jq -r '"\(.requests) \(.tokens)"' "$T_DIR/report")" \
	"rounds: requests and tokens spent = planned ($(jq -r .requests "$T_DIR/report") requests)"

# Default batching: the embedding requests depend on timing; the plan gives
# the range and the inputs exactly.
printf '\nAnother edit.\n' >>"$D/ch06-00-enums.md"
printf '\nAnd one more.\n' >>"$D/ch04-00-understanding-ownership.md"
plan_then_run "batched"
E=$(api_stats .requests.embed)
LO=$(jq -r .stages.embed.requests "$T_DIR/plan") HI=$(jq -r .stages.embed.requests_max "$T_DIR/plan")
[ "$LO" -le "$E" ] && [ "$E" -le "$HI" ]; ok $? "batched: embedding requests $E within the planned $LO-$HI"
is "$(jq -r .stages.embed.inputs "$T_DIR/plan")" "$(api_stats .inputs.embed)" "batched: inputs = planned"
is "$(jq -r .tokens "$T_DIR/plan")" "$(jq -r .tokens "$T_DIR/report")" "batched: tokens = planned"

# Prices: from the command line or a config file's "plan" lines (which
# docpipe run accepts and ignores); text output.
printf 'plan --price=llama3.2=2.5\nplan --price=nomic-embed-text=0.1\n' >"$T_DIR/conf"
printf '\nA third edit.\n' >>"$D/ch06-00-enums.md"
api_reset
docpipe plan "$D" "${API[@]}" --config "$T_DIR/conf" --json >"$T_DIR/priced"
is "$(jq -r '(.stages.summarize.tokens * 2.5 + .stages.embed.tokens * 0.1) / 1e6 - .usd | fabs < 1e-12' "$T_DIR/priced")" \
	true "cost = tokens x price per million, summed over the stages"
docpipe plan "$D" "${API[@]}" --price llama3.2=2.5 >"$T_DIR/text"
like "$(grep '^summarize' "$T_DIR/text")" 'ollama/llama3.2 .*\$[0-9.]+' "text: a cost for the priced model"
like "$(grep '^embed' "$T_DIR/text")" '\?$' "text: '?' for a model without a price"
like "$(cat "$T_DIR/text")" "no --price for nomic-embed-text" "text: says which price is missing"
docpipe plan "$D" --price nonsense >/dev/null 2>"$T_DIR/err"
is "$?" 2 "a bad --price is a usage error"
is "$(api_stats '.requests.chat + .requests.embed')" 0 "no request from these plans"
docpipe run "$D" "${API[@]}" --config "$T_DIR/conf" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
is "$?" 0 "docpipe run accepts a config with plan lines"
is "$(api_stats .requests.chat)" "$(jq -r .stages.summarize.requests "$T_DIR/priced")" \
	"and spends the summarize requests planned (embedding requests batch by timing)"

# Planned beside spent: plan --run ID records the prediction, docpipe run
# --run ID the figures; docpipe status shows both.
printf '\nA fourth edit.\n' >>"$D/ch01-00-getting-started.md"
docpipe plan "$D" "${API[@]}" "${ONE[@]}" --summary-tokens 6 --run planned-1 >/dev/null
is "$?" 0 "plan --run exits 0"
docpipe run "$D" "${API[@]}" "${ONE[@]}" --run planned-1 --progress none >"$T_DIR/report" 2>"$T_DIR/err"
docpipe status --json | jq -c '.runs[] | select(.id == "planned-1")' >"$T_DIR/st"
is "$(jq -r '"\(.planned_requests) \(.planned_tokens)"' "$T_DIR/st")" "$(jq -r '"\(.requests) \(.tokens)"' "$T_DIR/st")" \
	"status: planned requests and tokens = spent ($(jq -r .requests "$T_DIR/st") requests)"
like "$(docpipe status | grep -A2 '^  planned-1')" "planned: [0-9]+ requests, [0-9]+ tokens" "status text: the planned line"

# Copies (a file at three paths, as in versioned docs trees): the run pays
# each text once (its in-flight registry and cache answer the copies), and
# the plan says so: the copies' texts count as repeated, in requests_max.
mkdir -p "$D/v1" "$D/v2"
cp "$SRC/ch08-01-vectors.md" "$D/ch08-01-vectors.md"
cp "$SRC/ch08-01-vectors.md" "$D/v1/"
cp "$SRC/ch08-01-vectors.md" "$D/v2/"
plan_then_run "copies" "${ONE[@]}"
is "$RUN_RC" 0 "copies: exit 0"
[ "$(jq -r .stages.embed.repeated "$T_DIR/plan")" -gt 0 ]; ok $? "copies: the copies' chunk texts are repeated"
is "$(jq -r '"\(.requests) \(.tokens)"' "$T_DIR/plan")" "$(jq -r '"\(.requests) \(.tokens)"' "$T_DIR/report")" \
	"copies: requests and tokens spent = planned ($(jq -r .requests "$T_DIR/report") requests)"
is "$(jq -r '.stages.embed | "\(.inputs) \(.requests)"' "$T_DIR/plan")" \
	"$(api_stats '"\(.inputs.embed) \(.requests.embed)"')" "copies: embed inputs and requests served = planned"
[ "$(jq -r '.requests_max - .requests' "$T_DIR/plan")" -ge "$(jq -r '.stages.embed.repeated + .stages.summarize.repeated' "$T_DIR/plan")" ]
ok $? "copies: requests_max counts them"

done_testing
