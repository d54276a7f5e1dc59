#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# docpipe-watch and a writer that holds its file open (sweep 8, finding 6):
# a file written in pieces with pauses longer than --settle was taken at
# every pause, each partial version chunked, summarized and embedded (10
# chat requests for one file of 10 pieces).  Now a file whose last event
# is a write with no close since waits --writer-settle: it is taken once,
# after its close; a file written and closed at once is still taken after
# --settle; a file never closed is taken --writer-max after its first write.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
set -o pipefail
fakeapi
export OPENAI_API_KEY=k

D=$T_DIR/docs
mkdir -p "$D"
printf '# Seed\n\nseed text\n' >"$D/seed.md"
mkfifo "$T_DIR/records"
# The default --settle (200 ms); --writer-settle 15 s (5 s by default), so
# that a file taken after its close or --settle, not --writer-settle, is
# told apart by a generous bound (10 s: 4 s and 2.5 s against 5 s failed
# under load); --writer-max 5 s, so that the never-closed file below is
# taken within the test's time.
docpipe-watch --writer-settle 15000 --writer-max 5000 "$D" >"$T_DIR/records" 2>"$T_DIR/watch.err" &
WATCH=$!
tee "$T_DIR/files" <"$T_DIR/records" | docpipe-chunk |
	docpipe-summarize --backend openai --model m 2>"$T_DIR/summarize.err" | docpipe-embed |
	docpipe-store >"$T_DIR/receipts" 2>"$T_DIR/store.err" &
at_exit 'kill $WATCH 2>/dev/null'
# chats TEXT: the different texts of the chat requests holding TEXT (the
# versions summarized: a request retried on a loaded machine is one).
chats() { curl -sf "$BASE/_stats" | jq --arg t "$1" '[.log[] | select(.endpoint == "chat") | .inputs | tostring | select(contains($t))] | unique | length'; }
# records NAME: how many file records the watcher wrote for NAME.
records() { jq -r --arg p "$D/$1" 'select(.kind == "file" and .path == $p) | .path' "$T_DIR/files" | wc -l; }
records_ge() { [ "$(records "$1")" -ge "$2" ]; }
receipt_for() { jq -e --arg p "$D/$1" 'select(.path == $p)' "$T_DIR/receipts" >/dev/null 2>&1; }

wait_for 30 receipt_for seed.md
ok $? "first pass: the seed stored"
curl -sf -X POST "$BASE/_reset" >/dev/null

# One open, 6 writes 0.4 s apart (twice --settle), one close (2.4 s: under
# --writer-max).
python3 - "$D/report.md" <<'PY'
import sys, time
with open(sys.argv[1], "w") as f:
    for i in range(6):
        f.write("## Section %d\n\n%s\n\n" % (i, ("Paragraph %d of the report. " % i) * 20)); f.flush()
        time.sleep(0.4)
PY
CLOSED=${EPOCHREALTIME/./}
wait_for 30 records_ge report.md 1
TAKEN=$(( (${EPOCHREALTIME/./} - CLOSED) / 1000 ))
wait_for 60 receipt_for report.md
ok $? "a file written in pieces, then closed: stored"
sleep 1
is "$(records report.md)" 1 "one file record for it (one per pause before)"
is "$(jq -r --arg p "$D/report.md" 'select(.path == $p) | .status' "$T_DIR/receipts" | xargs)" "stored" "one version stored"
is "$(chats 'Section 0')" 1 "one version summarized" ||
	curl -sf "$BASE/_stats" | jq -c '.log[] | select(.endpoint == "chat") | [.start, .end, (.inputs | tostring | .[0:120])]' | sed 's/^/# /'
ok $([ "$TAKEN" -lt 10000 ]; echo $?) "taken after its close, not --writer-settle (15 s) later (${TAKEN} ms)"
like "$(sql "SELECT string_agg(content, ' ' ORDER BY seq) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '$D/report.md'")" \
	"Section 5" "the whole file"

# Written and closed at once: --settle, not --writer-settle.
START=${EPOCHREALTIME/./}
printf '# Quick\n\nwritten at once\n' >"$D/quick.md"
wait_for 30 records_ge quick.md 1
QUICK=$(( (${EPOCHREALTIME/./} - START) / 1000 ))
ok $([ "$QUICK" -lt 10000 ]; echo $?) "a file written and closed at once: taken after --settle (${QUICK} ms)"

# Never closed (a log): taken --writer-max (5 s) after its first write,
# while the writer still writes every 0.4 s and holds it open.
exec 7>"$D/log.md"
START=${EPOCHREALTIME/./}
for i in $(seq 60); do
	printf 'line %d\n\n' "$i" >&7
	sleep 0.4
	[ "$(records log.md)" -ge 1 ] && break
done
FIRST=$(( (${EPOCHREALTIME/./} - START) / 1000 ))
ok $([ "$(records log.md)" -ge 1 ]; echo $?) "a file never closed is taken while its writer holds it (${FIRST} ms)"
exec 7>&-

kill $WATCH
wait $WATCH
is "$?" 0 "the watcher stops with status 0"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/watch.err" "$T_DIR/store.err"
done_testing
