#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# Overlap (issue 8): in `docpipe run` the hub sends each document chunk
# writes to summarize and embed at once and joins their outputs for the
# store.  Against the test API server with chat and embedding latency:
# the embedding requests of a 220-chunk document start before its last
# chat request ends (not so with --no-overlap), and the database is the
# plain pipeline's (every document once, with summaries and vectors); an
# error in one branch gives one failed receipt; kill -9 of an embed
# replica mid-run still ends with every document stored once.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
unset OPENAI_API_KEY
python3 "$TOP/tests/fakeapi.py" --port 0 --slots 16 --latency chat=40,embed=20+2 \
	>"$T_DIR/port" 2>"$T_DIR/server.err" &
SERVERS+=($!)
wait_for 30 test -s "$T_DIR/port" || { ok 1 "the test API server starts"; done_testing; }
BASE=http://127.0.0.1:$(awk '{print $2}' "$T_DIR/port")
export OPENAI_BASE_URL=$BASE/v1

# A guide of 220 sections (one chunk each, words of the Greek alphabet)
# and 30 small notes (numbers).
numbered_docs "$T_DIR/docs" 30 40 note
python3 - "$T_DIR/docs/big.md" <<'PY'
import random, sys
r = random.Random(1)
words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
parts = ["## Part %d\n\n%s\n" % (i, " ".join(r.choice(words) for _ in range(300))) for i in range(220)]
open(sys.argv[1], "w").write("# Big guide\n\n" + "\n".join(parts))
PY
is "$(docpipe-discover "$T_DIR/docs/big.md" | docpipe-chunk | jq '.chunks | length')" 220 \
	"the big document has 220 chunks"

SUM=(--backend openai --chunk-summaries --no-reuse)
EMB=(--backend openai --dim 8 --no-reuse)
newdb || exit 1
docpipe-discover "$T_DIR/docs" | docpipe-chunk | docpipe-summarize "${SUM[@]}" --threads 8 |
	docpipe-embed "${EMB[@]}" --threads 4 | docpipe-store -q >/dev/null
ok $? "plain pipeline over the corpus"
want=$(fingerprint)
is "$(sql "SELECT count(*) FILTER (WHERE summary IS NULL OR embedding IS NULL) || '/' || count(*)
	FROM docpipe.chunks")" "0/250" "its chunks all have a summary and a vector"

RUN=(--progress plain --opt hub=--progress-every=1 --threads summarize=8 --threads embed=4)
for a in "${SUM[@]}"; do RUN+=(--opt "summarize=$a"); done
for a in "${EMB[@]}"; do RUN+=(--opt "embed=$a"); done

# The big document's requests in the server's log: the first embedding
# request's start minus the last chat request's end (seconds; < 0: they
# overlapped).
big_gap() {
	api_stats '[.log[] | select(any(.inputs[]; test("theta")))] as $big
		| ([$big[] | select(.endpoint == "embed") | .start] | min)
		  - ([$big[] | select(.endpoint == "chat") | .end] | max)'
}
# Whether one of the big document's embedding requests was answered.
big_embedded() {
	[ "$(api_stats '[.log[] | select(.endpoint == "embed" and any(.inputs[]; test("theta")))] | length')" -gt 0 ] 2>/dev/null
}
# The store's records done, from the hub's last progress line: one per
# document when none reached it twice.
store_done() { grep -E '^docpipe-hub: store ' "$1" | tail -1 | sed -E 's/.* done +([0-9]+).*/\1/'; }

declare -A tokens
for mode in overlap no-overlap; do
	newdb || exit 1
	api_reset
	extra=()
	[ $mode = no-overlap ] && extra=(--opt hub=--no-overlap)
	# With the overlap the server holds the chat requests after the 4th
	# until one of the big document's embedding requests is answered: its
	# summaries cannot all be done by then, whatever the load (the 40 ms
	# answers alone give its 220 chat requests ~1.1 s at 8 threads, which a
	# slow enough machine could outlast before embed's first request).
	release=""
	if [ $mode = overlap ]; then
		api_control '{"hold_kinds": ["chat"], "hold_after": {"chat": 4}}'
		(
			wait_for 60 big_embedded
			api_control '{"hold": false, "hold_kinds": null}'
		) &
		release=$!
	fi
	timeout 120 docpipe run "$T_DIR/docs" "${RUN[@]}" "${extra[@]}" >"$T_DIR/report" 2>"$T_DIR/err"
	is "$?" 0 "$mode: run exits 0"
	[ -z "$release" ] || wait $release
	is "$(jq -r '[.complete, .documents, .added, .failed] | @tsv' "$T_DIR/report")" \
		"$(printf 'true\t31\t31\t0')" "$mode: report: complete, 31 documents added, none failed"
	is "$(fingerprint)" "$want" "$mode: the database is the plain pipeline's (summaries and vectors, each document once)"
	is "$(store_done "$T_DIR/err")" 31 "$mode: the store got 31 records: none twice"
	# The hub's drain ends once the counters are final (hub_stats_final),
	# not after a tick: they must still hold every request.
	is "$(jq -r .requests "$T_DIR/report")" \
		"$(api_stats '.requests.chat + .requests.embed')" \
		"$mode: the report counts every request the server saw"
	tokens[$mode]=$(jq -r .tokens "$T_DIR/report")
	gap=$(big_gap)
	if [ $mode = overlap ]; then
		ok "$(awk -v g="$gap" 'BEGIN { print (g < 0 ? 0 : 1) }')" \
			"overlap: the big document's embeddings start before its last chat request ends (by $gap s)"
	else
		ok "$(awk -v g="$gap" 'BEGIN { print (g > 0 ? 0 : 1) }')" \
			"no-overlap: they start after it ($gap s)"
	fi
done

ok $([ "${tokens[overlap]}" = "${tokens[no-overlap]}" ] && [ "${tokens[overlap]}" -gt 0 ] && echo 0 || echo 1) \
	"the reports count the same tokens in both modes (${tokens[overlap]}, ${tokens[no-overlap]})"

# An error in one branch: embed refuses the chunk of one note (400); the
# summarize branch's document for it (local summaries) is dropped: one
# failed receipt.  Then in both branches (summarize with the API too):
# still one.
mkdir -p "$T_DIR/bad"
numbered_docs "$T_DIR/bad" 6 20 ok
printf '# Bad\n\nThis note says FAILME.\n' >"$T_DIR/bad/bad.md"
api_control '{"bad_input": "FAILME"}'
for sum in local openai; do
	newdb || exit 1
	timeout 60 docpipe run "$T_DIR/bad" --progress plain --opt hub=--progress-every=1 \
		--opt summarize=--backend=$sum --opt embed=--backend=openai --opt embed=--dim=8 \
		>"$T_DIR/report" 2>"$T_DIR/err"
	is "$?" 1 "summarize $sum, an embedding refused: run exits 1"
	stages=embed
	[ $sum = openai ] && stages='(summarize|embed)'
	like "$(jq -r '[.documents, .added, .failed, (.failures | length), .failures[0].path, .failures[0].stage] | @tsv' "$T_DIR/report")" \
		"^$(printf '7\t6\t1\t1\t%s\t' "$T_DIR/bad/bad.md")$stages\$" "summarize $sum: report: 6 added, 1 failed in $stages"
	is "$(store_done "$T_DIR/err")" 7 "summarize $sum: the store got one failed record for it, not two"
	is "$(sql "SELECT count(*) FROM docpipe.documents")/$(sql "SELECT path FROM docpipe.failures")" \
		"6/$T_DIR/bad/bad.md" "summarize $sum: 6 documents stored, the bad one in docpipe.failures"
done
api_control '{"bad_input": null}'

# kill -9 of one of two embed replicas while it holds work (embeddings
# made slow: 2 s a request): the hub re-sends what it held, the run ends with every
# document stored once.
newdb || exit 1
api_reset
api_control '{"latency": "chat=40,embed=2000+2"}'
docpipe run "$T_DIR/docs" "${RUN[@]}" --replicas embed=2 >"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
in_flight() { grep -E "^docpipe-hub: embed " "$T_DIR/err" | tail -1 | sed -E 's/.*in flight +([0-9]+).*/\1/'; }
busy() { [ "$(in_flight)" -ge 2 ] 2>/dev/null; }
wait_for 60 busy
ok $? "the embed replicas hold documents (in flight: $(in_flight))"
victim=$(pgrep -P $SUP -f "docpipe-embed " | head -1)
kill -9 "$victim"
ok $? "kill -9 an embed replica (pid $victim)"
wait_for 90 exited $SUP || { ok 1 "run finished"; kill -TERM $SUP; }
wait $SUP
is "$?" 0 "run exits 0"
like "$(cat "$T_DIR/err")" "embed-[12] \(pid $victim\) exited with status 137; restarting" \
	"the supervisor restarted it"
is "$(jq -r '[.complete, .documents, .failed, .added + .unchanged] | @tsv' "$T_DIR/report")" \
	"$(printf 'true\t31\t0\t31')" "report: complete, 31 documents, each one outcome"
ok $(($(jq -r .resent "$T_DIR/report") > 0 ? 0 : 1)) "documents were re-sent ($(jq -r .resent "$T_DIR/report"))"
is "$(fingerprint)" "$want" "the database is the plain pipeline's: every document once, whole"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err" | grep -v 'in flight' | tail -30
done_testing
