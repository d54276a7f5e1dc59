#!/bin/bash
# kill -9 of a chunk, summarize, embed and store replica in the middle of a
# run: the hub re-sends what they held, and every document is stored
# exactly once.  Every stage is slowed by a CPU-burning --jq so that the
# run lasts a few seconds and each victim holds work when it dies; the
# store replicas are started by hand after the run began (as on another
# machine).
. "$(dirname "$0")/../lib/tap.sh"

N=120
numbered_docs "$T_DIR/docs" $N 300 note
newdb || exit 1
PORT=$(free_ports 9) || exit 1
BURN='--jq=(reduce range(60000) as $i (0; . + 1)) as $burn | .'

docpipe run "$T_DIR/docs" --listen "127.0.0.1:$PORT" --replicas chunk=2 --replicas summarize=2 \
	--replicas embed=2 --replicas store=0 --timeout 4 --attempts 10 --progress none \
	--opt "chunk=$BURN" --opt "summarize=$BURN" --opt "embed=$BURN" \
	>"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
replica() { pgrep -P "$1" -f "docpipe-$2 " | head -1; }
docpipe worker store --connect "127.0.0.1:$PORT" --replicas 2 -- "$BURN" 2>"$T_DIR/worker.err" &
WORKER=$!
sleep 1.5
for s in chunk summarize embed; do
	pid=$(replica $SUP $s)
	kill -9 "$pid"
	ok $? "kill -9 a $s replica (pid $pid)"
done
pid=$(replica $WORKER store)
kill -9 "$pid"
ok $? "kill -9 a store replica started by hand (pid $pid)"

for _ in $(seq 1 500); do kill -0 $SUP 2>/dev/null || break; sleep 0.1; done
if kill -0 $SUP 2>/dev/null; then
	ok 1 "run finished"
	kill -TERM $SUP
fi
wait $SUP
is "$?" 0 "run exits 0"
kill -TERM $WORKER
wait $WORKER
like "$(cat "$T_DIR/err")" "embed-[12] \(pid [0-9]+\) exited with status 137; restarting" \
	"the supervisor says it restarted a replica"
is "$(jq -r '[.complete, .documents, .failed] | @tsv' "$T_DIR/report")" "$(printf 'true\t%d\t0' $N)" \
	"report: complete, $N documents, none failed"
is "$(jq -r '.added + .unchanged' "$T_DIR/report")" $N "every document has one outcome"
ok $(( $(jq -r .resent "$T_DIR/report") > 0 ? 0 : 1 )) "lost documents were re-sent ($(jq -r .resent "$T_DIR/report"))"
is "$(sql 'SELECT count(*), count(DISTINCT path) FROM docpipe.documents' | tr '|' ' ')" "$N $N" \
	"$N rows, no duplicates"
is "$(sql 'SELECT count(*) FROM docpipe.documents d WHERE chunk_count <> (SELECT count(*) FROM docpipe.chunks c WHERE c.document_id = d.id)')" \
	0 "no half documents"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err"
done_testing
