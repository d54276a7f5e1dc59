#!/bin/bash
# lane: beside
# tests/lib/tap.sh's EXIT trap (t_exit: the at_exit commands, the servers
# killed, T_DIR removed) runs in the test's own shell only.  A child bash
# forked for `cmd &` holds the trap until its exec: a test that sent
# SIGTERM to what it had just started (fault_supervisor_spawn's loop) had
# T_DIR removed under it when the signal came in that moment.
. "$(dirname "$0")/../lib/tap.sh"
unsanitized_only "no docpipe binary: the harness alone"
touch "$T_DIR/alive"
for _ in $(seq 1 200); do
	sleep 5 &
	kill -TERM $!
	wait $! 2>/dev/null
done
[ -e "$T_DIR/alive" ]
ok $? "200 background commands killed as they start: the test's directory is still there"
done_testing
