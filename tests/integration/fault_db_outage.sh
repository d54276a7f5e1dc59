#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# The database goes away for 12 s in the middle of a graph run: the store
# holds its batch and waits (--db-retry) instead of exiting, so nothing is
# restarted and no document waits for the hub's --timeout; the run ends
# soon after the database is back.  12 s also pauses the store's reader
# (its input queue full) longer than the ZeroMQ heartbeat timeout the
# stages used to set (10 s), which made libzmq 4.3.4 abort.  Then a store
# refused for good (NOLOGIN) gives up at once, and one that meets a
# read-only database stops early with one error (exit 4) instead of failing
# every document one by one.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
newdb || exit 1
DB=$PGDATABASE
at_exit 'db_allow true'

N=400
numbered_docs "$T_DIR/docs" $N 200 doc
# A slow embed stage keeps the run going for a few seconds.
BURN='--jq=(reduce range(20000) as $i (0; . + 1)) as $burn | .'
start=$(date +%s.%N)
docpipe run "$T_DIR/docs" --progress none --timeout 120 --opt "embed=$BURN" \
	>"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
for _ in $(seq 200); do
	[ "$(sql 'SELECT count(*) FROM docpipe.documents' 2>/dev/null || echo 0)" -gt 20 ] && break
	sleep 0.05
done
db_allow false
killed=$(db_kick 'docpipe-store%')
ok $(( killed >= 1 ? 0 : 1 )) "database closed and the store's connection cut ($killed)"
sleep 12
db_allow true
for _ in $(seq 600); do kill -0 $SUP 2>/dev/null || break; sleep 0.1; done
kill -0 $SUP 2>/dev/null && { diag "the run is still going after 60 s: stopping it"; kill -TERM $SUP; }
wait $SUP
rc=$?
wall=$(echo "$(date +%s.%N) - $start" | bc)
is "$rc" 0 "the run completes (exit 0)"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/err"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" $N "every document stored"
is "$(sql 'SELECT count(*) FROM (SELECT document_id, seq FROM docpipe.chunks GROUP BY 1, 2 HAVING count(*) > 1) d')" 0 \
	"no duplicate chunk rows"
like "$(cat "$T_DIR/err")" "waiting up to 300 s for the database" "the store says it waits"
like "$(cat "$T_DIR/err")" "the database is back after" "and when the database is back"
is "$(grep -c 'restarting it' "$T_DIR/err")" 0 "no replica restarted (the wait is no crash)"
grep -B5 'restarting it' "$T_DIR/err" | sed 's/^/# /'
is "$(grep -c 'Assertion' "$T_DIR/err")" 0 "no libzmq assertion"
ok $(( $(echo "$wall < 12 + 30" | bc) == 1 ? 0 : 1 )) "done ${wall}s after start, not after --timeout"

doc() { printf '{"v":1,"kind":"document","path":"/d/%s.md","root":"/d","hash":"%s","chunker":"t","chunks":[{"seq":0,"text":"x"}]}\n' "$1" "$1"; }
# fifo_store NAME DOC: a store reading the FIFO $T_DIR/NAME (fd 3 writes
# to it; pid in STORE, receipts in NAME.out, stderr in NAME.err), fed DOC
# and waited for until its receipt.
fifo_store() {
	mkfifo "$T_DIR/$1"
	docpipe-store <"$T_DIR/$1" >"$T_DIR/$1.out" 2>"$T_DIR/$1.err" &
	STORE=$!
	exec 3>"$T_DIR/$1"
	doc "$2" >&3
	for _ in $(seq 200); do [ -s "$T_DIR/$1.out" ] && break; sleep 0.05; done
}

# An idle store merges the full-text pending list (after 10 ms, beside, and
# after 2 s in line when it has no second connection): an outage then is
# waited out as in the writes (it exited, and was restarted, when the merge
# met the lost connection).
fifo_store idle idle1
db_allow false
db_kick 'docpipe-store%' >/dev/null
sleep 3
kill -0 $STORE 2>/dev/null
ok $? "an idle store outlives an outage at its pending-list merge"
db_allow true
doc idle2 >&3
exec 3>&-
wait $STORE
is "$?" 0 "and stores what comes after it (exit 0)"
[ -s "$T_DIR/idle.err" ] && sed 's/^/# /' "$T_DIR/idle.err"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path LIKE '/d/idle%'")" 2 "both documents stored"

# Refused for good: the store gives up at once (with --db-retry 0 too).
DATABASE_URL="postgresql:///$DB?host=$PGHOST&port=$PGPORT&user=nobody_$$" \
	timeout 20 docpipe-store < <(doc a) >/dev/null 2>"$T_DIR/e2"
is "$?" 2 "authentication refused: exit 2 (a configuration error, not restarted) without waiting"
is "$(grep -c 'waiting up to' "$T_DIR/e2")" 0 "no wait for a refusal"

# Made read-only mid-run: after the reconnection, three documents in a row
# fail with SQLSTATE 25006; the store stops with exit 4 and one message,
# not one failure per document.
fifo_store ro ro0
is "$(jq -r .status "$T_DIR/ro.out")" stored "first document stored"
psql -X -q -d postgres -c "ALTER DATABASE $DB SET default_transaction_read_only = on"
db_kick 'docpipe-store%' >/dev/null
for i in $(seq 1 50); do doc "ro$i"; done >&3
exec 3>&-
for _ in $(seq 300); do kill -0 $STORE 2>/dev/null || break; sleep 0.1; done
wait $STORE
is "$?" 4 "read-only database: exit 4"
like "$(cat "$T_DIR/ro.err")" "SQLSTATE 25006\).*refuses every write" "one clear error"
ok $(( $(grep -c . "$T_DIR/ro.out") < 5 ? 0 : 1 )) "not 50 failures one by one ($(grep -c . "$T_DIR/ro.out") receipts)"
psql -X -q -d postgres -c "ALTER DATABASE $DB RESET default_transaction_read_only"
done_testing
