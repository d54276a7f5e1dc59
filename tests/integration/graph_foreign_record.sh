#!/bin/bash
# A record of another run on an edge: a summarize worker that outlived its
# run (the run killed with -9, then started again on the same --listen)
# finishes an old version of a file and sends it to the new hub.  Without
# overlap the hub forwarded it without a look, and the store, which orders
# a path's versions within one stream only, let the old version replace
# the new one: data lost, and nothing said (sweep 4).  Now the hub drops a
# record that does not carry its run, and says so once.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
PORT=$(free_ports 9) || { skip "no free ports"; done_testing; }
mkdir -p "$T_DIR/docs"
printf '# X\n\nVERSION TWO of the text.\n' >"$T_DIR/docs/x.md"
docpipe run "$T_DIR/docs" --watch --listen "tcp://127.0.0.1:$PORT" --opt hub=--no-overlap --progress none \
	>/dev/null 2>"$T_DIR/err" &
SUP=$!
stored() { [ "$(sql "SELECT count(*) FROM docpipe.chunks WHERE content LIKE '%VERSION TWO%'")" -ge 1 ]; }
wait_for 60 stored
ok $? "the run stores version two"
# Version one as an old run's summarize output, sent to this hub's
# summarize output edge (docpipe-chunk passes a document record through).
out=$(docpipe-hub --layout --listen "tcp://127.0.0.1:$PORT" | awk '$1 == "summarize" {print $3}')
printf '{"v":1,"kind":"document","run":"an-old-run","stream":"an-old-run/1-1","seq":0,"path":"%s","root":"%s","hash":"0123","size":30,"chunks":[{"seq":0,"text":"VERSION ONE of the text.","heading":["X"]}]}\n' \
	"$T_DIR/docs/x.md" "$T_DIR/docs" | docpipe-chunk --out "$out" 2>/dev/null
wait_for 30 grep -q "a record of another run came out of summarize" "$T_DIR/err"
ok $? "the hub drops it and says so"
sleep 1
is "$(sql "SELECT string_agg(content, ' ') LIKE '%VERSION TWO%' AND string_agg(content, ' ') NOT LIKE '%VERSION ONE%' FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '$T_DIR/docs/x.md'")" \
	t "the stored version is still version two"
kill -TERM $SUP
wait_for 30 exited $SUP
wait $SUP
is "$?" 0 "the watch run stops cleanly"
done_testing
