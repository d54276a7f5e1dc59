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
N=50
netns_graph 2 $N 400
netns_run --window 8
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
netns_gone 1
netns_run_ends 25 "the loss" $N
like "$(cat "$T_DIR/err")" "summarize replica worker/[0-9]+(#2)? fell silent, not killed" \
	"the hub says the lost worker's replica fell silent, by its name"
netns_done
