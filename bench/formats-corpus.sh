#!/bin/bash
# Formats beyond Markdown at corpus scale (issue 12, session 34): the real
# Markdown sets of ../shared/corpora (rust-book, hugo-docs) converted with
# pandoc as a user would feed them, then chunked and checked per format by
# bench/formats-check.py (docs/PERFORMANCE.md "Formats (issue 12)").
#
#   make OUT      OUT/md (the sources, copied), OUT/html (pandoc -s), OUT/docx,
#                 OUT/odt, OUT/epub (one per file), OUT/pdf (pandoc -t ms |
#                 groff -ms -Tpdf, offline, no TeX), OUT/books (whole-book EPUBs:
#                 the rust book in SUMMARY.md order, one per hugo-docs section,
#                 and the rust book as one PDF; OUT/rust-book.order: its chapters)
#   chunk OUT     OUT/chunks/FORMAT.ndjson with wall, CPU and peak RSS per format
#                 (OUT/chunks/FORMAT.time: wall s, user s, sys s, max RSS KB)
#
# Needs pandoc and groff (Debian: apt-get install pandoc groff). Env:
# DOCPIPE_BIN (default bin/), JOBS (pandoc processes at once, default 2),
# CORPORA (default ../shared/corpora).
set -eu
cd "$(dirname "$0")/.."
bin=${DOCPIPE_BIN:-$(pwd)/bin}
corpora=${CORPORA:-$(cd .. && pwd)/shared/corpora}
jobs=${JOBS:-2}
chunks=${CHUNKS:-chunks} # OUT/CHUNKS: where chunk writes (CHUNKS=chunks-before DOCPIPE_BIN=... for another build)
from=gfm+yaml_metadata_block

# one FILE OUT: every per-file format of one source (relative to OUT/md).
one() {
	local rel=$1 out=$2 src=$2/md/$1 base=${1%.md} t
	t=$(basename "$base")
	for f in html docx odt epub pdf; do mkdir -p "$(dirname "$out/$f/$base")"; done
	pandoc --quiet -f "$from" -s --metadata pagetitle="$t" -t html -o "$out/html/$base.html" "$src"
	pandoc --quiet -f "$from" -t docx -o "$out/docx/$base.docx" "$src"
	pandoc --quiet -f "$from" -t odt -o "$out/odt/$base.odt" "$src"
	pandoc --quiet -f "$from" --metadata title="$t" -t epub -o "$out/epub/$base.epub" "$src"
	pandoc --quiet -f "$from" -s -t ms "$src" | groff -ms -k -Tpdf 2>/dev/null >"$out/pdf/$base.pdf"
}
export -f one
export from

make_corpus() {
	local out=$1
	mkdir -p "$out/md" "$out/books"
	cp -r "$corpora/rust-book/src" "$out/md/rust-book"
	cp -r "$corpora/hugo-docs/content/en" "$out/md/hugo-docs"
	rm -f "$out/md/rust-book/SUMMARY.md"
	(cd "$out/md" && find . -name '*.md' | sed 's|^\./||' | sort) >"$out/files.txt"
	xargs -P "$jobs" -I{} bash -c 'one "$1" "$2"' _ {} "$out" <"$out/files.txt"
	# Whole books: many chapters in one file.
	local rb=$out/md/rust-book chapters
	grep -o '([^)]*\.md)' "$corpora/rust-book/src/SUMMARY.md" | tr -d '()' |
		while read -r c; do [ -f "$rb/$c" ] && echo "$c"; done >"$out/rust-book.order"
	chapters=$(sed "s|^|$rb/|" "$out/rust-book.order")
	# shellcheck disable=SC2086
	pandoc --quiet -f "$from" --metadata title="The Rust Programming Language" -t epub \
		-o "$out/books/rust-book.epub" $chapters
	# shellcheck disable=SC2086
	pandoc --quiet -f "$from" -s --metadata title="The Rust Programming Language" -t ms $chapters |
		groff -ms -k -Tpdf 2>/dev/null >"$out/books/rust-book.pdf"
	for d in "$out"/md/hugo-docs/*/; do
		s=$(basename "$d")
		# shellcheck disable=SC2046
		pandoc --quiet -f "$from" --metadata title="Hugo: $s" -t epub \
			-o "$out/books/hugo-$s.epub" $(find "$d" -name '*.md' | sort)
	done
}

chunk() {
	local out=$1 f ext
	mkdir -p "$out/$chunks"
	for f in ${FORMATS:-md html docx odt epub pdf books}; do
		find "$out/$f" -type f | sort | jq -R -c '{v:1,kind:"file",path:.}' >"$out/$chunks/$f.in"
		/usr/bin/time -f '%e %U %S %M' -o "$out/$chunks/$f.time" "$bin/docpipe-chunk" --max-size 100000000 \
			<"$out/$chunks/$f.in" >"$out/$chunks/$f.ndjson" 2>"$out/$chunks/$f.err" || true
		printf '%s: %s files, %s bytes: wall/user/sys/maxKB %s\n' "$f" "$(wc -l <"$out/$chunks/$f.in")" \
			"$(find "$out/$f" -type f -printf '%s\n' | awk '{s += $1} END {print s}')" \
			"$(cat "$out/$chunks/$f.time")"
	done
}

# search OUT QUESTIONS...: `docpipe run` (local backends) over OUT/FORMAT into a
# database each, then docpipe-query --json -k 20 for every question of the
# rust-book and hugo-docs sets, limited to its corpus; OUT/search/FORMAT.ndjson
# holds {q, path} of every answer, OUT/search/FORMAT.run the run's report and time.
search() {
	local out=$1 pg fmt i q corpus
	shift
	pg=$(mktemp -d /tmp/docpipe-bench-fsearch.XXXXXX)
	chmod 755 "$pg"
	eval "$(tests/lib/pg.sh start "$pg/pg")"
	export PGHOST PGPORT PGUSER
	trap "tests/lib/pg.sh stop '$pg/pg'; rm -rf '$pg'" EXIT
	mkdir -p "$out/search"
	jq -c 'select(.corpus == "rust-book" or .corpus == "hugo-docs")' "$@" >"$out/search/questions.jsonl"
	for fmt in ${FORMATS:-md html docx}; do
		createdb "f_$fmt"
		export DATABASE_URL="postgresql:///f_$fmt?host=$PGHOST&port=$PGPORT&user=$PGUSER"
		/usr/bin/time -f '%e s wall' -o "$out/search/$fmt.time" "$bin/docpipe" run "$out/$fmt" \
			--progress none >"$out/search/$fmt.run" 2>"$out/search/$fmt.err" || true
		i=0
		: >"$out/search/$fmt.ndjson"
		while read -r line; do
			q=$(jq -r .question <<<"$line")
			corpus=$(jq -r .corpus <<<"$line")
			"$bin/docpipe-query" --json -k 20 --path "*/$corpus/*" "$q" |
				jq -c --argjson i "$i" '{q: $i, path}' >>"$out/search/$fmt.ndjson"
			i=$((i + 1))
		done <"$out/search/questions.jsonl"
	done
}

case ${1:-} in
make) make_corpus "$2" ;;
chunk) chunk "$2" ;;
search) search "$2" "${@:3}" ;;
*) echo "usage: $0 make|chunk|search OUT [QUESTIONS...]" >&2; exit 2 ;;
esac
