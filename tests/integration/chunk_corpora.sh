#!/bin/bash
# docpipe-chunk over the real Markdown corpora (../shared/corpora: the Rust
# book, Hugo's docs): no failures; every chunk's [start, end) gives its text
# (or, for a piece of a split code block or table, the text is that slice
# with the fence or header repeated); line numbers right; no front matter
# in heading paths; no chunk starting inside a fenced block; no heading-only
# chunk (tests/integration/chunk_check.py); front matter titles in meta.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail

shared=
for d in "$TOP/../shared" "$TOP/../../shared"; do
	[ -d "$d/corpora/hugo-docs" ] && [ -d "$d/corpora/rust-book" ] && { shared=$d; break; }
done
if [ -z "$shared" ] || ! command -v python3 >/dev/null; then
	skip "no ../shared/corpora next to the repository (or no python3): real-corpus checks not run"
	done_testing
fi
for c in rust-book hugo-docs; do
	docpipe-discover "$shared/corpora/$c" 2>/dev/null | docpipe-chunk --threads 2 >"$T_DIR/$c.json" 2>"$T_DIR/$c.err"
	is "$?" 0 "$c: docpipe-chunk exits 0"
	python3 "$TOP/tests/integration/chunk_check.py" <"$T_DIR/$c.json" >"$T_DIR/$c.check"
	ok $? "$c: $(tail -1 "$T_DIR/$c.check")"
	head -5 "$T_DIR/$c.check" | grep -v '^docs ' | sed 's/^/# /'
	is "$(jq -s 'map(select(.kind != "document")) | length' "$T_DIR/$c.json")" 0 "$c: no error records"
done
# With overlap and a small cap (many split sections, split code blocks).
for c in rust-book hugo-docs; do
	docpipe-discover "$shared/corpora/$c" 2>/dev/null |
		docpipe-chunk --threads 2 --max-tokens 128 --overlap 32 --min-tokens 32 >"$T_DIR/$c.small.json"
	python3 "$TOP/tests/integration/chunk_check.py" <"$T_DIR/$c.small.json" >"$T_DIR/$c.small.check"
	ok $? "$c, 128/32/32: $(tail -1 "$T_DIR/$c.small.check")"
	head -5 "$T_DIR/$c.small.check" | grep -v '^docs ' | sed 's/^/# /'
done
# Files whose front matter block has a title line, counted with awk.
titled=$(find "$shared/corpora/hugo-docs" -name '*.md' -exec awk '
	FNR == 1 { d = ($0 == "---" || $0 == "+++") ? $0 : ""; if (d == "") nextfile; next }
	$0 == d { nextfile }
	/^title *[:=]/ { n++; nextfile }
	END { print n + 0 }' {} + | awk '{ s += $1 } END { print s }')
is "$(jq -s 'map(select(.meta.title | type == "string")) | length' "$T_DIR/hugo-docs.json")" "$titled" \
	"hugo-docs: every front matter title ($titled) is in meta"
is "$(jq -s '[.[].chunks[] | select(.text | test("^(---|[+][+][+])\n[A-Za-z_]+ *[:=]"))] | length' "$T_DIR/hugo-docs.json")" 0 \
	"hugo-docs: no chunk text holds front matter"
diag "warnings: $(cat "$T_DIR"/*.err | wc -l) ($(head -c 200 "$T_DIR/hugo-docs.err"))"
done_testing
