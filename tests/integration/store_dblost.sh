#!/bin/bash
# The store loses its database for good while its ZeroMQ input is idle:
# it exits 3 at once, its reader thread woken (dp_source_interrupt), not
# cancelled inside libzmq.  Also with stdin input.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
cd "$T_DIR"

# A role of its own, so that it can be refused new connections (NOLOGIN)
# while its sessions are terminated: the store's one reconnection fails.
ROLE="t_dblost_$$_$RANDOM"
sql "CREATE ROLE $ROLE LOGIN; ALTER DATABASE $PGDATABASE OWNER TO $ROLE" >/dev/null
at_exit 'psql -X -q -c "DROP DATABASE IF EXISTS $PGDATABASE" -d postgres >/dev/null 2>&1
	psql -X -q -c "DROP ROLE IF EXISTS $ROLE" -d postgres >/dev/null 2>&1'
export DATABASE_URL="postgresql:///$PGDATABASE?host=$PGHOST&port=$PGPORT&user=$ROLE"
lose_database() {
	sql "ALTER ROLE $ROLE NOLOGIN; SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '$ROLE'" >/dev/null
}
doc() { printf '{"v":1,"kind":"document","path":"/d/%s.md","root":"/d","hash":"%s","chunker":"t","chunks":[{"seq":0,"text":"x"}]}' "$1" "$1"; }

# PUSH records from a script; the store binds its PULL socket.
cat >push.py <<'PY'
import sys, time, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.connect(sys.argv[1])
for line in sys.stdin:
    s.send(line.rstrip("\n").encode())
    time.sleep(float(sys.argv[2]))
s.close(linger=20000)
ctx.term()  # waits (up to the linger) until the messages are delivered
PY
docpipe-store --in "@ipc://$T_DIR/in" >receipts.ndjson 2>err &
STORE=$!
wait_for 30 test -S "$T_DIR/in"
doc a | python3 push.py "ipc://$T_DIR/in" 0
wait_for 20 test -s receipts.ndjson
is "$(jq -r .status receipts.ndjson)" stored "first document stored over ZeroMQ"
lose_database
doc b | python3 push.py "ipc://$T_DIR/in" 0
# Exits at all: a reader stuck in libzmq waits for input for ever (a
# "< 4 s" bound here could fail under load; 60 s is generous).
wait_for 60 exited $STORE
ok $? "exits with an idle ZeroMQ input"
kill $STORE 2>/dev/null
wait $STORE; rc=$?
is "$rc" 3 "database gone for good: exit 3"
like "$(cat err)" "could not reconnect" "says why"
is "$(wc -l <receipts.ndjson)" 1 "no receipt for the unwritten document"

# stdin that stays open: the reader is blocked in read().
sql "ALTER ROLE $ROLE LOGIN" >/dev/null
mkfifo fifo
docpipe-store <fifo >receipts2.ndjson 2>err2 &
STORE=$!
exec 3>fifo
doc c >&3; echo >&3
wait_for 20 test -s receipts2.ndjson
is "$(jq -r .status receipts2.ndjson)" stored "stdin: first document stored"
lose_database
doc d >&3; echo >&3
wait_for 30 exited $STORE
kill -0 $STORE 2>/dev/null; ok $(( $? == 0 ? 1 : 0 )) "stdin still open: the store exits anyway"
wait $STORE; is "$?" 3 "stdin: exit 3"
exec 3>&-
done_testing
