#!/bin/bash
# SIGTERM to the supervisor mid-run: every process exits within the bound
# (exit 5, interrupted); a second run completes the corpus without redoing
# the documents the first one stored.
. "$(dirname "$0")/../lib/tap.sh"

N=150
numbered_docs "$T_DIR/docs" $N 200 page
newdb || exit 1
BURN='--jq=(reduce range(150000) as $i (0; . + 1)) as $burn | .'

docpipe run "$T_DIR/docs" --opt "embed=$BURN" --window 16 --progress plain \
	>"$T_DIR/report1" 2>"$T_DIR/err1" &
SUP=$!
# Interrupt once part of the corpus is stored.
for _ in $(seq 1 200); do
	[ "$(sql 'SELECT count(*) FROM docpipe.documents' 2>/dev/null || echo 0)" -ge 10 ] && break
	sleep 0.1
done
kids=$(pgrep -P $SUP | tr '\n' ' ')
start=$SECONDS
kill -TERM $SUP
wait $SUP
is "$?" 5 "interrupted run exits 5"
ok $(( SECONDS - start <= 20 ? 0 : 1 )) "supervisor exits within the bound ($((SECONDS - start)) s)"
left=0
for p in $kids; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
is "$left" 0 "no process of the graph is left"
stored=$(sql 'SELECT count(*) FROM docpipe.documents')
diag "first run stored $stored of $N"
ok $(( stored > 0 && stored < N ? 0 : 1 )) "first run stored part of the corpus"
is "$(jq -r .complete "$T_DIR/report1")" false "its report says incomplete"

docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report2" 2>"$T_DIR/err2"
is "$?" 0 "second run exits 0"
is "$(jq -r '[.unchanged, .added] | @tsv' "$T_DIR/report2")" "$(printf '%d\t%d' "$stored" $((N - stored)))" \
	"second run: what was stored is unchanged, the rest added"
is "$(sql 'SELECT count(*), count(DISTINCT path) FROM docpipe.documents' | tr '|' ' ')" "$N $N" \
	"$N rows, no duplicates"
[ "$T_FAILED" = 0 ] && exit_ok=1 || { sed 's/^/# /' "$T_DIR/err1" "$T_DIR/err2"; }
done_testing
