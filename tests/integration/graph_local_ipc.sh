#!/bin/bash
# The edges of a run's local replicas are socket files in the run's
# directory, not loopback TCP, by default and beside --listen tcp://...
# that remote workers connect to: on loopback a receiver that stopped
# reading (the store behind a lock) could leave its sender waiting for a
# backed-off zero-window probe after it read again, and the documents
# queued there were re-sent after --timeout (docs/graph.md, "Edge
# endpoints"; fault_db_blocked, 2 runs of ~70).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
# The run directory: short here (the test's own is too long for a socket
# file; the fallback to TCP is the last case).
RUNS=$(mktemp -d /tmp/dpl.XXXXXX)
at_exit 'rm -rf "$RUNS"'
numbered_docs "$T_DIR/docs" 6 5 doc
endpoints() { cat "$RUNS"/docpipe-run.*/endpoints 2>/dev/null; }
all_endpoints() { [ "$(endpoints | wc -l)" = 9 ]; }
stored() { [ "$(sql "SELECT count(*) FROM docpipe.documents" 2>/dev/null)" -ge "$1" ] 2>/dev/null; }
# stop PID: once the first pass is complete (its sweep done: a signal
# during the sweep ends the run interrupted, status 5, as it should), stops
# the run.
stop() {
	wait_for 30 grep -q "first pass complete" "$T_DIR/err"
	kill -TERM "$1"; wait_for 30 exited "$1"; wait "$1"
}

TMPDIR=$RUNS docpipe run "$T_DIR/docs" --watch --progress none >/dev/null 2>"$T_DIR/err" &
SUP=$!
wait_for 60 stored 6
ok $? "a run without --listen stores the corpus"
wait_for 30 all_endpoints
is "$(endpoints | grep -cv '^DP_[A-Z_]*=ipc://.*/docpipe-run\.[^/]*/[A-Z_]*$')" 0 \
	"its edges are socket files in the run's directory ($(endpoints | head -1))"
stop $SUP
is "$?" 0 "it stops cleanly"

PORT=$(free_ports 9) || { skip "no free ports"; done_testing; }
numbered_docs "$T_DIR/docs" 12 5 more
TMPDIR=$RUNS docpipe run "$T_DIR/docs" --watch --listen "tcp://127.0.0.1:$PORT" --replicas store=0 \
	--progress none >/dev/null 2>"$T_DIR/err" &
SUP=$!
docpipe worker store --connect "127.0.0.1:$PORT" 2>"$T_DIR/worker.err" &
WORKER=$!
wait_for 60 stored 18
ok $? "with --listen tcp://, a store worker on TCP stores what the local replicas made"
wait_for 30 all_endpoints
is "$(endpoints | grep -cv '=ipc://')" 0 "the local replicas' edges are socket files"
is "$(docpipe-hub --layout --listen "tcp://127.0.0.1:$PORT" | grep -c ' tcp://127\.0\.0\.1:')" 5 \
	"the workers' layout is TCP"
stop $SUP
is "$?" 0 "it stops cleanly"
stop $WORKER

# A run directory whose path is too long for a socket file: loopback TCP.
RUNS=$T_DIR/a-directory-whose-path-is-long-enough/that-a-socket-file-name-in-it/would-not-fit
mkdir -p "$RUNS"
numbered_docs "$T_DIR/docs" 15 5 last
TMPDIR=$RUNS docpipe run "$T_DIR/docs" --watch --progress none >/dev/null 2>"$T_DIR/err" &
SUP=$!
wait_for 60 stored 33
ok $? "a run in a long directory stores the corpus"
wait_for 30 all_endpoints
is "$(endpoints | grep -cv '=tcp://127\.0\.0\.1:[0-9]*$')" 0 "its edges are loopback TCP"
stop $SUP
is "$?" 0 "it stops cleanly"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err" "$T_DIR/worker.err" | tail -30
done_testing
