#!/bin/bash
# pgvector benchmark (issue 10, docs/PERFORMANCE.md "pgvector"): chunks/s
# of docpipe-store into a fresh database, index build included, on the
# private PostgreSQL with pgvector of tests/lib/pgvector.sh; incremental
# runs into the indexed table; recall@10 and latency of top-10 against the
# exact scan (HNSW: several hnsw.ef_search; IVFFlat: several ivfflat.probes).
#   bench/pgvector.sh [CHUNKS [CASES]]
# CHUNKS (default 100000) in documents of 10 chunks, dim 384, vectors near
# one of 100 centres (bench/store-gen.py --clusters).  CASES (default all
# but the real-* ones), each runnable alone (a case loads the table it
# needs first when this run has not):
#   vector       HNSW default, bulk (COPY, then one build)
#   ivfflat      --vector-index ivfflat, bulk
#   halfvec fast halfvec column; halfvec with ef_construction 32
#   real         real[] (no index)
#   never        10k chunks with the index kept during the load, against bulk
#   incremental  1,000 changed chunks into the indexed HNSW table: one store,
#                then two stores on halves of the input at once; and a
#                --bulk-load always rebuild
#   incremental-ivfflat  the same 1,000 into the IVFFlat table
#   recall       recall@10 + latency on the vector and ivfflat tables
#                (recall-hnsw, recall-ivfflat: one of them)
#   tsv          what the full-text column costs the load (issue 11's): its
#                expression recomputed over the real-text table, and a GIN
#                build over it, timed in psql
#   real-hnsw real-ivfflat real-recall (real-recall-hnsw real-recall-ivfflat)
#                the same on ~100k chunks of real
#                text (35 near-copies of the two corpora in
#                /work/shared/corpora, local embedder: made here with this
#                worktree's bin/) and 100 embedded questions
set -eu
cd "$(dirname "$0")/.."
n=${1:-100000} cases=${2:-vector ivfflat halfvec fast real never incremental incremental-ivfflat recall}
docs=$((n / 10))
out=bench/out/pgvector
mkdir -p "$out"
gen() { python3 bench/store-gen.py --chunks 10 --dim 384 --clusters 100 "$@"; }
data=$out/docs-$n.ndjson
[ -s "$data" ] || gen --docs "$docs" >"$data"
# 100 documents (1,000 chunks) of the corpus in a new version, three times.
[ -s "$out/changed2.ndjson" ] || gen --docs 100 --version 2 --seed 2 >"$out/changed2.ndjson"
[ -s "$out/changed3.ndjson" ] || gen --docs 100 --start 100 --version 3 --seed 3 >"$out/changed3.ndjson"
[ -s "$out/changed4.ndjson" ] || gen --docs 100 --start 200 --version 4 --seed 5 >"$out/changed4.ndjson"
[ -s "$out/queries.txt" ] || gen --queries 100 --seed 4 >"$out/queries.txt"
# The real-text corpus and its questions (made once, with this worktree's bin/).
if [ ! -s "$out/real-near.ndjson" ] && [ "${cases#*real-}" != "$cases" ]; then
	bin/docpipe-discover /work/shared/corpora/rust-book /work/shared/corpora/hugo-docs | bin/docpipe-chunk |
		python3 bench/store-gen.py --near-copies 35 | bin/docpipe-embed -j 2 >"$out/real-near.ndjson"
	python3 - bench/search/questions-corpora.jsonl /work/shared/eval/chunking/questions.jsonl <<-'PY' |
		import json, sys
		qs = [json.loads(l)["question"] for l in open(sys.argv[1])]
		qs += [json.loads(l)["question"] for l in open(sys.argv[2])][:100 - len(qs)]
		for i, q in enumerate(qs):
		    print(json.dumps({"v": 1, "kind": "document", "path": "/q/%d" % i, "chunks": [{"seq": 0, "text": q}]}))
	PY
		bin/docpipe-embed | python3 -c '
import base64, json, struct, sys
for l in sys.stdin:
    raw = base64.b64decode(json.loads(l)["chunks"][0]["vec"])
    print("[" + ",".join("%.9g" % x for x in struct.unpack("<%df" % (len(raw) // 4), raw)) + "]")' >"$out/real-queries.txt"
fi

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
# setting DB KEY: a docpipe.settings value.
setting() { psql -X -A -t -d "$1" -c "SELECT value FROM docpipe.settings WHERE key = '$2'"; }
# has DB: whether this run loaded DB already.
has() { [ -n "$(psql -X -A -t -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$1'")" ]; }

# two DB INPUT LABEL: two stores at once on the halves of INPUT (store
# replicas), timed together.
two() {
	local db=$1 input=$2 label=$3 lines start end c0 c1 half
	lines=$(wc -l <"$input") half=$(((lines + 1) / 2))
	head -n "$half" "$input" >"$tmp/a"; tail -n +"$((half + 1))" "$input" >"$tmp/b"
	c0=$(server_cpu)
	start=$(date +%s.%N)
	for p in a b; do
		DATABASE_URL="postgresql:///$db?host=$PGHOST&port=$PGPORT&user=$PGUSER" \
			"$tmp/docpipe-store" -q <"$tmp/$p" >/dev/null 2>>"$out/$db.err" &
	done
	wait
	end=$(date +%s.%N)
	sleep 0.5
	c1=$(server_cpu)
	python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); print('%-42s %6d chunks %7.2f s wall %6.0f/s | CPU server %6.1f s' % (sys.argv[4], int(sys.argv[3]), s, int(sys.argv[3])/s, float(sys.argv[6])-float(sys.argv[5])))" \
		"$start" "$end" 1000 "$label" "$c0" "$c1"
}

# recall DB QUERIES KNOB VALUES...: recall@10 and mean server time of one
# top-10 per knob value (hnsw.ef_search or ivfflat.probes), against the
# exact scan.  A result counts when its distance reaches the exact 10th
# (near-copies make ties).
recall() {
	local db=$1 queries=$2 knob=$3 v
	shift 3
	psql -X -q -d "$db" -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bq, ex" -c "CREATE TABLE bq (id serial, v vector(384))" \
		-c "\\copy bq (v) FROM '$queries'"
	psql -X -q -A -t -d "$db" <<-SQL
		SET max_parallel_workers_per_gather = 0;
		SET enable_indexscan = off;
		SELECT clock_timestamp() AS t0 \gset
		CREATE TABLE ex AS SELECT q.id, max(x.d) AS d10 FROM bq q, LATERAL (SELECT c.embedding <=> q.v AS d
		  FROM docpipe.chunks c WHERE c.embedding IS NOT NULL ORDER BY 1 LIMIT 10) x GROUP BY q.id;
		SELECT format('exact scan: %s ms/query', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 10, 1));
	SQL
	for v in "$@"; do
		psql -X -q -A -t -d "$db" <<-SQL
			SET max_parallel_workers_per_gather = 0;
			SET hnsw.iterative_scan = relaxed_order;
			SET ivfflat.iterative_scan = relaxed_order;
			SET $knob = $v;
			SELECT clock_timestamp() AS t0 \gset
			CREATE TEMP TABLE ap AS SELECT q.id, x.d FROM bq q, LATERAL (SELECT c.embedding <=> q.v AS d
			  FROM docpipe.chunks c WHERE c.embedding IS NOT NULL ORDER BY c.embedding <=> q.v LIMIT 10) x;
			SELECT format('$knob %s: %s ms/query, recall@10 %s%%', $v,
			  round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 10, 2),
			  round((SELECT count(*) FROM ap JOIN ex USING (id) WHERE ap.d <= ex.d10 + 1e-6)
			        / (SELECT count(*) FROM ap)::numeric * 100, 1));
		SQL
	done
}

real=$out/real-near.ndjson
# chunks FILE: the chunks of the document records in FILE.
chunks() { python3 -c 'import json, sys; print(sum(len(json.loads(l).get("chunks") or []) for l in open(sys.argv[1])))' "$1"; }
run_cases() {
local c
for c in "$@"; do
	case $c in
	vector)
		fresh bv; store bv "$data" "$n" "vector, HNSW (default, bulk)" ;;
	ivfflat)
		fresh bi; store bi "$data" "$n" "vector, IVFFlat (bulk)" --vector-index ivfflat ;;
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
		has bv || { fresh bv; store bv "$data" "$n" "vector, HNSW (default, bulk)"; }
		store bv "$out/changed2.ndjson" 1000 "incremental: 1,000 changed into HNSW"
		two bv "$out/changed3.ndjson" "same, 2 stores on halves at once"
		store bv "$out/changed4.ndjson" 1000 "same, --bulk-load always (rebuild)" --bulk-load always ;;
	incremental-ivfflat)
		has bi || { fresh bi; store bi "$data" "$n" "vector, IVFFlat (bulk)" --vector-index ivfflat; }
		store bi "$out/changed2.ndjson" 1000 "incremental: 1,000 changed into IVFFlat"
		store bi "$out/changed3.ndjson" 1000 "same, second run" ;;
	recall) run_cases recall-hnsw recall-ivfflat ;;
	recall-hnsw)
		has bv || { fresh bv; store bv "$data" "$n" "vector, HNSW (default, bulk)"; }
		echo "# HNSW (default):"; recall bv "$out/queries.txt" hnsw.ef_search 40 100 200 400 1000 ;;
	recall-ivfflat)
		has bi || { fresh bi; store bi "$data" "$n" "vector, IVFFlat (bulk)" --vector-index ivfflat; }
		echo "# IVFFlat ($(setting bi ivfflat_lists) lists, the store's probes $(setting bi ivfflat_probes)):"
		recall bi "$out/queries.txt" ivfflat.probes 1 3 5 10 "$(setting bi ivfflat_probes)" 30 ;;
	real-hnsw)
		fresh rh; store rh "$real" "$(chunks "$real")" "real text, HNSW (default, bulk)" ;;
	real-ivfflat)
		fresh ri; store ri "$real" "$(chunks "$real")" "real text, IVFFlat (bulk)" --vector-index ivfflat ;;
	real-recall) run_cases real-recall-hnsw real-recall-ivfflat ;;
	real-recall-hnsw)
		has rh || { fresh rh; store rh "$real" "$(chunks "$real")" "real text, HNSW (default, bulk)"; }
		echo "# real text, HNSW (default):"; recall rh "$out/real-queries.txt" hnsw.ef_search 40 100 200 400 1000 ;;
	real-recall-ivfflat)
		has ri || { fresh ri; store ri "$real" "$(chunks "$real")" "real text, IVFFlat (bulk)" --vector-index ivfflat; }
		echo "# real text, IVFFlat ($(setting ri ivfflat_lists) lists, the store's probes $(setting ri ivfflat_probes)):"
		recall ri "$out/real-queries.txt" ivfflat.probes 5 10 20 "$(setting ri ivfflat_probes)" 30 40 ;;
	tsv)
		has ri || { fresh ri; store ri "$real" "$(chunks "$real")" "real text, IVFFlat (bulk)" --vector-index ivfflat; }
		expr=$(psql -X -A -t -d ri -c "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a
			ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = 'docpipe.chunks'::regclass AND a.attname = 'tsv'")
		psql -X -q -A -t -d ri <<-SQL
			SET max_parallel_workers_per_gather = 0;
			SELECT clock_timestamp() AS t0 \gset
			SELECT count(*) FROM docpipe.chunks WHERE length(content) >= 0;
			SELECT format('reading the %s chunks: %s s', (SELECT count(*) FROM docpipe.chunks), round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2));
			SELECT clock_timestamp() AS t0 \gset
			SELECT count(*) FROM (SELECT $expr AS t FROM docpipe.chunks) x WHERE t IS NOT NULL \g /dev/null
			SELECT format('tsvector expression: %s s', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2));
			SET maintenance_work_mem = '256MB';
			SELECT clock_timestamp() AS t0 \gset
			CREATE INDEX bench_gin ON docpipe.chunks USING gin (tsv);
			SELECT format('GIN build over it: %s s', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2));
			DROP INDEX docpipe.bench_gin;
		SQL
		;;
	*) echo "unknown case $c" >&2; exit 2 ;;
	esac
done
}
# shellcheck disable=SC2086 # a list of case names
run_cases $cases
