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
N=90
netns_graph 2 $N 400
METRICS_PORT=$(free_ports 1) || { ok 1 "a free port"; done_testing; }
netns_run --window 8 --metrics "127.0.0.1:$METRICS_PORT"
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
netns_gone 1
wait_for 10 cut 2
ok $? "lost for good, its replica is cut off again (said twice)"
netns_run_ends 25 "its second cut-off" $N
netns_done
