#!/bin/bash
# lane: beside (tests/run: it waits for the hub's 3 s of silence)
# Two `docpipe worker summarize` on two machines with the same host name
# (two containers started with --hostname worker, two hosts cloned from
# one image), each in a pid namespace of its own, so each one's first
# replica has the same pid as well.  The hub knew a replica by host/pid:
# both were one entry, which each kept alive, so when one machine was lost
# the hub never saw it fall silent; what it held waited --timeout (the
# run stalled at 43 of 80 documents for the 120 s watched, fault sweep
# 25).  Now the pid space (boot id, pid namespace) tells them apart, the
# second shown as "worker/N#2".  Needs root (network, pid and UTS
# namespaces: tests/lib/netns.sh).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
netns_check
unset OPENAI_API_KEY
newdb || exit 1
N=50
numbered_docs "$T_DIR/docs" $N 300 doc
netns_keys || { ok 1 "docpipe keygen"; done_testing; }
for i in 1 2; do
	netns_machine $i || { skip "no veth pair between network namespaces here"; done_testing; }
	netns_api $i --latency chat=400 || { ok 1 "a test server on machine $i"; done_testing; }
done
start_run() {
	docpipe run "$T_DIR/docs" --listen "0.0.0.0:$PORT" --curve-secret "$NETNS_KEYS/hub.key" \
		--allow "$NETNS_KEYS/allowed" --replicas summarize=0 --opt summarize=--backend=openai \
		--window 8 --timeout 60 --progress none >"$T_DIR/report" 2>"$T_DIR/err" &
	SUP=$!
}
listen_run 9 start_run
ok $? "the hub listens on its ports" || done_testing
netns_worker 1 worker summarize --backend=openai
netns_worker 2 worker summarize --backend=openai
# Each machine's replica: its pid there (NSpid's last field).
nspids() { local i p; for i in 1 2; do for p in $(tagged w$i); do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = docpipe-summari ] && awk '/^NSpid:/ {print $NF}' "/proc/$p/status"
done; done; }
both_working() { [ "$(nspids | wc -l)" = 2 ] && [ "$(netns_api_requests 1 chat)" -ge 2 ] && [ "$(netns_api_requests 2 chat)" -ge 2 ]; }
wait_for 30 both_working
ok $? "both workers' replicas work" ||
	diag "requests: $(netns_api_requests 1 chat) and $(netns_api_requests 2 chat); $(nspids | wc -l) replicas; stored $(sql 'SELECT count(*) FROM docpipe.documents')"
diag "the replicas' pids on their machines: $(nspids | tr '\n' ' ')(the same: one host/pid)"
lost=${EPOCHREALTIME/./}
netns_gone 1
wait_for 25 exited $SUP || { kill -TERM $SUP; diag "the run did not end within 25 s of the loss"; }
wait $SUP
rc=$?
diag "the run ended $(((${EPOCHREALTIME/./} - lost) / 1000)) ms after the loss"
is "$rc:$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report" 2>/dev/null)" "0:$(printf '%s\t0' $N)" \
	"exit 0 within 25 s of the loss (not after --timeout 60), every document stored, none failed"
like "$(cat "$T_DIR/err")" "summarize replica worker/[0-9]+(#2)? fell silent, not killed" \
	"the hub says the lost worker's replica fell silent, by its name"
is "$(sql "SELECT count(*) - count(DISTINCT path) FROM docpipe.documents") $(sql "SELECT count(*) FROM docpipe.documents d
	WHERE chunk_count <> (SELECT count(*) FROM docpipe.chunks c WHERE c.document_id = d.id)")" "0 0" \
	"no document twice, none half-written"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err"
kill -TERM $(tagged w2) 2>/dev/null
done_testing
