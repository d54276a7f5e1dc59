#!/bin/bash
# lane: beside (tests/run: it waits for the hub's 3 s of silence)
# The only `docpipe worker summarize` of a run is lost with its machine
# (a network partition that never heals), and a worker on another machine
# is started in its place.  At the lost replica's silence the hub re-sent
# what was in flight into the stage's only connection: the lost one's,
# which it cannot close by killing (another machine's process).  It tried
# a silent replica only at its silence's tick, when another was live, or
# after 30 s alone; the new worker came between, so the lost replica was
# never tried and the copies queued on its connection waited --timeout
# (the run stood still until the 300 s re-send, fault sweep 25).  Now a
# silent replica is tried as soon as another of its stage is live: its
# connection closed, what it held sent again.  Needs root
# (tests/lib/netns.sh).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
netns_check
unset OPENAI_API_KEY
newdb || exit 1
N=40
numbered_docs "$T_DIR/docs" $N 300 doc
netns_keys || { ok 1 "docpipe keygen"; done_testing; }
for i in 1 2; do
	netns_machine $i || { skip "no veth pair between network namespaces here"; done_testing; }
	netns_api $i --latency chat=300 || { ok 1 "a test server on machine $i"; done_testing; }
done
start_run() {
	docpipe run "$T_DIR/docs" --listen "0.0.0.0:$PORT" --curve-secret "$NETNS_KEYS/hub.key" \
		--allow "$NETNS_KEYS/allowed" --replicas summarize=0 --opt summarize=--backend=openai \
		--timeout 60 --progress none >"$T_DIR/report" 2>"$T_DIR/err" &
	SUP=$!
}
listen_run 9 start_run
ok $? "the hub listens on its ports" || done_testing
netns_worker 1 w1 summarize --backend=openai
wait_for 30 sql_ge "SELECT count(*) FROM docpipe.documents" 6
ok $? "the worker works"
netns_gone 1
said() { grep -q "fell silent for 3 s: re-sending" "$T_DIR/err"; }
wait_for 15 said
ok $? "its machine lost: the hub re-sends what was in flight"
netns_worker 2 w2 summarize --backend=openai
joined=${EPOCHREALTIME/./}
wait_for 25 exited $SUP || { kill -TERM $SUP; diag "the run did not end within 25 s of the new worker"; }
wait $SUP
rc=$?
diag "the run ended $(((${EPOCHREALTIME/./} - joined) / 1000)) ms after the new worker started"
is "$rc:$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report" 2>/dev/null)" "0:$(printf '%s\t0' $N)" \
	"exit 0 within 25 s of the new worker (not after --timeout 60), every document stored, none failed"
like "$(cat "$T_DIR/err")" "summarize replica w1/[0-9]+ fell silent, not killed: .*, what it held sent again" \
	"the hub says it cut the lost replica off and sent what it held again"
is "$(sql "SELECT count(*) - count(DISTINCT path) FROM docpipe.documents") $(sql "SELECT count(*) FROM docpipe.documents d
	WHERE chunk_count <> (SELECT count(*) FROM docpipe.chunks c WHERE c.document_id = d.id)")" "0 0" \
	"no document twice, none half-written"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err"
kill -TERM $(tagged w2) 2>/dev/null
done_testing
