#!/bin/bash
# Chunker throughput on one core: MB/s of Markdown input through
# docpipe-chunk, JSON parsing of the file records and dumping of the
# document records included.
#
# Usage: bench/chunk.sh [FILES] [SEED]   (defaults 2000 files, seed 1)
# Env:   DOCPIPE_BIN (default bin/), RUNS (default 3; the best run counts)
set -eu
cd "$(dirname "$0")/.."
files=${1:-2000}
seed=${2:-1}
runs=${RUNS:-3}
bin=${DOCPIPE_BIN:-$(pwd)/bin}
work=$(mktemp -d /tmp/docpipe-bench-chunk.XXXXXX)
trap 'rm -rf "$work"' EXIT

bench/gen-corpus --seed "$seed" --files "$files" --out "$work/corpus" 2>/dev/null
"$bin/docpipe-discover" "$work/corpus" >"$work/records"
bytes=$(jq -s 'map(.size) | add' "$work/records")
"$bin/docpipe-chunk" <"$work/records" >/dev/null # warm the page cache

best=
for _ in $(seq "$runs"); do
	start=$(date +%s.%N)
	taskset -c 0 "$bin/docpipe-chunk" <"$work/records" >/dev/null
	end=$(date +%s.%N)
	t=$(echo "$end - $start" | bc -l)
	if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
done
out=$("$bin/docpipe-chunk" <"$work/records" | wc -c)
printf 'files %d, input %.1f MB, output %.1f MB\n' "$files" "$(echo "$bytes / 1000000" | bc -l)" "$(echo "$out / 1000000" | bc -l)"
printf 'docpipe-chunk, 1 core (taskset -c 0), best of %d: %.3f s, %.1f MB/s of input\n' \
	"$runs" "$best" "$(echo "$bytes / $best / 1000000" | bc -l)"
