#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A kill -9 of docpipe-summarize (the OOM killer, a crash, a lost node)
# loses only the answers of the result cache's INSERT under way and those
# that came meanwhile: the cache's writer writes each answer as it comes
# (a group commit).  Before, answers waited for a batch of 64 or for 1 s,
# and a kill lost them all: the next run paid for them again (the fault
# suite's api_kill_every_stage: 107 requests after three kills).
. "$(dirname "$0")/../lib/tap.sh"
release_only "timing-bound (a kill in the first second of a round)"
newdb || exit 1
# 100 ms an answer, 4 at a time: ~40 answers a second.
big_doc_round 100

# The kill comes ~0.5 s into the chunks' round (the summary's request, 4
# in flight, 20 answered): the answers of the round are not yet written
# by a 1 s batch.  Lost now: the 4 in flight (answered or not, they were
# counted) and the answers of at most a few INSERTs; allowed: 16 (a
# writer held up ~0.3 s on a loaded machine).
sql "TRUNCATE docpipe.summary_cache"
api_reset
"${SUMMARIZE[@]}" <"$T_DIR/big.ndjson" >/dev/null 2>"$T_DIR/e1" &
S=$!
for _ in $(seq 3000); do
	api_requests_ge chat 25 && break
	kill -0 $S 2>/dev/null || break
	nap 0.01
done
kill -KILL $S
wait $S 2>/dev/null
PAID=$(api_requests chat) KEPT=$(kept)
diag "kill -9 after $PAID requests: $KEPT answers kept"
ok $((PAID >= 25 && PAID < TOTAL ? 0 : 1)) "killed mid-round ($PAID of $TOTAL requests made)"
ok $((KEPT >= PAID - 16 ? 0 : 1)) "the answers received are kept ($KEPT of $PAID)"
api_reset
"${SUMMARIZE[@]}" <"$T_DIR/big.ndjson" >/dev/null 2>"$T_DIR/e2"
is "$?" 0 "the next run ends (exit 0)"
AGAIN=$(api_requests chat)
ok $((AGAIN <= TOTAL - PAID + 16 ? 0 : 1)) \
	"the next run pays about the rest ($AGAIN of $TOTAL; $PAID paid before the kill)"
done_testing
