#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# docpipe run --watch makes one full pass, docpipe-watch's, each directory
# watched before it is listed.  Before, discover walked and the watcher
# started after it: a file deleted after discover took it (stored, even)
# and before the watcher's watch stayed stored for good (20,000 files,
# 80 deleted during the pass: 74 left), and the watcher's first pass sent
# every file again (40,000 documents through the graph for 20,000 files).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
unset OPENAI_API_KEY


# The first documents' texts read, the pipeline held at its first model
# request (the test server holds it), the walk not over: discover's
# records (long names) fill the FIFO to the hub (64 KiB) and the window.
# Then every file is deleted, and the server lets the requests go.
fakeapi
api_control '{"hold": true}'
D=$T_DIR/docs
long=$(printf 'n%.0s' $(seq 150))
mkdir -p "$D"
for i in $(seq 400); do printf '# Doc %d\n\nwords %d here\n' "$i" "$i" >"$D/$long-$i.md"; done
docpipe run "$D" --watch --progress plain --window 4 --threads summarize=1 \
	--opt summarize=--backend=openai --opt hub=--progress-every=1 >"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
at_exit 'kill $SUP 2>/dev/null'
wait_for 30 api_requests_ge chat 1
ok $? "the pipeline is held at its first request"
rm "$D"/*.md
api_control '{"hold": false}'
wait_for 60 grep -q "first pass complete" "$T_DIR/err"
ok $? "the first pass completes"
stored() { sql 'SELECT count(*) FROM docpipe.documents'; }
wait_for 20 eval '[ "$(stored)" = 0 ]'
ok $? "every file deleted during the pass is deleted from the database (before: the ones read before their delete stayed)"
is "$(stored)" 0 "no document left"
# Status 0 needs nothing in flight: the deletes of files never stored
# still pass through the graph after the count reached 0 (under load, one
# did at the stop: status 5).  A progress line after this point says so.
lines=$(wc -l <"$T_DIR/err")
wait_for 30 eval 'tail -n +$((lines + 1)) "$T_DIR/err" | grep -q ", 0 in flight"'
ok $? "... and nothing in flight"
kill -TERM $SUP
wait_for 20 exited $SUP
ok $? "SIGTERM stops it"
wait $SUP
is "$?" 0 "with status 0"

# One pass: 10 files, 10 documents through the graph (before: 20, the
# watcher's first pass sent each again).
numbered_docs "$T_DIR/ten" 10 5 doc
docpipe run "$T_DIR/ten" --watch --progress plain --opt hub=--progress-every=1 >/dev/null 2>"$T_DIR/err_ten" &
SUP=$!
wait_for 30 grep -q "first pass complete" "$T_DIR/err_ten"
ok $? "a watch run over 10 files: its first pass completes"
# The documents taken, from the hub's last progress line (every second):
# waited for until all 10 show (under load the line after the pass can
# come late), then a pass sent again would be taken within --settle
# (0.2 s) and shown within 1 s.
taken() { grep -E 'documents [0-9]+/[0-9]+\+? done' "$T_DIR/err_ten" | tail -1 | sed -E 's/.*documents [0-9]+\/([0-9]+).*/\1/'; }
wait_for 20 eval '[ "$(taken)" -ge 10 ] 2>/dev/null'
sleep 1.5
is "$(taken)" 10 "each file taken once"
# Status 0 needs no document in flight (docpipe(1), --watch): under load
# the last ones could still be on their way 1.5 s after they were taken.
finished() { grep -E 'documents [0-9]+/[0-9]+\+? done' "$T_DIR/err_ten" | tail -1 | sed -E 's/.*documents ([0-9]+)\/.*/\1/'; }
wait_for 30 eval '[ "$(finished)" -ge 10 ] 2>/dev/null'
ok $? "... and all 10 done"
kill -TERM $SUP
wait_for 20 exited $SUP
wait $SUP
is "$?" 0 "SIGTERM: status 0"

# A file as a root: docpipe-watch watches directories, said before
# anything starts (before: the full pass ran, then the watcher refused it,
# status 3).
docpipe run "$T_DIR/ten/doc10.md" --watch --progress none >/dev/null 2>"$T_DIR/file.err"
is "$?" 2 "--watch with a file as ROOT: a usage error"
like "$(cat "$T_DIR/file.err")" "ROOT .*doc10.md.: a file; --watch watches directories" "saying so"
# --opt discover= has no discover to go to under --watch.
docpipe run "$T_DIR/ten" --watch --opt discover=--hidden --progress none >/dev/null 2>"$T_DIR/opt.err"
is "$?" 2 "--watch with --opt discover=: a usage error"
like "$(cat "$T_DIR/opt.err")" "give its options as --opt watch=ARG" "naming --opt watch="
done_testing
