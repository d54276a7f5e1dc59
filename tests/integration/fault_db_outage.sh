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
wait_for 60 sql_ge 'SELECT count(*) FROM docpipe.documents' 21
db_allow false
killed=$(db_kick 'docpipe-store%')
ok $(( killed >= 1 ? 0 : 1 )) "database closed and the store's connection cut ($killed)"
sleep 12
db_allow true
wait_for 100 exited $SUP || { diag "the run is still going after 100 s: stopping it"; kill -TERM $SUP; }
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
# A document lost in the outage would wait for --timeout (120 s) and end
# the run later (it took 17-30 s; a bound of 42 s was a timed assertion).
ok $(( $(echo "$wall < 120" | bc) == 1 ? 0 : 1 )) "done ${wall}s after start, before --timeout (120 s)"

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
	wait_for 60 test -s "$T_DIR/$1.out"
}

# An idle store merges the full-text pending list: 10 ms into a pause on a
# second connection (beside), or, when it cannot have one (refused once: it
# does without from then on), after 2 s on its own (in line).  An outage
# that meets that merge is waited out as in the writes (the store exited,
# and was restarted, when its merge met the lost connection).  Its second
# connection is refused here (new connections closed while its first is
# up), so its merges are in line; one is held up by a lock on the index,
# and the outage begins while the store waits in it.  (Before, the outage
# came after the merge, beside at 10 ms, and the store had parked: it
# waited in nothing.)  The lock is taken by a session opened beforehand as
# the receipt is read from a FIFO (no poll, no process started between
# them); a document whose merge came before it (a loaded machine: 2 s) is
# followed by another.
STORE_SESSIONS="SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name = 'docpipe-store'"
# merge_held: the store's own session waits on a lock in its pending-list merge.
merge_held() { sql_ge "$STORE_SESSIONS AND wait_event_type = 'Lock' AND query LIKE '%gin_clean_pending_list%'" 1; }
# parked: the store closed its connection (1 s idle, nothing left to merge).
parked() { sql_ge "SELECT 1 - ($STORE_SESSIONS)" 1; }
sql "CREATE EXTENSION IF NOT EXISTS pgstattuple" >/dev/null
mkfifo "$T_DIR/idle" "$T_DIR/idle.out" "$T_DIR/locker"
PGAPPNAME=idle_merge psql -X -q <"$T_DIR/locker" >/dev/null 2>&1 &
exec 4>"$T_DIR/locker"
wait_for 60 sql_ge "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name = 'idle_merge'" 1
docpipe-store <"$T_DIR/idle" >"$T_DIR/idle.out" 2>"$T_DIR/idle.err" &
STORE=$!
exec 3>"$T_DIR/idle" 5<"$T_DIR/idle.out"
wait_for 60 sql_ge "$STORE_SESSIONS" 1
db_allow false
doc idle1 >&3
read -r -t 60 -u 5 _
wait_for 60 grep -q "merged by the writes" "$T_DIR/idle.err"
ok $? "its second connection refused, the store merges in line"
db_allow true
held=1 fed=1
while [ $fed -le 6 ]; do
	fed=$((fed + 1))
	doc "idle$fed" >&3
	read -r -t 60 -u 5 _
	echo "BEGIN; DROP INDEX docpipe.chunks_tsv;" >&4
	wait_for 60 eval 'merge_held || parked'
	merge_held && { held=0; break; }
	echo "ROLLBACK;" >&4
done
ok $held "the store's merge waits on the lock (document $fed)"
db_allow false
db_kick 'docpipe-store%' >/dev/null
db_kick idle_merge >/dev/null
exec 4>&-
wait_for 60 grep -q "waiting up to .* for the database" "$T_DIR/idle.err"
ok $? "the store waits for the database"
kill -0 $STORE 2>/dev/null
alive=$?
ok $alive "an idle store outlives an outage at its pending-list merge"
db_allow true
# (A write into the FIFO of a store that exited would end this script.)
[ $alive = 0 ] && fed=$((fed + 1)) && doc "idle$fed" >&3
exec 3>&-
cat <&5 >/dev/null
exec 5<&-
wait $STORE
is "$?" 0 "and stores what comes after it (exit 0)"
[ -s "$T_DIR/idle.err" ] && sed 's/^/# /' "$T_DIR/idle.err"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path LIKE '/d/idle%'")" $fed "every document stored"
is "$(sql "SELECT pending_pages FROM pgstatginindex('docpipe.chunks_tsv')")" 0 "the pending list merged"

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
