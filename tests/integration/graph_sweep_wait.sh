#!/bin/bash
# A run's sweep behind a lock another session holds on a document it
# deletes (a psql transaction left open; sweep 7, finding 10): before, the
# run said nothing until the lock went, its progress "3/3 done ... ETA 0 s".
# Now the sweep names the session that holds the lock (as docpipe-query
# does, dp_db_say_lock_waits) and the hub's progress says it sweeps and
# what it waits for; the sweep ends once the lock is released.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
numbered_docs "$D" 4 3 doc
docpipe run "$D" --progress none >/dev/null 2>"$T_DIR/err0"
is "$?/$(sql 'SELECT count(*) FROM docpipe.documents')" 0/4 "a first run stores 4 documents"
rm "$D/doc1.md"

hold_lock holder "SELECT id FROM docpipe.documents WHERE path = '$D/doc1.md' FOR UPDATE"
ok $? "another session holds the row of the deleted file's document"
docpipe run "$D" --progress plain --opt hub=--progress-every=1 >"$T_DIR/report" 2>"$T_DIR/err" &
run=$!
said() { grep -q 'docpipe-store: waiting for a lock held by pid [0-9]* (holder, ' "$T_DIR/err"; }
wait_for 60 said && ! exited "$run"
ok $? "the sweep, waiting, names the session that holds the lock, and waits on"
like "$(grep 'docpipe-store: waiting' "$T_DIR/err")" \
	"^docpipe-store: waiting for a lock held by pid [0-9]+ \(holder, active, transaction open [0-9]+ s: BEGIN; SELECT id FROM docpipe.documents WHERE path = .*\); it goes on when that session ends its transaction$" \
	"in one line: the session's pid, application, state, age, statement"
shown() { grep -q 'documents 3/3 done, 0 in flight, 0 re-sent, [0-9]* s, sweeping [0-9]* s, 0 deleted, waiting [0-9]* s for a lock held by pid [0-9]* (holder, ' "$T_DIR/err"; }
wait_for 30 shown && ! exited "$run"
ok $? "the progress says the run is sweeping and what the sweep waits for (not \"ETA 0 s\")"
release_lock holder
wait "$run"
rc=$?
is "$rc/$(jq -r '[.deleted, .sweep] | @tsv' "$T_DIR/report")" "$(printf '0/1\tdone')" \
	"once the lock is released the sweep deletes the document, the run exits 0"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/err"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '$D/doc1.md'")" 0 "it is gone"

# No lock, no word of one.
rm "$D/doc2.md"
docpipe run "$D" --progress plain >"$T_DIR/report" 2>"$T_DIR/err"
is "$?/$(jq -r .deleted "$T_DIR/report")/$(grep -c 'waiting' "$T_DIR/err")" 0/1/0 \
	"a sweep that waits for no lock says nothing of one"

# docpipe-store --sweep by hand says the same (no hub: no wait record on
# its stdout, only receipts).  The files are gone (a document whose file
# is still there is kept: fault sweep 19); one other file stays (an empty
# root is kept whole).
rm "$D/doc3.md" "$D/doc4.md"
touch "$D/other.txt"
hold_lock holder "SELECT id FROM docpipe.documents WHERE path = '$D/doc3.md' FOR UPDATE"
docpipe-store -q --sweep another-run "$D" >"$T_DIR/swept" 2>"$T_DIR/serr" &
sweeper=$!
said() { grep -q 'waiting for a lock held by pid [0-9]* (holder, ' "$T_DIR/serr"; }
wait_for 60 said && ! exited "$sweeper"
ok $? "docpipe-store --sweep names the session too"
release_lock holder
wait "$sweeper"
is "$?/$(jq -r '[.kind, .status] | @tsv' "$T_DIR/swept" | sort -u)/$(grep -c . "$T_DIR/swept")" \
	"$(printf '0/receipt\tdeleted/2')" "then sweeps (the 2 documents left); its output holds their receipts only"
done_testing
