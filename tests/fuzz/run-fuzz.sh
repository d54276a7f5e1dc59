#!/bin/bash
# Builds a libFuzzer target with clang (ASan+UBSan) and runs it.
#
# Usage: tests/fuzz/run-fuzz.sh [TARGET] [SECONDS]
#   TARGET: chunk (the Markdown/text chunker, default), record (the line
#   reader, record parser and vector decoder every stage runs on its input),
#   html (the HTML converter with chunking and provenance) or zip (the ZIP
#   reader with DOCX, ODT and EPUB) or http (the API client's header values:
#   durations, Retry-After, the pacing from them) or lexer (the full-text
#   lexer whose tsvectors the store sends) or ipynb (the Jupyter notebook
#   converter with chunking and provenance) or join (the hub's splice of
#   the summarize and embed branches' outputs of a document) or answer (a
#   model API's answer: jq's parse, the lone surrogates' rewrite).
# The corpus is kept in build/fuzz/corpus-TARGET; crashes are written to
# build/fuzz/ as crash-*.
set -eu
cd "$(dirname "$0")/../.."
target=chunk
case ${1:-} in chunk | record | html | zip | http | lexer | ipynb | join | answer | store) target=$1; shift ;; esac
secs=${1:-60}
out=build/fuzz
corpus=$out/corpus-$target
mkdir -p "$corpus"
cc_fuzz() { clang -g -O1 -std=c11 -D_GNU_SOURCE -Isrc/lib \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all "$@" -lxxhash -ljq -lm -ldl; }
# archive NAME PKGS SOURCES...: compiles SOURCES (for libFuzzer, ASan and
# UBSan; one compiler per core; with $defs, more -D flags) into $out/libNAME-fuzz.a, unless it is
# newer than every source of src/lib, src/chunk and this script.  Under a
# lock: make check's fuzz_smoke builds two targets at a time.
archive() {
	local name=$1 pkgs=$2 lib=$out/lib$1-fuzz.a lock
	shift 2
	exec {lock}>"$out/.lock-$name"
	flock "$lock"
	# shellcheck disable=SC2086
	if [ ! -f "$lib" ] || [ -n "$(find src/chunk src/lib tests/fuzz/run-fuzz.sh -newer "$lib" -name '*.[ch]' -o -newer "$lib" -name run-fuzz.sh)" ]; then
		rm -rf "$out/obj-$name" && mkdir -p "$out/obj-$name"
		# shellcheck disable=SC2016,SC2086 # the inner script's own $0-$2; the flags split
		printf '%s\n' "$@" | xargs -P "$(nproc)" -n 1 sh -c 'clang -c -g -O1 -std=c11 -D_GNU_SOURCE -Isrc/lib $0 \
			-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -o "$1/$(basename "$2" .c).o" "$2"' \
			"$(pkg-config --cflags $pkgs) ${defs:-}" "$out/obj-$name"
		rm -f "$lib" && ar rcs "$lib" "$out/obj-$name"/*.o
	fi
	exec {lock}>&-
}
# src/lib, compiled once for every target: each compiled the files it
# links itself (all of them for http, one after another), 53 compiles
# where 34 do.
cc_lib() { archive docpipe libpq src/lib/*.c; }
# The chunk stage's logic with everything it links (src/chunk minus
# main.c: the stage reaches the converters), shared by the chunk, html and
# zip targets.
# poppler-glib is compiled against, not linked: src/chunk/poppler_dl.c
# opens it by the SONAME the Makefile reads (make poppler-soname; or
# POPPLER_SONAME, which fuzz_smoke reads once for its four chunk targets:
# the make reads every .d file under build/, 0.3 s of CPU a call).
CHUNK_PKGS="libxml-2.0 libzip libmagic md4c"
cc_chunk() {
	cc_lib
	# shellcheck disable=SC2046
	defs="-DCHUNK_POPPLER_SONAME=\"${POPPLER_SONAME:-$(make -s --no-print-directory poppler-soname)}\"" \
		archive chunk "$CHUNK_PKGS poppler-glib" $(ls src/chunk/*.c | grep -v main.c)
	# shellcheck disable=SC2046,SC2086
	cc_fuzz $(pkg-config --cflags $CHUNK_PKGS poppler-glib) -o "$out/fuzz_$target" "tests/fuzz/fuzz_$target.c" \
		"$out/libchunk-fuzz.a" "$out/libdocpipe-fuzz.a" $(pkg-config --libs $CHUNK_PKGS)
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
html | zip | ipynb)
	cc_chunk
	if [ -z "$(ls -A "$corpus")" ]; then
		i=0
		for f in tests/data/formats/*.ipynb tests/data/formats/*.html tests/data/formats/*.docx tests/data/formats/*.odt \
			tests/data/formats/*.epub; do
			case $target:$f in html:*.html | ipynb:*.ipynb) ;; zip:*.docx) k=0 ;; zip:*.odt) k=1 ;; zip:*.epub) k=2 ;; *) continue ;; esac
			# First byte: the options or the format (see fuzz_$target.c).
			{ printf "\\$(printf '%03o' "${k:-$((i * 37 % 256))}")"; cat "$f"; } >"$corpus/seed$i"
			i=$((i + 1))
		done
	fi
	;;
record)
	cc_lib
	cc_fuzz -o "$out/fuzz_record" tests/fuzz/fuzz_record.c "$out/libdocpipe-fuzz.a"
	if [ -z "$(ls -A "$corpus")" ]; then
		# The protocol's example records (some cut short there), not the
		# whole document: its ~220 lines of prose each took jq's error path
		# three times an input (two messages formatted a parse, a 1 KiB
		# buffer each), 70-120 inputs in 5 s under ASan; the prose is no
		# record a stage reads.
		grep '^{' docs/protocol.md >"$corpus/seed-doc"
		printf '{"v":1,"kind":"document","path":"/a","chunks":[{"seq":0,"text":"x","vec":"AACAPwAAAEA="}]}\n{"kind":"file"}\n[1]\n' >"$corpus/seed-rec"
	fi
	;;
http)
	# http.c reaches the stats channel (ZeroMQ) and the rest of the
	# library.
	cc_lib
	cc_fuzz -o "$out/fuzz_http" tests/fuzz/fuzz_http.c "$out/libdocpipe-fuzz.a" -lcurl -lzmq -lpq -lcrypto -lstemmer
	if [ -z "$(ls -A "$corpus")" ]; then
		for v in 1s 6m0s 20ms 1.5s 1h2m3.5s 120 "Wed, 21 Oct 2015 07:28:00 GMT"; do
			printf '%s' "$v" >"$corpus/seed-$(printf '%s' "$v" | md5sum | cut -c1-8)"
		done
	fi
	;;
join)
	# join.c holds ZeroMQ messages (hub_join_take).
	cc_lib
	cc_fuzz -o "$out/fuzz_join" tests/fuzz/fuzz_join.c src/hub/join.c "$out/libdocpipe-fuzz.a" -lzmq
	if [ -z "$(ls -A "$corpus")" ]; then
		# A summarize output, a newline, the embed output of the same document.
		d='{"v":1,"kind":"document","path":"/a.md","hash":"h1","chunker":"md-v3","meta":{"title":"A"}'
		printf '%s,"summary":"S","chunks":[{"seq":0,"text":"x","summary":"s0"},{"seq":1,"text":"y"}]}\n%s,"model":"fh-v1","chunks":[{"seq":0,"text":"x","vec":"AACAPw=="},{"seq":1,"text":"y","vec":"AAAAQA=="}]}' \
			"$d" "$d" >"$corpus/seed-doc"
		printf '{"v":1,"kind":"document","hash":"h","chunks":[]}\n{"v":1,"kind":"document","hash":"h","chunks":[],"x":[1,{"a":"\\u00e9"}]}' >"$corpus/seed-empty"
		# A key both set, spelt with an escape in one.
		printf '{"v":1,"kind":"document","s\\u0065q":1,"chunks":[{"seq":0,"t\\u00e9":1}]}\n{"v":1,"kind":"document","seq":2,"chunks":[{"seq":0,"t\303\251":2}]}' >"$corpus/seed-escapes"
	fi
	;;
store)
	# doc.c alone of the store (no database); the library's stats reach
	# ZeroMQ.
	cc_lib
	cc_fuzz -o "$out/fuzz_store" tests/fuzz/fuzz_store.c src/store/doc.c "$out/libdocpipe-fuzz.a" -lzmq
	# The minimized corpus kept in the repository (run-fuzz.sh store N,
	# then -merge=1 into it): the records of tests/unit/test_store_text.c,
	# odd vectors, keys, nesting and truncations, and what the campaigns
	# added.
	[ -n "$(ls -A "$corpus")" ] || cp tests/fuzz/corpus-store/* "$corpus/"
	;;
answer)
	cc_lib
	cc_fuzz -o "$out/fuzz_answer" tests/fuzz/fuzz_answer.c "$out/libdocpipe-fuzz.a"
	if [ -z "$(ls -A "$corpus")" ]; then
		# Answers of chat and embeddings APIs, an emoji's pair, one cut in half.
		printf '{"choices":[{"message":{"role":"assistant","content":"A \\ud83d\\ude00 b"},"finish_reason":"stop"}],"usage":{"total_tokens":12}}' >"$corpus/seed-chat"
		printf '{"message":{"content":"cut \\ud83d"},"done":true,"done_reason":"stop"}' >"$corpus/seed-ollama"
		printf '{"data":[{"index":0,"embedding":[0.5,-1e-3]}],"model":"m"}' >"$corpus/seed-embed"
		printf '{"error":{"message":"bad \\\\ud800 \\udc00","type":"invalid_request_error"}}' >"$corpus/seed-error"
	fi
	;;
lexer)
	cc_lib
	cc_fuzz -o "$out/fuzz_lexer" tests/fuzz/fuzz_lexer.c "$out/libdocpipe-fuzz.a" -lstemmer
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
# goes through libjq, so it cannot be suppressed selectively.  The record,
# join (the hub parses a record jscan.c refuses with jq) and answer
# targets therefore check crashes and UB, not leaks; the ASan test suite
# checks our own leaks.
leaks=1
case $target in record | join | answer) leaks=0 && export ASAN_OPTIONS=detect_leaks=0 ;; esac
# The record target reads each input through a line reader of its own (a
# 64 KiB buffer, a pipe): under ASan's default quarantine (256 MB) every
# input's buffers were fresh pages, ~85% of its time in page faults and
# the allocator's fill (500-900 inputs in 5 s; 3,200-5,400 with 16 MB or
# none).  16 MB still holds the frees of the last ~200 inputs: a use after
# free within an input, the harness's whole scope, is caught as before.
[ "$target" = record ] && export ASAN_OPTIONS=$ASAN_OPTIONS:quarantine_size_mb=16
maxlen=16384
[ "$target" = zip ] && maxlen=65536 # the seed containers are 10-13 KB
if [ "$secs" = replay ]; then
	exec "$out/fuzz_$target" -detect_leaks=$leaks -runs=0 -timeout=10 -artifact_prefix="$out/" tests/fuzz/corpus-$target
fi
exec "$out/fuzz_$target" -detect_leaks=$leaks -max_total_time="$secs" -max_len=$maxlen -timeout=10 \
	-artifact_prefix="$out/" "$corpus"
