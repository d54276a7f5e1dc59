#!/bin/bash
# The full-text index's pending list is merged beside the writes (issue 11,
# store throughput): after 4,000 chunks the store starts
# gin_clean_pending_list on a second connection (application_name
# docpipe-store-gin) without waiting for it, and when its input pauses;
# when its input ends, it merges the rest, but for a short tail, which the
# next store's start merges.  A merge that fails (the index dropped) fails
# no write: the store says so once and leaves the merges to the writes.
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail
newdb || exit 1

# 30 documents of 150 chunks each (4,500 chunks), ordinary English words.
python3 - >docs.ndjson <<'PY'
import json, random
random.seed(7)
words = ("rotate signing keys quarter night job server client certificate storage index merge "
         "pending list writer reader transaction commit backend query answer document chunk").split()
for d in range(30):
    chunks = [{"seq": k, "text": " ".join(random.choice(words) for _ in range(40)) + " w%dx%d" % (d, k)}
              for k in range(150)]
    print(json.dumps({"v": 1, "kind": "document", "path": "/d/%d.md" % d, "root": "/d",
                      "hash": "h%d" % d, "chunker": "t", "chunks": chunks}))
PY
docpipe-store -q </dev/null; is "$?" 0 "schema made"
sql "CREATE EXTENSION IF NOT EXISTS pgstattuple" >/dev/null
pending() { sql "SELECT pending_pages FROM pgstatginindex('docpipe.chunks_tsv')"; }
merged() { [ "$(pending)" = 0 ]; }
MERGED="SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name = 'docpipe-store-gin' AND query LIKE '%SELECT gin_clean_pending_list(%'"

# The input stays open after the documents, so the merge is seen while the
# store runs (its final merge at the end would hide an in-line one).  The
# merge's session is looked for from the start: once its input is quiet
# 1 s the store gives its connections back (STORE_PARK_IDLE_MS), and
# looked for after the receipts, on a loaded machine it was gone.
( until sql_ge "$MERGED" 1; do nap 0.05; done; touch merged ) &
poller=$!
at_exit 'kill $poller 2>/dev/null'
mkfifo in
docpipe-store <in >receipts.ndjson 2>err &
STORE=$!
exec 3>in
cat docs.ndjson >&3
wait_for 30 sh -c '[ "$(wc -l <receipts.ndjson)" -ge 30 ]'; ok $? "30 receipts while the input is open"
wait_for 30 test -e merged
ok $? "a merge ran on the second connection while the store was writing"
kill $poller 2>/dev/null
# The input open and quiet, the store merges what it wrote since its last
# merge (STORE_GIN_PAUSE_MS after its last batch; in line after 2 s when a
# merge was still running then).  Looked for before the input ends: at its
# end the store leaves a tail of under STORE_GIN_LEAVE_CHUNKS unmerged
# (store_fulltext_end), and an input closed within the pause's 0.1 s of
# the last receipts left the chunks written since the last merge began
# (8-40 pages; 13 of 25 runs under TSan at load 4-6, session 60).
wait_for 30 merged
ok $? "the pending list is merged while the input pauses"
exec 3>&-
wait "$STORE"; is "$?" 0 "store exits 0 when its input ends"
is "$(sql "SELECT count(*) FROM docpipe.chunks WHERE tsv IS NOT NULL")" 4500 "every chunk has its tsvector"
is "$(pending)" 0 "nothing is left in the pending list when the store ends"
is "$(sql "SET enable_seqscan = off; SELECT d.path FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id
	WHERE c.tsv @@ 'w17x42'::tsquery")" /d/17.md "a rare term is found through the index"
is "$(grep -c 'pending list' err)" 0 "no complaint about the merge"

# An input that pauses: the store merges beside (after STORE_GIN_PAUSE_MS of
# quiet; it waited 2 s, then merged in line).
# Which connection merged: the second one's session, from the merge to the
# store's park 1 s later, is looked for by the server itself every 10 ms
# (a psql a look missed it on a loaded machine); before, a merge within 1 s
# was asked for, which a loaded machine could miss.
GIN_SEEN="DO \$\$ BEGIN FOR i IN 1..6000 LOOP PERFORM pg_stat_clear_snapshot();
	IF EXISTS (SELECT FROM pg_stat_activity WHERE datname = current_database()
	AND application_name = 'docpipe-store-gin') THEN RETURN; END IF;
	PERFORM pg_sleep(0.01); END LOOP; RAISE 'not seen'; END \$\$"
(PGAPPNAME=gin_watch sql "$GIN_SEEN" >/dev/null 2>&1 && touch gin_seen) &
watcher=$!
at_exit 'kill $watcher 2>/dev/null'
wait_for 30 sql_ge "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name = 'gin_watch' AND wait_event = 'PgSleep'" 1
mkfifo in2
docpipe-store <in2 >receipts3.ndjson 2>err3 &
STORE=$!
exec 3>in2
head -1 docs.ndjson | sed 's/"h0"/"p0"/; s/"\/d\/0.md"/"\/d\/paused.md"/' >&3
wait_for 60 sh -c '[ -s receipts3.ndjson ]'; ok $? "a receipt while the input is open"
wait_for 60 merged
ok $? "the pending list is merged, the input still open"
wait $watcher
ok $? "... beside, on the second connection, not in line after 2 s"
exec 3>&-
wait "$STORE"; is "$?" 0 "and the store exits 0"
is "$(grep -c 'pending list' err3)" 0 "no complaint about the merge"

# A short tail at the end (issue 8 (b): a big document written last, the
# run's end held up by its merge): fewer than STORE_GIN_LEAVE_CHUNKS chunks
# written since the last merge are left in the pending list, the store's
# exit not waiting for their merge; queries find them there; the next
# store's start merges them (store_fulltext_end, store_fulltext_merge_left).
python3 - >tail.ndjson <<'PY'
import json
chunks = [{"seq": k, "text": "tail chunk %d of the last document tailword%d" % (k, k)} for k in range(300)]
print(json.dumps({"v": 1, "kind": "document", "path": "/d/tail.md", "root": "/d", "hash": "t1",
                  "chunker": "t", "chunks": chunks}))
PY
tuples() { sql "SELECT pending_tuples FROM pgstatginindex('docpipe.chunks_tsv')"; }
is "$(tuples)" 0 "the pending list is empty before"
docpipe-store -q <tail.ndjson >/dev/null 2>err4
is "$?" 0 "a store writes a 300-chunk document as its last and exits 0"
is "$(tuples)" 300 "its 300 chunks are left in the pending list (the exit waits for no merge)"
rare="SET enable_seqscan = off; SELECT d.path FROM docpipe.chunks c JOIN docpipe.documents d
	ON d.id = c.document_id WHERE c.tsv @@ 'tailword217'::tsquery"
is "$(sql "$rare")" /d/tail.md "a query finds them in the list"
docpipe-store -q </dev/null 2>>err4
is "$?/$(tuples)" 0/0 "the next store's start merges them"
is "$(sql "$rare")" /d/tail.md "and the query finds them in the index"
is "$(grep -c 'pending list' err4)" 0 "no complaint about the merge"

# A merge that fails (here: someone dropped the index) fails no write: the
# store says so once and leaves the merges to the writes.
sql "DROP INDEX docpipe.chunks_tsv" >/dev/null
sed 's/"h\([0-9]*\)"/"g\1"/' docs.ndjson >docs2.ndjson # new versions of every document
docpipe-store <docs2.ndjson >receipts2.ndjson 2>err2
is "$?" 0 "a store whose merges fail exits 0"
is "$(jq -r .status receipts2.ndjson | sort | uniq -c | tr -s ' ')" " 30 stored" "every document stored"
is "$(grep -c "pending list beside the writes failed" err2)" 1 "it says once that it could not merge beside the writes"
is "$(sql "SELECT count(*) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id
	WHERE d.content_hash LIKE 'g%' AND c.tsv IS NOT NULL")" 4500 "the new versions' tsvectors"
done_testing
