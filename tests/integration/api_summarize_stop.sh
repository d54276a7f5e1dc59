#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# docpipe-summarize keeps each answer for reuse as it comes (written behind
# at once, api_reuse_kill.sh), not when its round is complete:
# a summarize stopped (SIGTERM) or killed (kill -9) in the middle of a
# 200-chunk document's --chunk-summaries round lost every answer of the
# round, and the next run paid for all 200 again.  Now the next run pays
# for about those never answered.
. "$(dirname "$0")/../lib/tap.sh"
release_only "timing-bound (a stop at half a round)"
newdb || exit 1
# 200 ms an answer, 4 at a time: ~20 answers a second, a round of 10 s.
big_doc_round 200

# Lost at a stop: the answers of the last batch (1 s: ~20) and those in
# flight (4); allowed: 40 (a loaded machine).
for sig in TERM KILL; do
	sql "TRUNCATE docpipe.summary_cache"
	api_reset
	"${SUMMARIZE[@]}" <"$T_DIR/big.ndjson" >/dev/null 2>"$T_DIR/e1" &
	S=$!
	wait_for 60 api_requests_ge chat $((TOTAL / 2))
	kill -$sig $S
	wait $S 2>/dev/null
	PAID=$(api_requests chat) KEPT=$(kept)
	diag "SIG$sig after $PAID requests: $KEPT answers kept"
	ok $((KEPT >= PAID - 40 ? 0 : 1)) "SIG$sig mid-round: the answers received are kept ($KEPT of $PAID)"
	api_reset
	"${SUMMARIZE[@]}" <"$T_DIR/big.ndjson" >/dev/null 2>"$T_DIR/e2"
	is "$?" 0 "SIG$sig: the next run ends (exit 0)"
	AGAIN=$(api_requests chat)
	ok $((AGAIN <= TOTAL - PAID + 40 ? 0 : 1)) \
		"SIG$sig: the next run pays about the rest ($AGAIN of $TOTAL; $PAID paid before the stop)"
done
done_testing
