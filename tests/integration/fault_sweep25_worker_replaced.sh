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
N=40
netns_graph 2 $N 300
netns_run
ok $? "the hub listens on its ports" || done_testing
netns_worker 1 w1 summarize --backend=openai
wait_for 30 sql_ge "SELECT count(*) FROM docpipe.documents" 6
ok $? "the worker works"
netns_gone 1
said() { grep -q "fell silent for 3 s: re-sending" "$T_DIR/err"; }
wait_for 15 said
ok $? "its machine lost: the hub re-sends what was in flight"
netns_worker 2 w2 summarize --backend=openai
netns_run_ends 25 "the new worker" $N
like "$(cat "$T_DIR/err")" "summarize replica w1/[0-9]+ fell silent, not killed: .*, what it held sent again" \
	"the hub says it cut the lost replica off and sent what it held again"
netns_done
