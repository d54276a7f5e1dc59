#!/bin/bash
# Peers with different --max-record in one graph: a record over the
# receiver's limit becomes an error record for that document (a receipt
# "failed" naming the limit), and the receiver stays connected: every later
# document is stored.  (A ZMQ_MAXMSGSIZE at the receiver's limit made libzmq
# drop the connection for good: the stage stayed alive but deaf.)
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

numbered_docs "$T_DIR/docs" 30 5 small
# One document whose record is far over 8 KiB.
{ echo '# Big'; for i in $(seq 1 400); do echo "line $i of a long document about nothing much."; done; } \
	>"$T_DIR/docs/big.md"
docpipe run "$T_DIR/docs" --progress none --timeout 60 --attempts 2 \
	--opt summarize=--max-record=8192 >"$T_DIR/report" 2>"$T_DIR/err"
is "$?" 1 "the run finishes; one document failed (exit 1)"
is "$(jq -r '[.documents, .added, .failed] | @tsv' "$T_DIR/report")" "$(printf '31\t30\t1')" \
	"31 documents: 30 stored, 1 failed"
like "$(jq -r '.failures[0] | [.path, .stage, .error] | @tsv' "$T_DIR/report")" \
	"big.md	summarize	record of [0-9]+ bytes is over --max-record 8192" "the big one fails at summarize, saying why"
is "$(jq -r .resent "$T_DIR/report")" 0 "nothing re-sent: no document was lost on a dropped connection"
done_testing
