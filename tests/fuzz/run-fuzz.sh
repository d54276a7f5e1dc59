#!/bin/bash
# Builds a libFuzzer target with clang (ASan+UBSan) and runs it.
#
# Usage: tests/fuzz/run-fuzz.sh [TARGET] [SECONDS]
#   TARGET: chunk (the Markdown/text chunker, default), record (the line
#   reader, record parser and vector decoder every stage runs on its input),
#   html (the HTML converter with chunking and provenance) or zip (the ZIP
#   reader with DOCX, ODT and EPUB) or http (the API client's header values:
#   durations, Retry-After, the pacing from them) or lexer (the full-text
#   lexer whose tsvectors the store sends).
# The corpus is kept in build/fuzz/corpus-TARGET; crashes are written to
# build/fuzz/ as crash-*.
set -eu
cd "$(dirname "$0")/../.."
target=chunk
case ${1:-} in chunk | record | html | zip | http | lexer) target=$1; shift ;; esac
secs=${1:-60}
out=build/fuzz
corpus=$out/corpus-$target
mkdir -p "$corpus"
cc_fuzz() { clang -g -O1 -std=c11 -D_GNU_SOURCE -Isrc/lib \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all "$@" -lxxhash -ljq -lm; }
# The chunk stage's logic with everything it links (src/chunk minus main.c:
# the stage reaches the converters), compiled once into an archive that the
# chunk, html and zip targets share; rebuilt when a source is newer.
cc_chunk() {
	local pkgs="libxml-2.0 poppler-glib libzip libmagic md4c" lib=$out/libchunk-fuzz.a
	local srcs="$(ls src/chunk/*.c | grep -v main.c) src/lib/text.c src/lib/hash.c src/lib/record.c src/lib/jscan.c src/lib/json.c src/lib/buf.c src/lib/clock.c src/lib/err.c src/lib/path.c"
	# shellcheck disable=SC2086
	if [ ! -f "$lib" ] || [ -n "$(find src/chunk src/lib tests/fuzz/run-fuzz.sh -newer "$lib" -name '*.[ch]' -o -newer "$lib" -name run-fuzz.sh)" ]; then
		rm -rf "$out/obj" && mkdir -p "$out/obj"
		# One compiler per core: make check builds this archive from
		# scratch, and one after another it took a minute.
		# shellcheck disable=SC2016,SC2086 # the inner script's own $0-$2; the flags split
		printf '%s\n' $srcs | xargs -P "$(nproc)" -n 1 sh -c 'clang -c -g -O1 -std=c11 -D_GNU_SOURCE -Isrc/lib $0 \
			-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -o "$1/$(basename "$2" .c).o" "$2"' \
			"$(pkg-config --cflags $pkgs)" "$out/obj"
		rm -f "$lib" && ar rcs "$lib" "$out"/obj/*.o
	fi
	# shellcheck disable=SC2046
	cc_fuzz $(pkg-config --cflags $pkgs) -o "$out/fuzz_$target" "tests/fuzz/fuzz_$target.c" \
		"$lib" $(pkg-config --libs $pkgs)
}
case $target in
chunk)
	cc_chunk
	if [ -z "$(ls -A "$corpus")" ]; then
		bench/gen-corpus --seed 7 --files 40 --size 1500 --out "$out/seed" 2>/dev/null
		i=0
		for f in "$out"/seed/*/*.md; do
			# First two bytes: the options (see fuzz_chunk.c).
			{ printf "\\$(printf '%03o' $((i * 37 % 256)))\\$(printf '%03o' $((i * 11 % 256)))"; cat "$f"; } >"$corpus/seed$i"
			i=$((i + 1))
		done
		rm -rf "$out/seed"
		# Markdown from the wild (front matter, MDX, shortcodes) when the
		# shared corpora are next to the repository.
		i=0
		for f in $(find ../shared/corpora ../../shared/corpora -name '*.md' -size -12k 2>/dev/null | sort | awk 'NR % 40 == 1'); do
			{ printf "\\$(printf '%03o' $((i * 53 % 128)))\\$(printf '%03o' $((i * 7 % 256)))"; cat "$f"; } >"$corpus/wild$i"
			i=$((i + 1))
		done
	fi
	;;
html | zip)
	cc_chunk
	if [ -z "$(ls -A "$corpus")" ]; then
		i=0
		for f in tests/data/formats/*.html tests/data/formats/*.docx tests/data/formats/*.odt \
			tests/data/formats/*.epub; do
			case $target:$f in html:*.html) ;; zip:*.docx) k=0 ;; zip:*.odt) k=1 ;; zip:*.epub) k=2 ;; *) continue ;; esac
			# First byte: the options or the format (see fuzz_$target.c).
			{ printf "\\$(printf '%03o' "${k:-$((i * 37 % 256))}")"; cat "$f"; } >"$corpus/seed$i"
			i=$((i + 1))
		done
	fi
	;;
record)
	cc_fuzz -o "$out/fuzz_record" tests/fuzz/fuzz_record.c \
		src/lib/lines.c src/lib/buf.c src/lib/record.c src/lib/jscan.c src/lib/vec.c src/lib/text.c src/lib/err.c
	if [ -z "$(ls -A "$corpus")" ]; then
		cp docs/protocol.md "$corpus/seed-doc"
		printf '{"v":1,"kind":"document","path":"/a","chunks":[{"seq":0,"text":"x","vec":"AACAPwAAAEA="}]}\n{"kind":"file"}\n[1]\n' >"$corpus/seed-rec"
	fi
	;;
http)
	# http.c reaches the stats channel (ZeroMQ) and the rest of the
	# library: link all of it.
	# shellcheck disable=SC2046
	cc_fuzz $(pkg-config --cflags libpq) -o "$out/fuzz_http" tests/fuzz/fuzz_http.c src/lib/*.c \
		-lcurl -lzmq -lpq -lcrypto -lstemmer
	if [ -z "$(ls -A "$corpus")" ]; then
		for v in 1s 6m0s 20ms 1.5s 1h2m3.5s 120 "Wed, 21 Oct 2015 07:28:00 GMT"; do
			printf '%s' "$v" >"$corpus/seed-$(printf '%s' "$v" | md5sum | cut -c1-8)"
		done
	fi
	;;
lexer)
	cc_fuzz -o "$out/fuzz_lexer" tests/fuzz/fuzz_lexer.c src/lib/lexer.c src/lib/buf.c src/lib/err.c \
		-lstemmer
	if [ -z "$(ls -A "$corpus")" ]; then
		i=0
		for f in $(find ../shared/corpora ../../shared/corpora -name '*.md' -size -12k 2>/dev/null | sort | awk 'NR % 60 == 1'); do
			# First byte: the configuration and the parts (see fuzz_lexer.c).
			{ printf "\\$(printf '%03o' $((i * 37 % 256)))"; cat "$f"; } >"$corpus/wild$i"
			i=$((i + 1))
		done
		printf '\001ΑΘΗΝΑ Привет café state-of-the-art don'"'"'t \377x' >"$corpus/seed-unicode"
	fi
	;;
esac
# jq 1.6's parser leaks a few bytes on some malformed input (a string
# followed by a string, say); that is libjq's, and every jv allocation
# goes through libjq, so it cannot be suppressed selectively.  The record
# target therefore checks crashes and UB, not leaks; the ASan test suite
# checks our own leaks.
leaks=1
[ "$target" = record ] && leaks=0 && export ASAN_OPTIONS=detect_leaks=0
maxlen=16384
[ "$target" = zip ] && maxlen=65536 # the seed containers are 10-13 KB
exec "$out/fuzz_$target" -detect_leaks=$leaks -max_total_time="$secs" -max_len=$maxlen -timeout=10 \
	-artifact_prefix="$out/" "$corpus"
