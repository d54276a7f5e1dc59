#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A model API that takes connections and never answers (a dead backend
# behind a load balancer, a hung proxy, a server trickling an answer it
# never finishes): each attempt waits out --timeout and counts, so before,
# every document failed after its attempts, a thread's worth at a time (the
# defaults, 6 x 60 s: a 1,105-file run took hours; fault sweep 10).  Now,
# as for a server never reached, once 3 calls have given up on a server
# that never answered in the process's life the stage stops as a refused
# run does (exit 4), naming it; the documents left fail at once.  A server
# that hangs on the first requests and then answers is not refused.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
export OPENAI_API_KEY=test-key

numbered_docs "$T_DIR/docs" 12 12 doc
docpipe-discover "$T_DIR/docs" | docpipe-chunk >"$T_DIR/chunked.ndjson"
hangs() { # hangs KIND ENDPOINT N: N faults of that kind, 60 s each
	api_control "{\"faults\":[$(yes "{\"endpoint\":\"$2\",\"kind\":\"$1\",\"seconds\":60}" | head -n "$3" | paste -sd,)]}"
}
kinds() { jq -r .kind "$1" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' '; }

# Silent: every chat request hangs.
fakeapi
hangs hang chat 100
docpipe-summarize --backend openai --no-reuse --timeout 1 --retries 2 --threads 2 \
	<"$T_DIR/chunked.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
is "$?/$(kinds "$T_DIR/out")" "4/error=12 " \
	"a server that never answers: the stage stops as refused (exit 4), every document failed by name"
like "$(cat "$T_DIR/err")" "stopped: the model API took connections but never answered, 3 calls given up \(Timeout was reached: no answer within --timeout 1 s\): check the server" \
	"... saying so"
chat=$(api_requests chat)
# 12 documents x 2 attempts before; now the 3 calls given up (2 attempts
# each) and those in flight beside them.
ok $([ "$chat" -le 16 ] && echo 0 || echo 1) "... after 3 calls given up, not 12 x 2 requests ($chat)"

# Trickling: every embedding answer comes a byte at a time over 60 s.
fakeapi
hangs trickle embed 100
docpipe-summarize <"$T_DIR/chunked.ndjson" |
	docpipe-embed --backend openai --no-reuse --batch-inputs 1 --timeout 1 --retries 2 --threads 2 >"$T_DIR/out" 2>"$T_DIR/err"
is "$?/$(kinds "$T_DIR/out")" "4/error=12 " \
	"a server that trickles answers it never finishes: embed stops as refused (exit 4)"
like "$(cat "$T_DIR/err")" "stopped: the model API took connections but never answered, 3 calls given up" \
	"... saying so"

# A batch of several inputs not answered within --timeout goes out smaller
# (a batch too slow for it is sent in parts: api_auto_local.sh); its first
# input alone first, so a server that answers nothing costs that input's
# attempts, not a halving down to single inputs each waiting out --timeout.
api_reset
hangs hang embed 100
docpipe-embed --backend openai --no-reuse --timeout 1 --retries 2 --threads 2 <"$T_DIR/chunked.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
is "$?/$(kinds "$T_DIR/out")" "1/error=12 " "a batch that hangs: its documents fail"
like "$(jq -r .error "$T_DIR/out" | sort -u)" "^/embeddings: gave up after 2 attempts in .*no answer within --timeout 1 s; not tried again: its attempts \\(--retries\\) were spent \\(a later run tries again\\)$" \
	"... by the lone input's reason"
# Under load the input may go out in more than one batch (a chunk that
# lingers EMBED_LINGER_MS leaves without the rest): each batch once, then
# its first input alone twice (a batch of one input: it alone, twice); no
# input in two batches, which a halving would do.
shape=$(api_stats '[.faulted[] | select(.endpoint == "embed") | .inputs] as $r
	| ($r | map(select(length > 1))) as $batches
	| ($r | map(select(length == 1) | .[0])) as $lone
	| ([$batches[][]] | length == (unique | length))
	  and ($lone | group_by(.) | all(length == 2))
	  and (($lone | unique) == ([$batches[][0]] + ([$r[][]] - [$batches[][]]) | unique))')
is "$shape" true "... after each batch once and its first input twice (inputs per request: $(api_stats '[.faulted[] | .inputs | length]'))"

# Hung on the first requests only, then answering: not refused.
fakeapi
hangs hang chat 3
docpipe-summarize --backend openai --no-reuse --timeout 1 --retries 3 --threads 2 \
	<"$T_DIR/chunked.ndjson" >"$T_DIR/out" 2>"$T_DIR/err"
is "$?/$(kinds "$T_DIR/out")" "0/document=12 " \
	"a server that hangs on its first 3 requests, then answers: every document summarized"
done_testing
