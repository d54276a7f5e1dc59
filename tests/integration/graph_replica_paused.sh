#!/bin/bash
# The only summarize replica held up mid-run (SIGSTOP here; a paused
# container, a suspended laptop, a swap storm): the hub takes its silence
# for a death and sends every document in flight again, into the same
# replica's queue.  Woken, the replica held the original and the copy of
# each and asked the model API for both (neither was cached yet): 161 chat
# requests for 120 documents in the helper's run.  Now a copy of a version
# it holds is dropped; the original answers for it.
. "$(dirname "$0")/../lib/tap.sh"
unset OPENAI_API_KEY
numbered_docs "$T_DIR/docs" 80 300 doc
newdb || exit 1
fakeapi --latency chat=100
docpipe run "$T_DIR/docs" --progress none --opt summarize=--backend=openai --threads summarize=4 \
	>"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
wait_for 60 sql_ge "SELECT count(*) FROM docpipe.documents" 8
ok $? "the run is under way"
summ=$(pgrep -P $SUP -x docpipe-summari)
kill -STOP "$summ"
wait_for 30 grep -q "fell silent" "$T_DIR/err"
ok $? "the hub takes the stopped replica for dead and re-sends"
kill -CONT "$summ"
wait_for 120 exited $SUP || { ok 1 "run finished"; kill -TERM $SUP; }
wait $SUP
is "$?" 0 "exit 0"
is "$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report")" "$(printf '80\t0')" "every document stored, none failed"
ok "$([ "$(jq .resent "$T_DIR/report")" -gt 0 ])$?" "documents were re-sent ($(jq .resent "$T_DIR/report"))"
is "$(curl -sf "$BASE/_stats" | jq .requests.chat)" 80 "one chat request per document: the copies were not paid for"
like "$(cat "$T_DIR/err")" "came again while held .* the copies were dropped" "summarize says it dropped the copies"
done_testing
