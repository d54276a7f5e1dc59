#!/bin/bash
# The real[] path of two docpipe-store binaries, alternately, into fresh
# databases of a plain PostgreSQL (no pgvector): wall time and CPU seconds
# of store and server, best of ROUNDS.  For "unchanged or faster" checks.
#   bench/store-ab.sh BASELINE_BIN [CHUNKS [ROUNDS]]   (default 50000, 3)
set -eu
cd "$(dirname "$0")/.."
base=$1 n=${2:-50000} rounds=${3:-3}
tmp=$(mktemp -d /tmp/docpipe-bench-ab.XXXXXX)
chmod 755 "$tmp"
cp "$base" "$tmp/A"
cp bin/docpipe-store "$tmp/B"
python3 bench/store-gen.py --docs $((n / 10)) --chunks 10 --dim 384 >"$tmp/docs.ndjson"
eval "$(tests/lib/pg.sh start "$tmp/pg")"
export PGHOST PGPORT PGUSER
trap 'tests/lib/pg.sh stop "$tmp/pg"; rm -rf "$tmp"' EXIT
echo "# $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ); A = $base, B = bin/docpipe-store"
server_cpu() {
	awk -v t="$(getconf CLK_TCK)" '{ print ($14 + $15 + $16 + $17) / t }' "/proc/$(head -1 "$tmp/pg/data/postmaster.pid")/stat"
}
for r in $(seq "$rounds"); do
	for bin in A B; do
		db=d$bin$r
		createdb "$db"
		c0=$(server_cpu) start=$(date +%s.%N)
		DATABASE_URL="postgresql:///$db?host=$PGHOST&port=$PGPORT&user=$PGUSER" \
			/usr/bin/time -f "%U %S" -o "$tmp/time" "$tmp/$bin" -q <"$tmp/docs.ndjson" >/dev/null
		end=$(date +%s.%N)
		sleep 0.5
		c1=$(server_cpu)
		python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); u,k=map(float,open(sys.argv[4]).read().split()); c=float(sys.argv[6])-float(sys.argv[5]); print('%s round %s: %6.0f chunks/s wall, CPU store %5.2f s, server %5.2f s' % (sys.argv[7], sys.argv[8], int(sys.argv[3])/s, u+k, c))" \
			"$start" "$end" "$n" "$tmp/time" "$c0" "$c1" "$bin" "$r"
	done
done
