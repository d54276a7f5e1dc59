#!/bin/bash
# Builds the chunker's libFuzzer target with clang (ASan+UBSan) and runs it.
#
# Usage: tests/fuzz/run-fuzz.sh [SECONDS]   (default 60)
# The corpus is kept in build/fuzz/corpus-chunk (seeded from generated
# Markdown); crashes are written to build/fuzz/ as crash-*.
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=build/fuzz
mkdir -p "$out/corpus-chunk"
clang -g -O1 -std=c11 -D_GNU_SOURCE -Isrc/lib \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-o "$out/fuzz_chunk" tests/fuzz/fuzz_chunk.c \
	src/chunk/chunker.c src/chunk/chunk_stage.c \
	src/lib/text.c src/lib/hash.c src/lib/record.c src/lib/err.c \
	-lmd4c -lxxhash -ljq -lm
if [ -z "$(ls -A "$out/corpus-chunk")" ]; then
	bench/gen-corpus --seed 7 --files 40 --size 1500 --out "$out/seed" 2>/dev/null
	i=0
	for f in "$out"/seed/*/*.md; do
		# First byte: the options (see fuzz_chunk.c).
		{ printf "\\$(printf '%03o' $((i * 37 % 256)))"; cat "$f"; } >"$out/corpus-chunk/seed$i"
		i=$((i + 1))
	done
	rm -rf "$out/seed"
fi
exec "$out/fuzz_chunk" -max_total_time="$secs" -max_len=16384 -timeout=10 \
	-artifact_prefix="$out/" "$out/corpus-chunk"
