#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# Synchronous replication to a standby that is not there
# (synchronous_standby_names set, the standby down): every COMMIT waits
# (wait_event SyncRep) while the server answers everything else.  The
# store waited and said "no session holds a lock the store needs (a large
# write, or a slow server)": the operator looked at the wrong thing (fault
# sweep 19).  It now names the standby; once the setting is emptied the
# documents are stored, once each.  On a cluster of this test's own (the
# setting holds every session's COMMIT).
. "$(dirname "$0")/../lib/tap.sh"

private_pg
newdb || exit 1
numbered_docs "$T_DIR/docs" 3 3 doc
docpipe-discover "$T_DIR/docs" | docpipe-chunk | docpipe-embed >"$T_DIR/docs.ndjson"
docpipe-store -q <"$T_DIR/docs.ndjson" >/dev/null 2>&1 # the schema, before the standby is asked for
sql "DELETE FROM docpipe.documents" >/dev/null
standby() { PGDATABASE=postgres psql -X -q -c "ALTER SYSTEM SET synchronous_standby_names = '$1'" \
	-c "SELECT pg_reload_conf()" >/dev/null; }
standby standby1
docpipe-store -q <"$T_DIR/docs.ndjson" >"$T_DIR/receipts" 2>"$T_DIR/err" &
store=$!
said() { grep -q 'its COMMIT waits for a synchronous standby' "$T_DIR/err"; }
wait_for 60 said
ok $? "the store, waiting, says its COMMIT waits for a synchronous standby"
like "$(grep 'synchronous standby' "$T_DIR/err")" \
	"^docpipe-store: waiting [0-9]+ s for the database: its COMMIT waits for a synchronous standby \(synchronous_standby_names = 'standby1'\), which has not confirmed it" \
	"naming the setting"
standby ''
wait $store
is "$?/$(grep -c '"status":"stored"' "$T_DIR/receipts")/$(sql 'SELECT count(*) FROM docpipe.documents')" 0/3/3 \
	"the setting emptied: the 3 documents stored once each"
done_testing
