#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# kill -9 of docpipe-discover during a re-run of stored documents: the hub
# must not take the cut input for a finished walk.  No end record: the run
# is interrupted (exit 5), nothing is swept, and the next run completes.
# Also a shell pipeline: docpipe-store --sweep --require-end refuses the
# output of a cut walk and accepts a finished one.
. "$(dirname "$0")/../lib/tap.sh"
release_only "the hub's wait for a killed discover (32 s under ASan; the supervisor's restart paths run under ASan in fault_supervisor)"
set -o pipefail
newdb || exit 1

N=2500
numbered_docs "$T_DIR/docs" $N 3 doc
docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
is "$?" 0 "first run stores everything"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" $N "$N documents stored"

# A small window keeps discover blocked on its output (the FIFO's buffer
# holds a few hundred records), so the kill lands mid-walk.
docpipe run "$T_DIR/docs" --window 2 --progress none >"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
disc=""
for _ in $(seq 100); do disc=$(pgrep -P $SUP -f 'docpipe-discover ' | head -1); [ -n "$disc" ] && break; sleep 0.05; done
sleep 0.5
kill -9 "$disc"
ok $? "kill -9 discover (pid $disc) mid-walk"
for _ in $(seq 600); do kill -0 $SUP 2>/dev/null || break; sleep 0.1; done
wait $SUP
is "$?" 5 "the run is interrupted (exit 5)"
like "$(cat "$T_DIR/err")" "sweep skipped: discovery did not finish" "says why it did not sweep"
is "$(jq -r '[.complete, .deleted, .sweep] | @tsv' "$T_DIR/report")" "$(printf 'false\t0\tskipped')" \
	"report: not complete, nothing deleted"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" $N "0 documents deleted whose files exist"
docs=$(jq -r .documents "$T_DIR/report")
ok $(( docs < N ? 0 : 1 )) "the cut walk delivered $docs of $N documents"

rm "$T_DIR/docs/doc1.md"
docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
is "$?" 0 "the next run completes"
is "$(jq -r '[.unchanged, .deleted, .sweep] | @tsv' "$T_DIR/report")" "$(printf '%d\t1\tdone' $((N - 1)))" \
	"every document unchanged, the removed file swept"

# A pipeline: the store's output ends with discover's end record, with
# what arrived; --require-end checks it before sweeping.
P=$T_DIR/pipe; numbered_docs "$P" 20 3 p
RUN=pipe-1
docpipe-discover --end-record --skip-records "$P" | docpipe-chunk --jq ".run = \"$RUN\"" |
	docpipe-embed | docpipe-store -q >"$T_DIR/r.ndjson"
is "$?" 0 "pipeline stores"
is "$(tail -1 "$T_DIR/r.ndjson" | jq -c '[.kind, .records, .received, .complete]')" '["end",20,20,true]' \
	"the store's output ends with the end record and what arrived"
rm "$P/p1.md"
RUN=pipe-2
docpipe-discover --end-record "$P" | head -c 2000 | docpipe-chunk --jq ".run = \"$RUN\"" |
	docpipe-store -q >"$T_DIR/cut.ndjson" 2>/dev/null
docpipe-store --sweep "$RUN" --require-end "$T_DIR/cut.ndjson" "$P" >"$T_DIR/sw" 2>"$T_DIR/swerr"
is "$?" 5 "--require-end refuses a cut walk (exit 5)"
like "$(cat "$T_DIR/swerr")" "sweep refused: discovery did not finish" "says why"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE root = '$P'")" 20 "nothing swept"
# Records not stamped with the run: the store marked no document with it,
# so the sweep would delete them all (the man page's own example did not
# stamp them; helper's fault sweep 5).  Refused, and so is another run's.
docpipe-discover --end-record "$P" | docpipe-chunk | docpipe-store -q >"$T_DIR/nostamp.ndjson"
docpipe-store --sweep "$RUN" --require-end "$T_DIR/nostamp.ndjson" "$P" >"$T_DIR/sw" 2>"$T_DIR/swerr"
is "$?" 5 "--require-end refuses records that carry no run (exit 5)"
like "$(cat "$T_DIR/swerr")" "carry no run, so no document is marked with run \"pipe-2\"" "says why"
docpipe-store --sweep other-run --require-end "$T_DIR/r.ndjson" "$P" >"$T_DIR/sw" 2>"$T_DIR/swerr"
is "$?:$(sql "SELECT count(*) FROM docpipe.documents WHERE root = '$P'")" 5:20 "and another run's receipts; nothing swept"
docpipe-discover --end-record "$P" | docpipe-chunk --jq ".run = \"$RUN\"" | docpipe-store -q >"$T_DIR/full.ndjson"
docpipe-store --sweep "$RUN" --require-end "$T_DIR/full.ndjson" "$P" >"$T_DIR/sw" 2>/dev/null
is "$?" 0 "--require-end accepts a finished walk"
is "$(jq -r .path "$T_DIR/sw" | sed 's|.*/||')" "p1.md" "and the sweep removes only the deleted file"
done_testing
