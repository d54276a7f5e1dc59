#!/bin/bash
# A stage reading a ZeroMQ socket and writing stdout with two threads: a
# record one thread finishes while the other waits for the next message
# is written out at once, not kept in stdout's buffer until more input
# comes (the reader waits in zmq_poll with no timeout: nothing else would
# flush it).
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
numbered_docs docs 4 5 d
docpipe-discover docs >files.ndjson
ok $? "discover four files"
cat >push.py <<'PY'
import sys, zmq
ctx = zmq.Context(); s = ctx.socket(zmq.PUSH); s.connect(sys.argv[1])
for line in sys.stdin:
    s.send(line.rstrip("\n").encode())
s.close(linger=20000); ctx.term()
PY
# Each record takes a while (a CPU-burning --jq): the last one is written
# while the other thread already waits.
BURN='--jq=(reduce range(100000) as $i (0; . + 1)) as $burn | .'
docpipe-chunk --threads 2 "$BURN" --in "@ipc://$T_DIR/in" >out.ndjson 2>err &
STAGE=$!
at_exit 'kill $STAGE 2>/dev/null'
python3 push.py "ipc://$T_DIR/in" <files.ndjson
ok $? "the four records sent"
written() { [ "$(jq -r 'select(.kind == "document") | .path' out.ndjson | wc -l)" -eq 4 ]; }
wait_for 30 written
ok $? "all four documents are on stdout while the stage waits for more ($(wc -l <out.ndjson) lines)"
kill -0 $STAGE
ok $? "the stage still runs (its input never ends)"
kill -TERM $STAGE
wait $STAGE
is "$?" 5 "SIGTERM: exit 5 (interrupted)"
done_testing
