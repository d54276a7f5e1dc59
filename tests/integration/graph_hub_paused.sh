#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# The hub held up mid-run (SIGSTOP here; a stopped VM, swap, a starved
# process): the replicas go on and their stats and receipts wait in the
# queues.  When it woke, the hub judged their silence before reading what
# had queued, took every replica for dead ("4 replica(s) exited or fell
# silent") and re-sent every document in flight: 155 of 200 processed
# twice, each copy paying the model API again unless the first had been
# cached.  Now a hub that was itself held up forgives the silence of that
# time and restarts the re-send clocks.
. "$(dirname "$0")/../lib/tap.sh"
unset OPENAI_API_KEY
numbered_docs "$T_DIR/docs" 200 300 doc
newdb || exit 1
fakeapi --latency chat=150
run_then_stop docpipe-hub "$T_DIR/report" "$T_DIR/err" "$T_DIR/docs" \
	--opt summarize=--backend=openai --threads summarize=4
ok $? "the run is under way"
sleep 8
kill -CONT "$STOPPED"
wait_for 120 exited $SUP || { ok 1 "run finished"; kill -TERM $SUP; }
wait $SUP
is "$?" 0 "exit 0"
is "$(jq -r '[.added, .failed, .resent] | @tsv' "$T_DIR/report")" "$(printf '200\t0\t0')" \
	"every document stored, none failed, none re-sent"
is "$(api_stats .requests.chat)" 200 "one chat request per document"
like "$(cat "$T_DIR/err")" "the hub was held up [0-9.]+ s" "the hub says it was held up"
unlike_silent=$(grep -c "fell silent" "$T_DIR/err")
is "$unlike_silent" 0 "no replica taken for dead"
done_testing
