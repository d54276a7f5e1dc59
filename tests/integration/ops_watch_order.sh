#!/bin/bash
# docpipe-watch numbers its records (run and seq, as a hub does), so a plain
# pipeline keeps a path's newest record whatever order the stages deliver
# them in: a file deleted while a slow summarize stage holds its document
# gets its delete first (stages pass other kinds at once), then the
# document, which must not bring the file back.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
set -o pipefail
# The chat answers are held (the test server's "hold") until the delete
# has its receipt: a fixed latency (1.5 s) raced the delete's way through
# watch's settle time and four stages on a loaded machine.
fakeapi
hold() { api_control "{\"hold\":$1}"; }
# chats_ge N: the test server was asked for at least N summaries (warm.md's
# is the first).
chats_ge() { [ "$(api_stats '.requests.chat')" -ge "$1" ] 2>/dev/null; }
# receipts_ge N: x.md has at least N receipts.
receipts_ge() { [ "$(jq -s 'map(select(.path | endswith("/x.md"))) | length' "$T_DIR/receipts")" -ge "$1" ]; }

D=$T_DIR/docs
mkdir -p "$D"
mkfifo "$T_DIR/records"
docpipe-watch --settle 100 "$D" >"$T_DIR/records" 2>"$T_DIR/watch.err" &
WATCH=$!
docpipe-chunk <"$T_DIR/records" | tee "$T_DIR/chunked" |
	docpipe-summarize --backend openai --model m 2>"$T_DIR/summarize.err" | docpipe-embed |
	docpipe-store >"$T_DIR/receipts" 2>"$T_DIR/store.err" &
at_exit 'kill $WATCH 2>/dev/null'

# Watch's first pass must be over before x.md is written: a file it
# finds half-written in that pass is taken twice (its first look, then its
# close), and both records are skipped behind the delete (CI, under ASan).
printf '# Warm\n\nThe pipeline is up.\n' >"$D/warm.md"
wait_for 30 sql_ge "SELECT count(*) FROM docpipe.documents WHERE path = '$D/warm.md'" 1
ok $? "watch is up: a first file is stored"
hold true
printf '# Gone soon\n\nThese words are summarized slowly.\n' >"$D/x.md"
wait_for 30 chats_ge 2
ok $? "the document is in the slow stage"
rm "$D/x.md"
wait_for 30 receipts_ge 1
ok $? "the delete passes it and gets its receipt"
hold false
wait_for 30 receipts_ge 2
ok $? "both records of x.md got a receipt"
like "$(jq -c "[.kind, .run, .seq, .stream == .run]" "$T_DIR/chunked" | head -1)" '^\["document","watch-[0-9TZ]+-[0-9]+",0,true\]$' \
	"watch's records carry its run and their seq"
is "$(jq -r 'select(.path | endswith("/x.md")) | .status' "$T_DIR/receipts" | xargs)" "deleted skipped" \
	"the delete came first, the document after it was skipped"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '$D/x.md'")" 0 "the deleted file is not stored"

printf '# Back\n\nA new version of the file.\n' >"$D/x.md"
wait_for 15 sql_ge "SELECT count(*) FROM docpipe.documents WHERE path = '$D/x.md'" 1
ok $? "the file written again is stored again"

kill $WATCH
wait $WATCH
done_testing
