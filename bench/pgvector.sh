#!/bin/bash
# pgvector benchmark (issue 10, docs/PERFORMANCE.md "pgvector"): chunks/s
# of docpipe-store into a fresh database, HNSW index build included, on the
# private PostgreSQL with pgvector of tests/lib/pgvector.sh; an incremental
# run into the indexed table; recall@10 and latency of HNSW top-10 against
# the exact scan at several hnsw.ef_search values.
#   bench/pgvector.sh [CHUNKS [CASES]]
# CHUNKS (default 100000) in documents of 10 chunks, dim 384, vectors near
# one of 100 centres (bench/store-gen.py --clusters).  CASES (default all):
# a space-separated subset of: vector halfvec fast real never incremental recall
set -eu
cd "$(dirname "$0")/.."
n=${1:-100000} cases=${2:-vector halfvec fast real never incremental recall}
docs=$((n / 10))
out=bench/out/pgvector
mkdir -p "$out"
gen() { python3 bench/store-gen.py --chunks 10 --dim 384 --clusters 100 "$@"; }
data=$out/docs-$n.ndjson
[ -s "$data" ] || gen --docs "$docs" >"$data"
# 100 documents (1,000 chunks) of the corpus in a new version, twice.
[ -s "$out/changed2.ndjson" ] || gen --docs 100 --version 2 --seed 2 >"$out/changed2.ndjson"
[ -s "$out/changed3.ndjson" ] || gen --docs 100 --start 100 --version 3 --seed 3 >"$out/changed3.ndjson"
[ -s "$out/queries.txt" ] || gen --queries 100 --seed 4 >"$out/queries.txt"

tmp=$(mktemp -d /tmp/docpipe-bench-pgvector.XXXXXX)
chmod 755 "$tmp"
eval "$(tests/lib/pgvector.sh start "$tmp/pg")"
[ -n "$PGVECTOR_PGHOST" ] || { echo "no pgvector: $PGVECTOR_SKIP" >&2; exit 1; }
export PGHOST=$PGVECTOR_PGHOST PGPORT=$PGVECTOR_PGPORT PGUSER=postgres
trap 'tests/lib/pgvector.sh stop "$tmp/pg"; rm -rf "$tmp"' EXIT
echo "# $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), fsync $(psql -X -A -t -d postgres -c 'SHOW fsync'), $(date -u +%FT%TZ)"

# The binary under test, copied: rebuilding bin/ meanwhile changes nothing.
cp bin/docpipe-store "$tmp/docpipe-store"
# CPU seconds used so far by the server: the postmaster and the children it
# reaped (every backend and parallel worker of a finished run).
server_cpu() {
	local pid
	pid=$(head -1 "$tmp/pg/data/postmaster.pid")
	awk -v t="$(getconf CLK_TCK)" '{ print ($14 + $15 + $16 + $17) / t }' "/proc/$pid/stat"
}
# store DB INPUT CHUNKS LABEL [OPTIONS]: times one docpipe-store run: wall
# time, and CPU seconds of the store and of the server (wall time swings
# with the machine's load; CPU time much less).
store() {
	local db=$1 input=$2 chunks=$3 label=$4 start end c0 c1
	shift 4
	c0=$(server_cpu)
	start=$(date +%s.%N)
	DATABASE_URL="postgresql:///$db?host=$PGHOST&port=$PGPORT&user=$PGUSER" \
		/usr/bin/time -f "%U %S" -o "$tmp/time" "$tmp/docpipe-store" "$@" <"$input" >"$tmp/receipts" 2>"$out/$db.err"
	end=$(date +%s.%N)
	sleep 0.5 # the backend's exit reaches the postmaster
	c1=$(server_cpu)
	python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); n=int(sys.argv[3]); u,k=map(float,open(sys.argv[5]).read().split()); c=float(sys.argv[7])-float(sys.argv[6]); print('%-42s %6d chunks %7.2f s wall %6.0f/s | CPU store %5.1f s, server %6.1f s: %6.0f chunks/CPU-s' % (sys.argv[4], n, s, n/s, u+k, c, n/(u+k+c)))" \
		"$start" "$end" "$chunks" "$label" "$tmp/time" "$c0" "$c1"
}
fresh() { createdb "$1"; }

# recall DB CAST: recall@10 and mean latency of 100 top-10 queries per ef_search.
recall() {
	local db=$1 cast=$2 ef
	psql -X -q -d "$db" -c "CREATE TABLE bq (id serial, v vector(384))" -c "\\copy bq (v) FROM '$out/queries.txt'"
	psql -X -q -A -t -d "$db" <<-SQL
		SET max_parallel_workers_per_gather = 0;
		SET enable_indexscan = off;
		SELECT clock_timestamp() AS t0 \gset
		CREATE TABLE ex AS SELECT q.id, x.document_id, x.seq FROM bq q, LATERAL (SELECT document_id, seq
		  FROM docpipe.chunks c ORDER BY c.embedding <=> q.v::$cast LIMIT 10) x;
		SELECT format('exact scan: %s ms/query', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 10, 1));
	SQL
	for ef in 40 64 100 200 400; do
		psql -X -q -A -t -d "$db" <<-SQL
			SET max_parallel_workers_per_gather = 0;
			SET hnsw.iterative_scan = relaxed_order;
			SET hnsw.ef_search = $ef;
			SELECT clock_timestamp() AS t0 \gset
			CREATE TEMP TABLE ap AS SELECT q.id, x.document_id, x.seq FROM bq q, LATERAL (SELECT document_id, seq
			  FROM docpipe.chunks c ORDER BY c.embedding <=> q.v::$cast LIMIT 10) x;
			SELECT format('ef_search %s: %s ms/query, recall@10 %s%%', $ef,
			  round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 10, 2),
			  (SELECT count(*) FROM ap JOIN ex USING (id, document_id, seq)) / 10.0);
		SQL
	done
}

for c in $cases; do
	case $c in
	vector)
		fresh bv; store bv "$data" "$n" "vector, HNSW (default, bulk)" ;;
	halfvec)
		fresh bh; store bh "$data" "$n" "halfvec column, HNSW (bulk)" --vector-type halfvec ;;
	fast)
		fresh bf; store bf "$data" "$n" "halfvec, ef_construction 32 (bulk)" --vector-type halfvec --hnsw-ef-construction 32 ;;
	real)
		fresh br; store br "$data" "$n" "real[] (no index)" --vector-type real ;;
	never)
		head -1000 "$data" >"$tmp/10k"
		fresh bn; store bn "$tmp/10k" 10000 "vector, index kept (--bulk-load never)" --bulk-load never
		fresh bb; store bb "$tmp/10k" 10000 "vector, bulk (drop, build at end)" ;;
	incremental)
		store bv "$out/changed2.ndjson" 1000 "incremental: 1,000 changed into indexed" 
		store bv "$out/changed3.ndjson" 1000 "same, --bulk-load always (rebuild)" --bulk-load always ;;
	recall)
		echo "# vector(384), HNSW on embedding:"; recall bv "vector(384)"
		echo "# halfvec(384) column, HNSW on embedding:"; recall bh "halfvec(384)"
		echo "# halfvec(384) column, HNSW ef_construction 32:"; recall bf "halfvec(384)" ;;
	esac
done
