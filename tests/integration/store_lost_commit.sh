#!/bin/bash
# docpipe-store: the connection lost after a batch's COMMIT was sent, before
# its answer came (docpipe-store(1), "The connection drops after COMMIT was
# sent"): the store asks the server what became of the transaction (its id
# taken at BEGIN) and reports the truth.  Committed: its own receipts,
# "stored" with "created" as the write found the row, for a plain
# pipeline's records too (no stream: before, the batch was written again
# and reported "unchanged", session 60's leftover).  Never committed (the
# COMMIT lost on its way, the server holding the session open): written
# again, the new version stored once.  A proxy between the store and the
# server (tests/lib/pgcut.py) cuts the connection at the COMMIT.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
GEN="python3 $TOP/bench/store-gen.py --docs 3 --chunks 2 --dim 8"
cd "$T_DIR"
# cut_proxy [PGCUT-ARGS...]: a proxy that cuts the COMMIT of the first
# transaction that wrote a document (pgcut.py; the statements MATCH names),
# its log in cutN.log; URL goes through it.
N=0
MATCH=(--match docpipe_upsert --match docpipe_delete_path --match 'INSERT INTO docpipe.documents'
	--match 'FROM docpipe.documents WHERE path')
cut_proxy() {
	N=$((N + 1))
	python3 "$TOP/tests/lib/pgcut.py" --target "127.0.0.1:$PGPORT" "${MATCH[@]}" "$@" >"port$N" 2>"cut$N.log" &
	SERVERS+=("$!")
	wait_for 30 test -s "port$N"
	URL="postgresql://$PGUSER@127.0.0.1:$(cat "port$N")/$PGDATABASE?sslmode=disable&gssencmode=disable"
}
# store_through: docpipe-store through the proxy; its receipts' status and
# created, one line.
store_through() { DATABASE_URL=$URL docpipe-store -q 2>>err | jq -c '[.status, .created]' | sort | uniq -c | tr -s ' \n' ' '; }
# versions: each document's stored hash is the one of VERSION's records.
same_hashes() { jq -r '.hash' "$1" | sort | tr '\n' ' '; }
stored_hashes() { sql "SELECT content_hash FROM docpipe.documents ORDER BY 1" | tr '\n' ' '; }
chunk_rows() { sql "SELECT count(*) || '/' || count(DISTINCT (document_id, seq)) FROM docpipe.chunks"; }

$GEN >v1
cut_proxy
is "$(store_through <v1)" ' 3 ["stored",true] ' "new documents, the COMMIT's answer lost: stored, created (was: unchanged)"
like "$(cat cut1.log)" "dropped a COMMIT's answer" "the proxy cut the connection after the server committed"
is "$(stored_hashes)" "$(same_hashes v1)" "the three are stored"
is "$(chunk_rows)" 6/6 "their chunks once"

$GEN --version 2 >v2
cut_proxy
is "$(store_through <v2)" ' 3 ["stored",false] ' "a changed version, its COMMIT's answer lost: stored, not created"
like "$(cat cut2.log)" "dropped a COMMIT's answer" "cut again after the commit"
is "$(stored_hashes)" "$(same_hashes v2)" "the new versions are stored"
is "$(chunk_rows)" 6/6 "their chunks once"

$GEN --version 2 >v2
cut_proxy
is "$(store_through <v2)" ' 3 ["unchanged",null] ' "the same version again, its COMMIT's answer lost: unchanged (what that batch wrote)"

$GEN --version 3 >v3
cut_proxy --before
is "$(store_through <v3)" ' 3 ["stored",false] ' "a COMMIT that never reached the server: written again, stored"
like "$(cat cut4.log)" "dropped a COMMIT before the server" "the proxy dropped the COMMIT and held the server's session"
like "$(cat err)" "ended it \\(that transaction is rolled back and written again\\)" "the store ended the session the server held"
is "$(stored_hashes)" "$(same_hashes v3)" "the third versions are stored"
is "$(chunk_rows)" 6/6 "their chunks once"

jq -c '{v: 1, kind: "delete", path: .path}' v3 | head -2 >del
cut_proxy
is "$(store_through <del)" ' 2 ["deleted",null] ' "deletes whose COMMIT's answer was lost: deleted"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" 1 "the two are gone"

# A sweep's batch (docpipe-store --sweep: a run's end) whose COMMIT's
# answer was lost: its deleted documents have their receipts (before:
# none, "swept 0", the batch picked again and found nothing), and one
# whose COMMIT never reached the server is done again.
MATCH=(--match 'DELETE FROM docpipe.documents')
for cut in after --before; do
	sql 'DELETE FROM docpipe.documents' >/dev/null
	# Runs of their own each time: a run's sweep keeps what was stored
	# after its start (docpipe.run_starts).
	$GEN --docs 5 --run "old$cut" | docpipe-store -q >/dev/null
	$GEN --docs 2 --run "new$cut" | docpipe-store -q >/dev/null
	cut_proxy ${cut#after}
	DATABASE_URL=$URL docpipe-store --sweep "new$cut" /corpus >swept 2>>err
	is "$?/$(jq -r .status swept | sort | uniq -c | tr -s ' \n' ' ')" "0/ 3 deleted " \
		"a sweep's COMMIT cut ${cut#--} it reached the server: the 3 documents gone have their receipts"
	like "$(cat "cut$N.log")" "dropped a COMMIT" "the proxy cut it"
	is "$(sql "SELECT string_agg(path, ' ' ORDER BY path) FROM docpipe.documents")" "/corpus/doc0.md /corpus/doc1.md" \
		"the documents of the sweep's run are kept, the rest gone"
done
done_testing
