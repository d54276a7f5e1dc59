#!/bin/bash
# A document that crashes the chunk replica processing it (a parser's or a
# converter's bug) fails alone, with the crash as its reason; the run goes
# on and ends.  Before, the hub re-sent it when the replica died, it killed
# every restarted replica, and after 5 restarts in 60 s the supervisor
# stopped the whole run.  The crash is made without a code hook: chunk's
# --jq (run on its output) prints a marker on the poison document's
# record and burns CPU, and the test
# sends the replica SIGILL then (a real crash's signal; SIGILL because the
# ASan build leaves it alone).  A replica killed with SIGKILL blames no
# document: the OOM killer's and operators' kills are not the document's.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

N=30
numbered_docs "$T_DIR/docs" $N 50 note
printf '# Poison\n\nThis one crashes the chunker.\n' >"$T_DIR/docs/poison.md"
MARK='--jq=if .kind != "error" and (.path | endswith("/poison.md")) then . as $doc | ("POISON-MARK" | stderr) | (reduce range(3000000) as $i (0; . + 1)) as $burn | $doc else . end'
chunk_pid() { pgrep -P "$SUP" -f "docpipe-chunk " | head -1; }
marks() { grep -c POISON-MARK "$T_DIR/err"; }
marked() { [ "$(marks)" -ge "$1" ]; }

# run_with SIGNAL TIMES: a run whose chunk replica gets SIGNAL on the
# poison document, each time it shows the marker, at most TIMES times.
# Once is enough: a replica that processed the document again would show
# the marker again (counted below) and store it.
run_with() {
	docpipe run "$T_DIR/docs" --progress none --timeout 60 --opt "chunk=$MARK" \
		>"$T_DIR/report" 2>"$T_DIR/err" &
	SUP=$!
	local k
	for ((k = 1; k <= $2; k++)); do
		wait_for 60 marked $k || break
		kill -"$1" "$(chunk_pid)"
	done
	wait $SUP
}

run_with ILL 1
is "$?" 1 "a document that crashes chunk: the run ends, exit 1 (one document failed)"
is "$(marks)" 1 "the poison document was processed once: the restarted replica did not run it again"
is "$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report")" "$(printf '%s\t1' $N)" \
	"every other document stored, the poison one failed"
like "$(jq -r '.failures[0] | .path + " " + .error' "$T_DIR/report" 2>/dev/null)" \
	"poison.md .*died of SIGILL processing this document" "its reason names the crash"
like "$(cat "$T_DIR/err")" "chunk-1 \(pid [0-9]+\) died of SIGILL processing \".*poison.md\"" \
	"the supervisor says which document crashed the replica"
is "$(sql "SELECT count(*) FROM docpipe.documents")" $N "the database holds the others, each once"
is "$(sql "SELECT count(*) FROM docpipe.failures WHERE path LIKE '%/poison.md'")" 1 \
	"the failure is recorded for docpipe status"

# A chunk replica of `docpipe worker` (as on another machine) keeps a
# crash journal of its worker's: the document fails by name there too (it
# had none: every restarted replica on the worker's machine got it again).
newdb || exit 1
listen_no_chunk() {
	docpipe run "$T_DIR/docs" --listen "127.0.0.1:$PORT" --replicas chunk=0 --progress none --timeout 60 \
		>"$T_DIR/report" 2>"$T_DIR/err" &
	SUP=$!
}
listen_run 9 listen_no_chunk
ok $? "the hub listens on its ports, with no chunk replica of its own" || done_testing
docpipe worker chunk --connect "127.0.0.1:$PORT" -- "$MARK" 2>"$T_DIR/worker.err" &
WORKER=$!
worker_marks() { grep -c POISON-MARK "$T_DIR/worker.err"; }
wait_for 60 eval '[ "$(worker_marks)" -ge 1 ]'
replica=$(pgrep -P "$WORKER" -f "docpipe-chunk " | head -1)
journal=$(tr '\0' '\n' <"/proc/$replica/cmdline" | grep -A1 -x -- --crash-dir | tail -1)
kill -ILL "$replica"
wait $SUP
is "$?/$(worker_marks)" 1/1 "a worker's chunk replica crashed by a document: the run ends, exit 1, the document processed once"
like "$(jq -r '.failures[0] | .path + " " + .error' "$T_DIR/report" 2>/dev/null)" \
	"poison.md .*died of SIGILL processing this document" "... failed by name, the crash its reason"
like "$(cat "$T_DIR/worker.err")" "chunk-1 \(pid [0-9]+\) died of SIGILL processing \".*poison.md\"" \
	"... the worker says which document crashed its replica"
kill -TERM $WORKER
wait $WORKER
ok $([ -n "$journal" ] && [ ! -e "$journal" ] && [ ! -e "${journal%/*}" ] && echo 0 || echo 1) \
	"the worker's journal ($journal) is removed at its exit"

# SIGKILL is not the document's doing: it is sent round again and stored.
newdb || exit 1
run_with KILL 1
is "$?" 0 "kill -9 of the replica on that document: not blamed, the run exits 0"
is "$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report")" "$(printf '%s\t0' $((N + 1)))" \
	"every document stored, the one in progress when killed too"
done_testing
