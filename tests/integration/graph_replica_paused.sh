#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# The only summarize replica held up mid-run (SIGSTOP here; a paused
# container, a suspended laptop, a swap storm): the hub takes its silence
# for a death and sends every document in flight again, into the same
# replica's queue.  Woken, the replica held the original and the copy of
# each and asked the model API for both (neither was cached yet): 161 chat
# requests for 120 documents in the helper's run.  Now a copy of a version
# it holds is dropped; the original answers for it.  The same for embed.
. "$(dirname "$0")/../lib/tap.sh"
unset OPENAI_API_KEY
numbered_docs "$T_DIR/docs" 80 300 doc
newdb || exit 1
fakeapi --latency chat=100
# stop_then_resume ERR: once the hub has taken the stopped replica for dead
# (and re-sent), resumes it and waits for the run's end (its status in RC).
stop_then_resume() {
	wait_for 30 grep -q "fell silent" "$1"
	ok $? "the hub takes the stopped replica for dead and re-sends"
	kill -CONT "$STOPPED"
	wait_for 120 exited $SUP || { ok 1 "run finished"; kill -TERM $SUP; }
	wait $SUP
	RC=$?
}
run_then_stop docpipe-summari "$T_DIR/report" "$T_DIR/err" "$T_DIR/docs" \
	--opt summarize=--backend=openai --threads summarize=4
ok $? "the run is under way"
stop_then_resume "$T_DIR/err"
is "$RC" 0 "exit 0"
is "$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report")" "$(printf '80\t0')" "every document stored, none failed"
ok "$([ "$(jq .resent "$T_DIR/report")" -gt 0 ])$?" "documents were re-sent ($(jq .resent "$T_DIR/report"))"
is "$(api_stats .requests.chat)" 80 "one chat request per document: the copies were not paid for"
like "$(cat "$T_DIR/err")" "came again while held .* the copies were dropped" "summarize says it dropped the copies"

# The embed replica held up likewise: its copies are dropped too (with an
# empty cache, each copy's chunks were embedded again).
numbered_docs "$T_DIR/docs2" 80 300 doc
newdb || exit 1
fakeapi --latency embed=100
run_then_stop docpipe-embed "$T_DIR/report2" "$T_DIR/err2" "$T_DIR/docs2" \
	--opt embed=--backend=openai --opt embed=--batch-inputs=1 --threads embed=4
stop_then_resume "$T_DIR/err2"
is "$RC:$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report2")" "0:$(printf '80\t0')" "exit 0, every document stored"
is "$(api_stats .inputs.embed)" "$(sql "SELECT sum(chunk_count) FROM docpipe.documents")" \
	"each chunk embedded once: the copies were not paid for"
like "$(cat "$T_DIR/err2")" "came again while held .* the copies were dropped" "embed says it dropped the copies"
done_testing
