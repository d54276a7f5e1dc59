#!/bin/bash
# timing: alone (tests/run: with nothing beside it)
# An overloaded pipeline is not handed copies of what it holds: documents
# that wait in a slow stage's queue longer than --timeout are not re-sent
# once the hub has seen how long documents take (RFC 6298's SRTT + 4
# RTTVAR of send-to-receipt times, hub.h).  Before, every document out for
# --timeout was re-sent: each copy more work for the slow stage, longer
# waits, more copies.
# Alone, still: until the hub has samples its re-send delay is --timeout
# 2, so the first receipts must come back within it.  In the ASan pass
# beside 4 CPU burners at load ~25 it failed in one run of two (175 of 100
# re-sent, 80 failed, and the hub never said it waited past --timeout:
# the re-sends began before its estimate grew).
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
newdb || exit 1

N=100
numbered_docs "$T_DIR/docs" $N 20 doc
# One embed replica that takes ~60 ms a document after the first four (so
# that the first receipts come back early even on a loaded machine, as a
# slow stage's first documents do): the 64 documents of the window wait up
# to ~3.5 s in its queue, over --timeout 2.
BURN='--jq=if .seq < 4 then . else (reduce range(250000) as $i (0; . + 1)) as $burn | . end'
docpipe run "$T_DIR/docs" --progress none --window 64 --timeout 2 --attempts 3 --opt "embed=$BURN" \
	>"$T_DIR/report" 2>"$T_DIR/err"
rc=$?
is "$rc" 0 "the run completes (exit 0)"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/err"
is "$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report")" "$(printf '%s\t0' $N)" "every document stored, none failed"
resent=$(jq -r .resent "$T_DIR/report")
ok $(( resent <= N / 10 ? 0 : 1 )) "few documents re-sent ($resent of $N)"
like "$(cat "$T_DIR/err")" "from send to receipt: re-sending after [0-9.]+ s, not --timeout 2" \
	"the hub says why it waits longer than --timeout"
is "$(sql 'SELECT count(*) FROM (SELECT document_id, seq FROM docpipe.chunks GROUP BY 1, 2 HAVING count(*) > 1) d')" 0 \
	"no duplicate chunk rows"
done_testing
