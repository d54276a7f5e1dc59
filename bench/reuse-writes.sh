#!/bin/bash
# What the result cache's writes cost (docs/reuse.md): docpipe-summarize
# --chunk-summaries --threads 16 and docpipe-embed --threads 4 over the Rust
# book (../shared/corpora) against the test server (bench/api-common.sh's
# latency profile, 16 slots), the cache on, emptied before each run, in a
# throwaway cluster; binaries of two builds alternated.  Per run: wall, the
# database's committed transactions, WAL bytes, CPU seconds of the
# stage and of the cluster's processes (the postmaster's and its
# children's: a backend's once its connection closed).
#
#   bench/reuse-writes.sh OLD_BIN NEW_BIN   (RUNS=N rounds, default 3;
#       FSYNC=on: the cluster with fsync, as a real server, default off)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 OLD_BIN NEW_BIN" >&2; exit 2; }
unset OPENAI_API_KEY DATABASE_URL PGDATABASE
. bench/api-common.sh
bench_workdir reuse-writes
real=${CORPORA:-/work/shared/corpora}/rust-book
bin/docpipe-discover "$real" | bin/docpipe-chunk >"$out/docs.ndjson"
PG_OPTS="-c fsync=${FSYNC:-off}" tests/lib/pg.sh start "$out/pg" >"$out/pg.env"
eval "$(cat "$out/pg.env")"
export PGHOST PGPORT PGUSER PGDATABASE=postgres
serve 16
q() { psql -X -q -A -t -c "$1"; }
stat() { q "SELECT xact_commit || ' ' || pg_current_wal_lsn() FROM pg_stat_database WHERE datname = 'postgres'"; }
pgcpu() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$(head -1 "$out/pg/data/postmaster.pid")/stat"; }
one() { # one LABEL BIN STAGE ARGS...
	local label=$1 bin=$2 stage=$3 a b c0 c1 start end
	shift 3
	q "TRUNCATE docpipe.summary_cache, docpipe.embedding_cache" 2>/dev/null || true
	reset
	q "SELECT pg_stat_force_next_flush()" >/dev/null 2>&1 || sleep 0.6
	a=$(stat) c0=$(pgcpu)
	start=$(date +%s.%N)
	/usr/bin/time -f '%U %S' -o "$out/cpu" "$bin/docpipe-$stage" --backend openai "$@" <"$out/docs.ndjson" >/dev/null 2>"$out/err"
	end=$(date +%s.%N)
	sleep 0.6 # the statistics are flushed at most every 0.5 s
	b=$(stat) c1=$(pgcpu)
	echo "$label $stage wall $(calc "$end - $start") s, transactions $(( ${b%% *} - ${a%% *} - 1 )), WAL $(q "SELECT pg_wal_lsn_diff('${b#* }', '${a#* }')::bigint / 1024") KiB," \
		"CPU stage $(calc "$(sed 's/ / + /' "$out/cpu")") s, database $(calc "($c1 - $c0) / $(getconf CLK_TCK)") s"
}
one warm-up "$2" summarize --chunk-summaries --threads 16 >/dev/null # makes the tables
for _ in $(seq "${RUNS:-3}"); do
	for v in old new; do
		b=$1
		[ $v = new ] && b=$2
		one $v "$b" summarize --chunk-summaries --threads 16
		one $v "$b" embed --threads 4
	done
done
