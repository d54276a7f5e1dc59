#!/bin/bash
# A --vector-index switch made while another store bulk-loads is the
# corpus's recorded wish (docpipe-store(1), "Vector index"): the store that
# switches says it left the build to the loading store, and the loading
# store builds the recorded method at its end, not the one it started with.
# Before, the switching store said "building it" and exited 0, then the
# loader built HNSW and wrote vector_index=hnsw over the switch (sweep 8,
# finding 10).  Also --hnsw-ef-construction, recorded the same way.
# vector-rerun: no (it needs pgvector itself)
. "$(dirname "$0")/../lib/tap.sh"
newdb_pgvector || { skip "pgvector: $PGVECTOR_SKIP"; done_testing; }
cd "$T_DIR"
waiting() { sql_ge "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.application_name = 'docpipe-store' AND a.datname = current_database()" 1; }

# An HNSW corpus.
gen_docs --docs 5 --chunks 2 --dim 8 >base.ndjson
docpipe-store -q <base.ndjson >/dev/null 2>&1
is "$?/$(vector_indexes)" "0/chunks_embedding_hnsw" "an HNSW corpus"

# Store A bulk-loads (its index dropped, the bulk lock held) and waits in
# its first write for the lock of a path, which the test holds (write.c,
# lock_paths).
gen_docs --docs 40 --chunks 2 --dim 8 --prefix /a --seed 3 >a.ndjson
first=$(head -1 a.ndjson | jq -r .path)
hold_lock holder "SELECT pg_advisory_xact_lock(1685086580, hashtext('$first'))"
ok $? "the test holds the lock of A's first path"
docpipe-store --bulk-load always <a.ndjson >a.out 2>a.err &
A=$!
wait_for 30 waiting
ok $? "store A has dropped the index for its bulk load and waits to write"
is "$(vector_indexes)/$(db_setting index_state)" "/building" "A's bulk load: no index, index_state building"

# Store B switches to IVFFlat meanwhile, and ends.
timeout 60 docpipe-store --vector-index ivfflat --hnsw-ef-construction 40 </dev/null >/dev/null 2>b.err
is "$?" 0 "store B (--vector-index ivfflat) exits 0"
like "$(cat b.err)" "index: ivfflat replaces hnsw: recorded; another store is bulk-loading and builds ivfflat at its end" \
	"B says the build is left to the loading store"
[ "$(grep -c 'building it' b.err)" = 0 ]
ok $? "B does not say it builds"
is "$(db_setting index_method)/$(db_setting hnsw_ef_construction)" "ivfflat/40" "the switch is recorded: index_method ivfflat"

release_lock holder
wait $A
is "$?" 0 "store A ends its load"
like "$(cat a.err)" "index: ivfflat replaces hnsw; building it \(the method another store's --vector-index recorded\)" \
	"A says it builds the method recorded after its start"
is "$(vector_indexes)/$(db_setting vector_index)/$(db_setting index_state)" "chunks_embedding_ivfflat/ivfflat/ready" \
	"A built IVFFlat: vector_index ivfflat, no HNSW index"
is "$(db_setting ivfflat_lists)/$(jq -s 'map(select(.status == "stored")) | length' a.out)" "1/40" \
	"IVFFlat's lists recorded; A stored all 40 documents"

# The wish stays: a store without the option keeps it, and a bulk load
# rebuilds IVFFlat.
docpipe-store --bulk-load always <<<"$(gen_docs --docs 3 --chunks 2 --dim 8 --prefix /c --seed 5)" >/dev/null 2>c.err
is "$?/$(vector_indexes)/$(db_setting vector_index)" "0/chunks_embedding_ivfflat/ivfflat" "a later bulk load keeps IVFFlat"

# Switching back with HNSW and the recorded ef_construction 40: B's
# switch is built at B's start when nothing loads.
docpipe-store --vector-index hnsw </dev/null >/dev/null 2>d.err
is "$?/$(vector_indexes)/$(db_setting index_method)" "0/chunks_embedding_hnsw/hnsw" "a switch with no load beside it is built at start"
like "$(cat d.err)" "^docpipe-store: index: hnsw replaces ivfflat; building it$" "and said so, as before"
like "$(sql "SELECT indexdef FROM pg_indexes WHERE indexname = 'chunks_embedding_hnsw'")" "ef_construction='40'" \
	"built with the recorded ef_construction"
done_testing
