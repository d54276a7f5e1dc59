#!/bin/bash
# lane: beside (tests/run: it waits out a 16 s network partition)
# A stage on another machine (a worker's replica) that connects while the
# network to the hub is partitioned: its connection attempt's SYNs vanish.
# libzmq waited for the kernel to give up on an attempt (tcp_syn_retries
# 6: the SYN sent again 1, 3, 7, 15, 31 and 63 s after the first), so
# after a 16 s partition the stage got through 15 s after it healed
# (after 90 s, up to a minute), its machine idle meanwhile.  Now an
# attempt gives up after 3 s (zmqsock.h DP_ZMQ_CONNECT_TIMEOUT_MS) and
# is made again: through within a few seconds of the heal.  Linux 6.5
# and later send the first 4 SYNs again after 1 s each
# (tcp_syn_linear_timeouts), which hides most of it: the machine here
# runs as a kernel before that does (Debian 12's 6.1, RHEL's).  Needs
# root (tests/lib/netns.sh).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
netns_check
netns_machine 1 || { skip "no veth pair between network namespaces here"; done_testing; }
ip netns exec "${NETNS_NS[1]}" sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0 2>/dev/null
numbered_docs "$T_DIR/docs" 3 8 doc
PORT=$(free_ports 1) || { ok 1 "a free port"; done_testing; }
EP=tcp://${HUB_ADDR[1]}:$PORT
# The hub's side binds (discover's output, as the hub's edge would).
docpipe-discover "$T_DIR/docs" --out "@$EP" --insecure 2>"$T_DIR/discover.err" &
BINDER=$!
wait_for 30 eval 'ss -Htln "sport = :$PORT" | grep -q .'
ok $? "the hub's side listens"
netns_partition 1
( export "$(tag_env w1)"; netns_exec 1 w1 docpipe-chunk --in "$EP" --insecure >"$T_DIR/out" 2>"$T_DIR/chunk.err" ) &
syn_sent() { ip netns exec "${NETNS_NS[1]}" ss -Htn state syn-sent "dport = :$PORT" | grep -q .; }
wait_for 30 syn_sent
ok $? "the stage tries to connect through the partition"
sleep 16 # the partition
netns_heal 1
healed=${EPOCHREALTIME/./}
records() { [ "$(grep -c '"kind":"document"' "$T_DIR/out")" -ge 3 ]; }
wait_for 40 records
took=$(((${EPOCHREALTIME/./} - healed) / 1000))
diag "the stage had its records $took ms after the partition healed"
ok $((took < 8000 ? 0 : 1)) "it connects within 8 s of the heal (not at the kernel's next SYN, 15 s later)"
for p in $(tagged w1); do kill "$p" 2>/dev/null; done
kill "$BINDER" 2>/dev/null
wait
done_testing
