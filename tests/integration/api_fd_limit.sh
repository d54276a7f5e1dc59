#!/bin/bash
# A stage that runs out of file descriptors (ulimit -n; each request in
# flight holds a socket).  libcurl says only "couldn't connect", which
# after a first answer meant "the server went away": weather, retried for
# the whole 5-minute budget while the progress said "waiting for the model
# API" (sweep 3: 19 documents failed after 295 s and 1,060 retries, "Too
# many open files" never said).  Now such an attempt counts, and the
# document fails fast with the cause; a soft limit under the hard one is
# raised first (as Go's runtime does).
. "$(dirname "$0")/../lib/tap.sh"
unset OPENAI_API_KEY
fakeapi --latency chat=300
for i in $(seq 1 40); do
	printf '{"v":1,"kind":"document","path":"/fd/%d.md","chunks":[{"seq":0,"text":"Doc %d talks of item %d.","heading":[]}]}\n' "$i" "$i" "$i"
done >"$T_DIR/docs.ndjson"

# Soft and hard limit both 24: requests past it cannot open their socket.
start=$SECONDS
(ulimit -n 24; exec docpipe-summarize --backend openai --no-reuse --threads 32 --retries 3 <"$T_DIR/docs.ndjson" \
	>"$T_DIR/out" 2>"$T_DIR/err")
rc=$?
took=$((SECONDS - start))
is "$rc" 1 "out of descriptors: exit 1 (the documents that could not be asked fail)"
ok "$([ "$took" -lt 120 ]; echo $?)" "... within seconds, not the 5-minute retry budget ($took s)"
like "$(jq -r 'select(.kind == "error") | .error' "$T_DIR/out" | head -1)" \
	"Too many open files on this machine \(this process may open 24 files, ulimit -n" \
	"a failed document names the cause, not the server"
is "$(jq -s 'map(select(.kind == "document" or .kind == "error")) | length' "$T_DIR/out")" 40 \
	"every document has its outcome"

# Only the soft limit low (the hard one as the system gives it): raised, and
# every document is summarized.
(ulimit -S -n 24; exec docpipe-summarize --backend openai --no-reuse --threads 32 <"$T_DIR/docs.ndjson" \
	>"$T_DIR/out2" 2>"$T_DIR/err2")
is "$?:$(jq -s '[.[] | select(.kind == "document")] | length' "$T_DIR/out2")" 0:40 \
	"a low soft limit is raised to the hard one: all 40 summarized"
done_testing
