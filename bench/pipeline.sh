#!/bin/bash
# Whole local pipeline over pipes: discover | chunk | summarize | embed |
# store into a throwaway PostgreSQL, on a seeded generated corpus.
# Prints docs/s, MB/s and each stage's peak RSS.
#
#   bench/pipeline.sh [FILES] [SEED]      (default 2000 files, seed 1)
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
files=${1:-2000}
seed=${2:-1}
out=$(mktemp -d /tmp/docpipe-bench.XXXXXX)
chmod 755 "$out"
trap 'tests/lib/pg.sh stop "$out/pg"; rm -rf "$out"' EXIT

bench/gen-corpus --seed "$seed" --files "$files" --out "$out/corpus" >/dev/null
bytes=$(du -sb "$out/corpus" | cut -f1)
eval "$(tests/lib/pg.sh start "$out/pg")"
export PGHOST PGPORT PGUSER
createdb bench
export PGDATABASE=bench
export DATABASE_URL="postgresql:///bench?host=$PGHOST&port=$PGPORT&user=$PGUSER"

t() { /usr/bin/time -f "%M" -o "$out/rss.$1" "$TOP/bin/docpipe-$1" "${@:2}"; }
start=$(date +%s.%N)
t discover "$out/corpus" | t chunk | t summarize | t embed | t store >"$out/receipts"
end=$(date +%s.%N)

calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
secs=$(calc "$end - $start")
stored=$(grep -c '"stored"' "$out/receipts" || true)
chunks=$(psql -X -A -t -c 'SELECT count(*) FROM docpipe.chunks')
printf 'files %d (%.1f MB), stored %d, chunks %d\n' "$files" "$(calc "$bytes/1000000")" "$stored" "$chunks"
printf 'wall %.2f s: %.0f docs/s, %.1f MB/s, %.0f chunks/s\n' "$secs" \
	"$(calc "$files/$secs")" "$(calc "$bytes/1000000/$secs")" "$(calc "$chunks/$secs")"
for s in discover chunk summarize embed store; do
	printf 'peak RSS %-10s %6.1f MB\n' "$s" "$(calc "$(cat "$out/rss.$s")/1024")"
done
