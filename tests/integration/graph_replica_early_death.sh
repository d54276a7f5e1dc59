#!/bin/bash
# lane: beside (tests/run: it waits on a replica's restart)
# A replica killed in its first milliseconds, before its first stats
# message: the hub notices a dead replica by its silence, which needs it to
# have spoken, so what the dead one held waited for --timeout (here 60 s;
# 300 s by default) before it was sent again: a stall (the sweep of session
# 20 measured 41 s with --timeout 40).  Now a stage sends its first stats
# message before it connects its input (dp_stats_start): the hub knows it
# before any record reaches it and notices its death (its pid gone, or 3 s
# of silence).  The
# kill is made without a code hook: chunk's --convert command for *.txt
# kills its parent (the chunk replica) the first time it runs, on the
# replica's first document (000.txt comes first in the walk).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

N=30
numbered_docs "$T_DIR/docs" $N 50 note
printf 'first\n' >"$T_DIR/docs/000.txt"
CONV="txt=if mkdir $T_DIR/killed 2>/dev/null; then kill -9 \$PPID; fi; printf '# First\n\nconverted\n'"
start=$EPOCHREALTIME
docpipe run "$T_DIR/docs" --progress none --timeout 60 --opt "chunk=--convert=$CONV" \
	>"$T_DIR/report" 2>"$T_DIR/err"
rc=$?
wall=$(( (${EPOCHREALTIME/./} - ${start/./}) / 1000000 ))
is "$rc" 0 "a replica killed on its first document: the run exits 0"
like "$(cat "$T_DIR/err")" "chunk-1 \(pid [0-9]+\) was killed \(SIGKILL\) processing \".*/000.txt\"" \
	"the kill came on the replica's first document"
ok $(( wall < 40 ? 0 : 1 )) "the hub re-sent what it held within seconds, not after --timeout 60 (${wall} s)"
is "$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report")" "$(printf '%s\t0' $((N + 1)))" \
	"every document stored, none failed"
is "$(sql "SELECT count(*) FROM docpipe.documents")" $((N + 1)) "each document stored once"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/err"
done_testing
