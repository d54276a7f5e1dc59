#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# One replica held up for good (SIGSTOP here; a frozen container, a worker
# whose machine hangs with its connections up) beside another of its
# stage.  The hub takes its silence for a death and re-sends what was in
# flight, but its PUSH edge spread the copies over both replicas' queues:
# some queued behind the frozen one again, waited for --timeout (300 s),
# and after --attempts failed "no receipt" while the other replica idled.
# Now docpipe run's hub kills it first (--kill-silent), re-sends once it is
# gone, and the supervisor starts it again.  A stage's only replica held up
# for good stalled the run for --timeout x --attempts (20 minutes by
# default), then failed what it held: it is killed after 30 s of silence
# (HUB_EVICT_LONE_S; 5 s here, DOCPIPE_HUB_TEST_EVICT_LONE_S: the case is
# the kill after the lone silence, not its length).
. "$(dirname "$0")/../lib/tap.sh"
unset OPENAI_API_KEY
# DOCS documents a run: enough that a replica stopped holds some and the
# rest are still to come (120 took ~10 s a run after the stop, 300 ms an
# answer, a replica's 4 threads).
DOCS=40
# frozen_for_good PROCESS NAME RUN-ARGS...: a run over DOCS documents in
# which one replica of PROCESS is stopped and never resumed.
frozen_for_good() {
	local process=$1 name=$2
	shift 2
	numbered_docs "$T_DIR/$name" $DOCS 300 doc
	newdb || exit 1
	run_then_stop "$process" "$T_DIR/$name.report" "$T_DIR/$name.err" "$T_DIR/$name" \
		--opt summarize=--backend=openai --threads summarize=4 "$@"
	ok $? "$name: the run is under way, one replica stopped"
	wait_for 90 exited $SUP || { ok 1 "$name: the run ends in 90 s (not after --timeout)"; kill -TERM $SUP; }
	wait $SUP
	# added + unchanged: a store replica stopped after its commit and
	# before its receipt left has the copy sent again found unchanged.
	is "$?:$(jq -r '[.added + .unchanged, .failed] | @tsv' "$T_DIR/$name.report")" "0:$(printf '%s\t0' $DOCS)" \
		"$name: exit 0, every document stored, none failed"
	like "$(cat "$T_DIR/$name.err")" "${name%-*} replica .* silent .* killed it" "$name: the hub killed the stopped replica"
	exited "$STOPPED"
	ok $? "$name: it is gone"
	is "$(sql "SELECT count(*) FROM docpipe.documents d WHERE chunk_count <>
		(SELECT count(*) FROM docpipe.chunks c WHERE c.document_id = d.id)")" 0 "$name: no document half-written"
}
fakeapi --latency chat=300
frozen_for_good docpipe-summari summarize --replicas summarize=2
frozen_for_good docpipe-store store --replicas store=2
# The lone replica's silence shortened to 5 s (30 s in use: 33 s of
# waiting); once, in the release pass.
[ "${DOCPIPE_VARIANT:-release}" = release ] &&
	DOCPIPE_HUB_TEST_EVICT_LONE_S=5 frozen_for_good docpipe-summari summarize-lone

# A stage's only replica, taken for dead on its silence (its copies went
# into its own queue), dies before the hub's 30 s are up: the hub sees its
# pid gone and re-sends at once, and kills nothing (before, it waited out
# the 30 s, then tried to kill the pid, maybe another process's by then,
# while the copies lost with the queue waited for --timeout).
numbered_docs "$T_DIR/dies" $DOCS 300 doc
newdb || exit 1
run_then_stop docpipe-summari "$T_DIR/dies.report" "$T_DIR/dies.err" "$T_DIR/dies" \
	--opt summarize=--backend=openai --threads summarize=4 --replicas summarize=1
ok $? "lone-dies: the run is under way, its only summarize replica stopped"
wait_for 30 grep -q "fell silent for 3 s: re-sending" "$T_DIR/dies.err"
ok $? "lone-dies: the hub took its silence for a death"
kill -9 "$STOPPED"
wait_for 20 exited $SUP || { ok 1 "lone-dies: the run ends within 20 s of the death"; kill -TERM $SUP; }
wait $SUP
is "$?:$(jq -r '[.added, .failed] | @tsv' "$T_DIR/dies.report")" "0:$(printf '%s\t0' $DOCS)" \
	"lone-dies: exit 0, every document stored, none failed"
is "$(grep -c "re-sending the" "$T_DIR/dies.err")" 2 "lone-dies: what was in flight is re-sent at its silence and again at its death"
! grep -qE "summarize replica .*(killed it|not killed)" "$T_DIR/dies.err"
ok $? "lone-dies: the hub tried to kill nothing"
done_testing
