#!/bin/bash
# Converter figures of issue 12 (docs/PERFORMANCE.md "Formats"):
#   html    MB/s of the PostgreSQL HTML manual through docpipe-chunk
#   pdf     pages/s of Debian-shipped PDFs, docpipe-chunk against pdftotext
#   rss     peak RSS of docpipe-chunk on a ~100 MB PDF made with qpdf
#   bomb    time to refuse a DOCX holding 1 GB of zeros
#   siblings  CPU time of one HTML page of 20k, 40k and 200k <p> siblings
#           at --max-tokens 50 (the chunks' XPaths were quadratic in them)
# CPU time (user+sys, best of RUNS) is reported besides wall time: the
# machine is shared, and CPU time is what one core spends.
#
# Usage: bench/formats.sh [html|pdf|rss|bomb|siblings]...   (default: all)
# Env:   DOCPIPE_BIN (default bin/), RUNS (default 3)
set -eu
cd "$(dirname "$0")/.."
bin=${DOCPIPE_BIN:-$(pwd)/bin}
runs=${RUNS:-3}
work=$(mktemp -d /tmp/docpipe-bench-formats.XXXXXX)
trap 'rm -rf "$work"' EXIT
PGHTML=/usr/share/doc/postgresql-doc-15/html

# best_cpu CMD...: runs CMD (stdin from $in) RUNS times on core 0, prints
# the best user+sys seconds.
best_cpu() {
	local best= t
	for _ in $(seq "$runs"); do
		/usr/bin/time -f '%U %S' -o "$work/time" taskset -c 0 "$@" <"${in:-/dev/null}" >/dev/null 2>&1 || true
		t=$(awk '{print $1 + $2}' "$work/time")
		if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
	done
	echo "$best"
}

html() {
	ls "$PGHTML"/*.html | jq -R -c '{v:1,kind:"file",path:.}' >"$work/html.in"
	bytes=$(cat "$PGHTML"/*.html | wc -c)
	in=$work/html.in
	t=$(best_cpu "$bin/docpipe-chunk")
	printf 'html: %d files, %.1f MB: %.2f s CPU, %.1f MB/s\n' "$(wc -l <"$work/html.in")" \
		"$(echo "$bytes / 1000000" | bc -l)" "$t" "$(echo "$bytes / $t / 1000000" | bc -l)"
}

pdf() {
	mkdir -p "$work/pdf"
	for f in /usr/share/doc/valgrind/valgrind_manual.pdf.gz /usr/share/doc/nettle-dev/nettle.pdf.gz \
		/usr/share/doc/bzip2/manual.pdf.gz /usr/share/doc/libtasn1-doc/libtasn1.pdf \
		/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf; do
		[ -f "$f" ] || continue
		b=$(basename "$f" .gz)
		case $f in *.gz) gzip -dc "$f" >"$work/pdf/$b" ;; *) cp "$f" "$work/pdf/$b" ;; esac
	done
	for f in "$work"/pdf/*.pdf; do
		pages=$(pdfinfo "$f" 2>/dev/null | awk '/^Pages:/ {print $2}')
		in=/dev/null
		tp=$(best_cpu pdftotext -q "$f" "$work/out.txt")
		printf '{"v":1,"kind":"file","path":"%s"}\n' "$f" >"$work/pdf.in"
		in=$work/pdf.in
		td=$(best_cpu "$bin/docpipe-chunk" --max-size 1000000000)
		printf 'pdf: %-28s %5d pages: pdftotext %.2f s (%.0f pages/s), docpipe-chunk %.2f s (%.0f pages/s), ratio %.2f\n' \
			"$(basename "$f")" "$pages" "$tp" "$(echo "$pages / $tp" | bc -l)" "$td" \
			"$(echo "$pages / $td" | bc -l)" "$(echo "$tp / $td" | bc -l)"
	done
}

rss() {
	zcat /usr/share/doc/valgrind/valgrind_manual.pdf.gz >"$work/v.pdf"
	# Distinct copies, so qpdf keeps their objects apart; uncompressed
	# streams bring 24 copies of the manual to ~100 MB.
	for i in $(seq 24); do cp "$work/v.pdf" "$work/v$i.pdf"; done
	qpdf --empty --pages $(seq -f "$work/v%g.pdf" 24) -- "$work/c.pdf" 2>/dev/null || true
	qpdf --stream-data=uncompress --object-streams=disable "$work/c.pdf" "$work/big.pdf" 2>/dev/null || true
	rm -f "$work"/v*.pdf "$work/c.pdf"
	printf '{"v":1,"kind":"file","path":"%s"}\n' "$work/big.pdf" >"$work/big.in"
	/usr/bin/time -f '%e %U %M' -o "$work/time" "$bin/docpipe-chunk" --max-size 1000000000 \
		<"$work/big.in" >"$work/big.out" 2>/dev/null || true
	read -r wall user kb < <(tail -n 1 "$work/time")
	printf 'rss: %.0f MB PDF, %s pages, %s chunks: peak RSS %.0f MB (%s s wall, %s s user)\n' \
		"$(echo "$(stat -c %s "$work/big.pdf") / 1000000" | bc -l)" "$(jq .meta.pages "$work/big.out")" \
		"$(jq '.chunks | length' "$work/big.out")" "$(echo "$kb / 1024" | bc -l)" "$wall" "$user"
}

bomb() {
	python3 - "$work/bomb.docx" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("word/document.xml", "w", force_zip64=True) as f:
        block = b"\0" * (1 << 20)
        for _ in range(1024):
            f.write(block)
EOF
	printf '{"v":1,"kind":"file","path":"%s"}\n' "$work/bomb.docx" >"$work/bomb.in"
	/usr/bin/time -f '%e' -o "$work/time" "$bin/docpipe-chunk" <"$work/bomb.in" >"$work/bomb.out" 2>/dev/null || true
	printf 'bomb: %.1f MB file holding 1 GiB: refused in %s s: %s\n' \
		"$(echo "$(stat -c %s "$work/bomb.docx") / 1000000" | bc -l)" "$(tail -n 1 "$work/time")" "$(jq -r .error "$work/bomb.out")"
}

siblings() {
	for n in 20000 40000 200000; do
		awk -v n="$n" 'BEGIN { print "<html><head><title>T</title></head><body>"
			for (i = 0; i < n; i++) printf "<p>Paragraph %d has a few words about item %d here.</p>\n", i, i
			print "</body></html>" }' >"$work/s.html"
		printf '{"v":1,"kind":"file","path":"%s"}\n' "$work/s.html" >"$work/s.in"
		in=$work/s.in
		t=$(best_cpu "$bin/docpipe-chunk" --max-tokens 50)
		printf 'siblings: %d <p> in one <body> (%.1f MB), --max-tokens 50: %.2f s CPU\n' "$n" \
			"$(echo "$(stat -c %s "$work/s.html") / 1000000" | bc -l)" "$t"
	done
}

echo "# $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
for what in "${@:-html pdf rss bomb siblings}"; do
	for w in $what; do "$w"; done
done
