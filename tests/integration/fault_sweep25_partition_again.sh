#!/bin/bash
# lane: beside (tests/run: it waits for the hub's 3 s of silence)
# A network partition between the hub and one of two `docpipe worker
# summarize` machines, healed, then the same machine lost for good.  The
# first silence: the hub re-sends and closes the lost replica's connection
# to its input (it cannot kill a process of another machine).  The
# partition heals, the worker connects again and works.  The hub had
# marked that replica tried for good, so its second silence went unseen:
# no connection closed, the copies re-sent behind it waited --timeout
# (fault sweep 25).  Now each silence of a replica the hub cannot kill is
# cut off.  Needs root (tests/lib/netns.sh).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
netns_check
unset OPENAI_API_KEY
newdb || exit 1
N=90
numbered_docs "$T_DIR/docs" $N 300 doc
netns_keys || { ok 1 "docpipe keygen"; done_testing; }
for i in 1 2; do
	netns_machine $i || { skip "no veth pair between network namespaces here"; done_testing; }
	netns_api $i --latency chat=400 || { ok 1 "a test server on machine $i"; done_testing; }
done
METRICS_PORT=$(free_ports 1) || { ok 1 "a free port"; done_testing; }
start_run() {
	docpipe run "$T_DIR/docs" --listen "0.0.0.0:$PORT" --metrics "127.0.0.1:$METRICS_PORT" --curve-secret "$NETNS_KEYS/hub.key" \
		--allow "$NETNS_KEYS/allowed" --replicas summarize=0 --opt summarize=--backend=openai \
		--window 8 --timeout 60 --progress none >"$T_DIR/report" 2>"$T_DIR/err" &
	SUP=$!
}
listen_run 9 start_run
ok $? "the hub listens on its ports" || done_testing
netns_worker 1 w1 summarize --backend=openai
netns_worker 2 w2 summarize --backend=openai
working() { [ "$(netns_api_requests 1 chat)" -ge "$1" ] && [ "$(netns_api_requests 2 chat)" -ge 3 ]; }
wait_for 30 working 3
ok $? "both workers work" ||
	diag "requests: $(netns_api_requests 1 chat) and $(netns_api_requests 2 chat); stored $(sql 'SELECT count(*) FROM docpipe.documents')"
cut() { [ "$(grep -c "summarize replica w1/[0-9]* fell silent, not killed" "$T_DIR/err")" -ge "$1" ]; }
netns_partition 1
wait_for 15 cut 1
ok $? "partitioned, machine 1's replica is cut off (said once)"
netns_heal 1
before=$(netns_api_requests 1 chat)
# Back for the hub too: its stats heard again (their connection's
# retransmission timer doubled through the partition).
heard() { curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
	grep -Eq '^docpipe_replica_up\{stage="summarize",replica="w1/[0-9]+"\} 1'; }
wait_for 20 eval 'working $((before + 2)) && heard'
ok $? "healed, machine 1 works again and the hub hears it"
lost=${EPOCHREALTIME/./}
netns_gone 1
wait_for 10 cut 2
ok $? "lost for good, its replica is cut off again (said twice)"
wait_for 25 exited $SUP || { kill -TERM $SUP; diag "the run did not end within 25 s of the loss"; }
wait $SUP
rc=$?
diag "the run ended $(((${EPOCHREALTIME/./} - lost) / 1000)) ms after the loss"
is "$rc:$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report" 2>/dev/null)" "0:$(printf '%s\t0' $N)" \
	"exit 0 within 25 s of the loss (not after --timeout 60), every document stored, none failed"
is "$(sql "SELECT count(*) - count(DISTINCT path) FROM docpipe.documents") $(sql "SELECT count(*) FROM docpipe.documents d
	WHERE chunk_count <> (SELECT count(*) FROM docpipe.chunks c WHERE c.document_id = d.id)")" "0 0" \
	"no document twice, none half-written"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err"
kill -TERM $(tagged w2) 2>/dev/null
done_testing
