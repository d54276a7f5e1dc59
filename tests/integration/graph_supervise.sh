#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# The supervisor of `docpipe run` waits on events (a child's exit), not on
# a polling tick: a replica killed while nothing else happens is noticed
# and restarted at once (were it not, the store killed here would never
# come back and the run would not end); at the end the report is printed
# and recorded, the run's directory is removed and no process of the run
# is left.  (How fast: bench/api-graph.sh fixed, docs/PERFORMANCE.md.)
. "$(dirname "$0")/../lib/tap.sh"

N=6
numbered_docs "$T_DIR/docs" $N 40 note
newdb || exit 1
mkdir -p "$T_DIR/tmp"
# chunk takes ~0.5 s per document (a CPU-burning --jq): the store waits,
# idle, most of the run.
BURN='--jq=(reduce range(400000) as $i (0; . + 1)) as $burn | .'
start_run() {
	TMPDIR=$T_DIR/tmp docpipe run "$T_DIR/docs" --run sup1 --listen "127.0.0.1:$PORT" \
		--progress none --opt "chunk=$BURN" >"$T_DIR/report" 2>"$T_DIR/err" &
	SUP=$!
}
listen_run 9 start_run
ok $? "the hub listens on its ports" || done_testing

store_pid() { pgrep -P "$SUP" -f "docpipe-store --in " | head -1; }
wait_for 20 store_pid >/dev/null
STORE=$(store_pid)
ok $? "the store replica runs (pid $STORE)"
wait_for 20 sql_ge "SELECT count(*) FROM docpipe.documents" 1
ok $? "a first document is stored"
kill -9 "$STORE"
restarted() { grep -q "store-1 (pid $STORE) exited with status 137; restarting it" "$T_DIR/err"; }
wait_for 30 restarted
ok $? "the idle store killed with -9 is restarted (no other event woke the supervisor)"

wait_for 60 exited $SUP || { ok 1 "run finished"; kill -TERM $SUP; }
wait $SUP
is "$?" 0 "run exits 0"
is "$(jq -s 'length' "$T_DIR/report")" 1 "one report on stdout"
is "$(jq -r '[.complete, .documents, .failed] | @tsv' "$T_DIR/report")" "$(printf 'true\t%d\t0' $N)" \
	"report: complete, $N documents, none failed"
is "$(sql "SELECT complete FROM docpipe.runs WHERE id = 'sup1'")" t \
	"the report is recorded (while the replicas stopped)"
is "$(ls -A "$T_DIR/tmp")" "" "the run's directory is removed"
is "$(pgrep -f "127.0.0.1:$PORT" | tr '\n' ' ')" "" "no process of the run is left"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err" | tail -20
done_testing
