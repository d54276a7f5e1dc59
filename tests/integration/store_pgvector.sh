#!/bin/bash
# The store against the real pgvector extension (tests/lib/pgvector.sh):
# vector type announced and forced, HNSW index by dimension, bulk loads
# that drop the index and always leave it built (also after SIGTERM; after
# kill -9 the next run repairs it), zero vectors, vector and real[] agree.
. "$(dirname "$0")/../lib/tap.sh"
PLAIN_HOST=$PGHOST PLAIN_PORT=$PGPORT
newdb_pgvector || { skip "pgvector: $PGVECTOR_SKIP"; done_testing; }
cd "$T_DIR"
has_index() { sql "SELECT count(*) FROM pg_indexes WHERE schemaname = 'docpipe' AND indexname = 'chunks_embedding_hnsw'"; }
output_until() { # output_until WANT COMMAND...: polls COMMAND's output for up to 20 s
	local want=$1 i
	shift
	for i in $(seq 200); do [ "$("$@")" = "$want" ] && return 0; sleep 0.1; done
	return 1
}

# Schema, index, announcement.
gen_docs --docs 3 --chunks 2 --dim 8 >small.ndjson
docpipe-store <small.ndjson >r1 2>err; rc=$?
is "$rc" 0 "store exits 0"
like "$(cat err)" "vectors stored as vector \(pgvector is available\)" "the vector type is announced with its reason"
is "$(grep -c 'vectors stored as' err)" 1 "announced once"
is "$(sql "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'docpipe.chunks'::regclass AND attname = 'embedding'")" "vector(8)" "embedding is vector(8)"
like "$(sql "SELECT indexdef FROM pg_indexes WHERE indexname = 'chunks_embedding_hnsw'")" "USING hnsw \(embedding vector_cosine_ops\)" "HNSW index"
is "$(db_setting vector_type)/$(db_setting vector_index)" "vector/hnsw" "settings: vector_type, vector_index"
is "$(sql "SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = 'vector'")" public \
	"the extension made in the search_path's first schema (public), never pg_catalog"
docpipe-store <small.ndjson 2>err | jq -r .status | xargs >r2
is "$(cat r2)" "unchanged unchanged unchanged" "re-run unchanged"
like "$(cat err)" "the corpus's type since it was created" "a later run says why too"
docpipe-store --vector-type real </dev/null >/dev/null 2>err; rc=$?
is "$rc" 2 "--vector-type real on a vector corpus: exit 2"
like "$(cat err)" "stores its vectors as vector" "... saying what the corpus has"

# Bulk load: 1,200 chunks into an empty table drop the index (>= 1,000).
newdb_pgvector
gen_docs --docs 120 --chunks 10 --dim 8 >bulk.ndjson
docpipe-store <bulk.ndjson >/dev/null 2>err; rc=$?
is "$rc" 0 "bulk load exits 0"
like "$(cat err)" "bulk load" "a large load is a bulk load"
is "$(has_index)/$(db_setting index_state)" "1/ready" "after it the index is there, the marker cleared"
is "$(sql "SELECT count(*) FROM docpipe.chunks")" 1200 "all chunks stored"
is "$(sql "SELECT count(*) > 0 FROM pg_stats WHERE schemaname = 'docpipe' AND tablename = 'chunks' AND attname = 'tsv'")" t \
	"the bulk load leaves statistics for the query's BM25 (ANALYZE)"
gen_docs --docs 5 --chunks 10 --dim 8 --version 2 --seed 2 >inc.ndjson
docpipe-store <inc.ndjson >/dev/null 2>err
is "$(grep -c 'bulk load' err)/$(has_index)" "0/1" "a small run keeps the index and inserts into it"
gen_docs --docs 1 --chunks 10 --dim 8 --version 3 --seed 3 >one.ndjson
docpipe-store --bulk-load always <one.ndjson >/dev/null 2>err
is "$(grep -c 'bulk load' err)/$(has_index)/$(db_setting index_state)" "1/1/ready" "--bulk-load always: dropped and rebuilt"
docpipe-store --bulk-load always --hnsw-ef-construction 40 <inc.ndjson >/dev/null 2>&1
gen_docs --docs 1 --chunks 10 --dim 8 --version 4 --seed 4 >one.ndjson
docpipe-store --bulk-load always <one.ndjson >/dev/null 2>&1
like "$(sql "SELECT indexdef FROM pg_indexes WHERE indexname = 'chunks_embedding_hnsw'")" "WITH \(ef_construction='40'\)" "--hnsw-ef-construction kept for later builds"
docpipe-store --hnsw-ef-construction 31 </dev/null 2>/dev/null
is "$?" 2 "ef_construction below 2 m: exit 2"
docpipe-store --bulk-load sometimes </dev/null 2>/dev/null
is "$?" 2 "bad --bulk-load: exit 2"

# A bulk load killed with -9: queries still work, a concurrent store
# leaves the index to the loader while it lives, the next run repairs it.
# The input trickles (a document every 0.3 s): a bulk load whose input
# pauses for 2 s builds its index.
gen_docs --docs 200 --chunks 3 --dim 8 --prefix /t --seed 10 >trickle.ndjson
gen_docs --docs 200 --chunks 3 --dim 8 --prefix /u --seed 11 >trickle2.ndjson
cat >trickle.py <<'PY'
import sys, time
out = None
if len(sys.argv) > 1:
    import zmq
    ctx = zmq.Context()
    out = ctx.socket(zmq.PUSH)
    out.connect(sys.argv[1])
for line in sys.stdin:
    if out is None:
        sys.stdout.write(line)
        sys.stdout.flush()
    else:
        out.send(line.rstrip("\n").encode())
    time.sleep(0.3)
PY
mkfifo in
python3 trickle.py <trickle.ndjson >in &
feeder=$!
docpipe-store --bulk-load always <in >rk 2>errk &
pid=$!
output_until building db_setting index_state; ok $? "bulk load in progress: marker set"
is "$(has_index)" 0 "index dropped meanwhile"
Q=$(gen_docs --query --dim 8 --seed 9)
out=$(docpipe-query --mode vector --json -k 3 --vector "$Q" x 2>&1); rc=$?
is "$rc/$(jq -s length <<<"$out" 2>/dev/null)" "0/3" "queries keep working (exact scan)"
docpipe-store </dev/null >/dev/null 2>err2
is "$(grep -c repairing err2)/$(has_index)" "0/0" "another store leaves the index to the live loader"
kill -9 $pid; wait $pid 2>/dev/null; kill $feeder; wait $feeder 2>/dev/null
is "$(has_index)/$(db_setting index_state)" "0/building" "killed: index missing, marker left"
docpipe-store </dev/null >/dev/null 2>err; rc=$?
is "$rc" 0 "next run exits 0"
like "$(cat err)" "repairing the vector index" "next run says it repairs"
is "$(has_index)/$(db_setting index_state)" "1/ready" "next run repaired the index"
# SIGTERM (ZeroMQ input, as under the supervisor): the index is built
# before the store exits.
docpipe-store --bulk-load always --in "@ipc://$T_DIR/zin" >rz 2>errz &
pid=$!
for _ in $(seq 200); do [ -S "$T_DIR/zin" ] && break; sleep 0.05; done
python3 trickle.py "ipc://$T_DIR/zin" <trickle2.ndjson &
feeder=$!
output_until building db_setting index_state; ok $? "second bulk load in progress"
kill -TERM $pid; wait $pid; rc=$?; kill $feeder; wait $feeder 2>/dev/null
is "$rc/$(has_index)/$(db_setting index_state)" "5/1/ready" "after SIGTERM: exit 5, index built"
# A second store while a bulk load is stopped by the idle input: built.
mkfifo in2
docpipe-store --bulk-load always <in2 >ri 2>erri &
pid=$!
exec 3>in2
gen_docs --docs 1 --chunks 3 --dim 8 --version 999 --seed 999 >&3
output_until building db_setting index_state; ok $? "third bulk load in progress"
output_until 1/ready eval 'echo "$(has_index)/$(db_setting index_state)"'; ok $? "input idle for 2 s: index built, store still running"
kill -0 $pid; ok $? "... the store is still there"
exec 3>&-; wait $pid

# Dimensions: 3,072 get a halfvec expression index, 5,000 none (notice).
newdb_pgvector
gen_docs --docs 2 --chunks 3 --dim 3072 >d3072.ndjson
docpipe-store <d3072.ndjson >/dev/null 2>err; rc=$?
is "$rc/$(db_setting vector_index)" "0/hnsw-halfvec" "3,072 dims stored, vector_index hnsw-halfvec"
like "$(sql "SELECT indexdef FROM pg_indexes WHERE indexname = 'chunks_embedding_hnsw'")" "\(\(embedding\)::halfvec\(3072\)\) halfvec_cosine_ops" "halfvec expression index"
like "$(cat err)" "HNSW on embedding::halfvec\(3072\)" "the index choice is announced"
near=$(sql "SET enable_seqscan = off; SELECT content FROM docpipe.chunks ORDER BY embedding::halfvec(3072) <=> (SELECT embedding FROM docpipe.chunks WHERE content = 'd1 c2 v1')::halfvec(3072) LIMIT 1")
is "$near" "d1 c2 v1" "3,072 dims searchable through the index"
like "$(sql "SET enable_seqscan = off; EXPLAIN SELECT 1 FROM docpipe.chunks ORDER BY embedding::halfvec(3072) <=> (SELECT embedding FROM docpipe.chunks LIMIT 1)::halfvec(3072) LIMIT 1")" "Index Scan using chunks_embedding_hnsw" "... by index scan"
newdb_pgvector
gen_docs --docs 1 --chunks 2 --dim 5000 >d5000.ndjson
docpipe-store <d5000.ndjson >/dev/null 2>err; rc=$?
is "$rc/$(db_setting vector_index)/$(has_index)" "0/none/0" "5,000 dims stored without an index"
like "$(cat err)" "notice: no vector index for 5000 dimensions" "with a notice"

# Zero vectors are stored without an embedding: never ranked, never NaN.
newdb_pgvector
gen_docs --docs 2 --chunks 3 --dim 8 --zero >zero.ndjson
docpipe-store <zero.ndjson >/dev/null 2>&1
is "$(sql "SELECT count(*) || '/' || count(embedding) FROM docpipe.chunks")" "6/4" "zero-vector chunks stored, embedding NULL"
out=$(docpipe-query --mode vector --json -k 10 --vector "$Q" x)
is "$(jq -s 'map(select(.score | type == "number" and (isnan | not))) | length' <<<"$out")" 4 "query ranks only real vectors, no NaN"

# halfvec columns, by COPY and by INSERT.
for m in copy insert; do
	newdb_pgvector
	docpipe-store --vector-type halfvec --write-method $m <small.ndjson >/dev/null 2>err; rc=$?
	is "$rc/$(db_setting vector_type)" "0/halfvec" "--vector-type halfvec ($m)"
	like "$(sql "SELECT indexdef FROM pg_indexes WHERE indexname = 'chunks_embedding_hnsw'")" "embedding halfvec_cosine_ops\) WITH \(ef_construction='64'\)" "halfvec index ($m)"
	sql "SELECT embedding::vector::real[] FROM docpipe.chunks ORDER BY document_id, seq" | tr -d '{}' >got.$m
done
python3 - small.ndjson got.copy got.insert <<'PY' >cmp
import base64, json, struct, sys
want = [struct.unpack("<8f", base64.b64decode(c["vec"])) for l in open(sys.argv[1]) for c in json.loads(l)["chunks"]]
for f in sys.argv[2:]:
    got = [list(map(float, l.split(","))) for l in open(f)]
    print(max(abs(a - b) / max(abs(a), 1e-3) for w, g in zip(want, got) for a, b in zip(w, g)) < 1e-3 and len(got) == len(want))
PY
is "$(xargs <cmp)" "True True" "halfvec values within half precision, COPY and INSERT alike"

# vector and real[] agree (ef_search 40 >= rows: exact order).
newdb_pgvector
gen_docs --docs 6 --chunks 5 --dim 16 >agree.ndjson
docpipe-store <agree.ndjson >/dev/null 2>&1
Q16=$(gen_docs --query --dim 16 --seed 7)
docpipe-query --mode vector --json -k 30 --vector "$Q16" x | jq -c '[.path, .seq, (.score * 10000 | round)]' >vec.out
export PGHOST=$PLAIN_HOST PGPORT=$PLAIN_PORT
newdb
docpipe-store <agree.ndjson >/dev/null 2>&1
is "$(db_setting vector_type)" "real[]" "plain server: real[]"
docpipe-query --mode vector --json -k 30 --vector "$Q16" x | jq -c '[.path, .seq, (.score * 10000 | round)]' >real.out
is "$(wc -l <vec.out)" 30 "vector: 30 results"
ok "$(cmp -s vec.out real.out; echo $?)" "vector and real[] give the same ranking and scores"

# pgvector in a schema the database's search_path leaves out (a role's
# search_path without public; fault sweep 21b): the store's CREATE TABLE
# failed 'type "vector" does not exist', exit 3 (restarted until the run
# stopped), and docpipe-query's vector search failed the same way.
newdb_pgvector
sql "CREATE EXTENSION vector; CREATE SCHEMA elsewhere; ALTER DATABASE \"$PGDATABASE\" SET search_path = elsewhere" >/dev/null
docpipe-store <agree.ndjson >/dev/null 2>err
is "$?/$(db_setting vector_type)/$(vector_indexes)" 0/vector/chunks_embedding_hnsw \
	"pgvector outside the database's search_path: stored as vector, HNSW index" || diag "$(cat err)"
docpipe-query --mode vector --json -k 30 --vector "$Q16" x 2>err | jq -c '[.path, .seq, (.score * 10000 | round)]' >sp.out
ok "$(cmp -s vec.out sp.out; echo $?)" "... and searched: the same ranking and scores" || diag "$(cat err)"
# A search_path with a schema before pg_catalog ("shadow, pg_catalog,
# public"): docpipe's sessions put pg_catalog first, and a new corpus's
# extension was made in pg_catalog (fault sweep 21b).  Now where the
# user's path would make it: its first schema.
newdb_pgvector
sql "CREATE SCHEMA shadow; ALTER DATABASE \"$PGDATABASE\" SET search_path = shadow, pg_catalog, public" >/dev/null
docpipe-store <small.ndjson >/dev/null 2>err
is "$?/$(db_setting vector_type)/$(sql "SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = 'vector'")" \
	0/vector/shadow "a schema before pg_catalog: the extension made in it (the user's path's first), not pg_catalog" ||
	diag "$(cat err)"
export PGHOST=$PLAIN_HOST PGPORT=$PLAIN_PORT

# No silent choices where pgvector cannot be created.
newdb  # still the plain server: no pgvector
docpipe-store --vector-type vector </dev/null >/dev/null 2>err; rc=$?
is "$rc" 2 "--vector-type vector without pgvector: exit 2"
like "$(cat err)" "superuser must run CREATE EXTENSION vector" "... says how to fix it"
docpipe-store </dev/null >/dev/null 2>err
like "$(cat err)" "vectors stored as real\[\] \(pgvector cannot be used here" "auto without pgvector: real[], and why"
# pgvector installed, but this role may not create the extension.
newdb_pgvector
ROLE="t_pgv_$$_$RANDOM"
sql "CREATE ROLE $ROLE LOGIN; ALTER DATABASE $PGDATABASE OWNER TO $ROLE" >/dev/null
URL="postgresql:///$PGDATABASE?host=$PGHOST&port=$PGPORT&user=$ROLE"
DATABASE_URL=$URL docpipe-store --vector-type vector </dev/null >/dev/null 2>err; rc=$?
is "$rc" 2 "no right to CREATE EXTENSION, --vector-type vector: exit 2"
like "$(cat err)" "permission denied.*superuser must run CREATE EXTENSION vector" "... with the server's reason and the fix"
DATABASE_URL=$URL docpipe-store -q </dev/null >/dev/null 2>err
like "$(cat err)" "vectors stored as real\[\] \(pgvector cannot be used here \(.*permission denied" "auto: real[], said even with -q"
done_testing
