#!/bin/bash
# Text files as found in the wild (README, "Documents from the wild"; man
# docpipe-chunk, "Encodings" and "Chunking"):
# - a UTF-8 file with a few stray NUL bytes (an editor, a concatenation, a
#   bad export) is read, each NUL as U+FFFD, said on stderr naming the file
#   and the count, its byte ranges still the file's; binary data that is
#   valid UTF-8 (ASCII and zero bytes: counters, a tar archive) is still
#   refused.  Before: every such file was "binary file: NUL byte at byte N".
# - a line longer than a chunk (a 1 MB heading) is split with every byte of
#   it in some chunk and no chunk of heading markup alone; its heading path
#   is cut at CHUNK_HEADING_MAX bytes on a character boundary.  Before: the
#   first chunk was "#" (the cut fell on the space after it).
# - bidi overrides, isolates and other invisible format characters are
#   left out of heading paths (front matter titles too), kept in the text.
# - CJK in UTF-16 without a byte order mark nor zero byte is refused with
#   the iconv hint (it cannot be told from Shift JIS or EUC-KR).
# - a Markdown file of no block with text (a line of 100,000 backticks: an
#   empty fence) keeps its text; before: no chunk.
# - a byte order mark starting an inner line (files concatenated) no longer
#   hides the heading after it; before: "\uFEFF# Two" was a paragraph.
# - a run of white space longer than a chunk (a padded log, a converter's
#   indentation: an ODT's <text:s text:c="1000"/>) is chunked in linear
#   time: the pieces cut from it are blank and dropped, and each piece
#   counted the tokens from the last chunk kept up to itself (8 MB: 1.8 s,
#   32 MB: ~30 s of CPU, 200 MB from an 11 KB ODT: over half an hour).
. "$(dirname "$0")/../lib/tap.sh"

D=$T_DIR/docs
mkdir -p "$D"
python3 - "$D" <<'EOF'
import sys, io, tarfile
d = sys.argv[1]
w = lambda name, b: open(f"{d}/{name}", "wb").write(b)
prose = b"Some prose of the kind a page holds, words and more words.\n" * 4
w("nul.md", b"# Notes\n\nA stray\0NUL in the text.\n\n" + prose + b"\n## Later\n\nTwo\0\0 more, then the end.\n" + prose)
w("head.md", b"# " + b"a" * 1000000 + b"\n\nBody after the long heading.\n")
w("head-utf8.md", "# é日".encode() * 200000 + b"\n\nBody.\n")
w("line.txt", b"Intro\n" + b"x" * 300000 + b" tail words\n")
w("bidi.md", "---\ntitle: \"Doc \u202eevil\u202c\"\n---\n## Safe \u202etxt.exe\u202c heading\u2066x\u2069 \u200bz\U000E0041\n\nText \u202e kept.\n".encode())
w("fence.md", b"`" * 100000 + b"\n")
w("cat.md", "\ufeff# One\n\ntext\n\n\ufeff# Two\n\nmore text\n".encode())
w("cjk16.txt", ("中文文本測試" * 400).encode("utf-16-le"))
# binary data that is valid UTF-8: ASCII, zero bytes, small integers
w("counters.txt", bytes([65, 0, 0, 1, 66, 0, 2, 0]) * 512)
big = io.BytesIO()
with tarfile.open(fileobj=big, mode="w", format=tarfile.USTAR_FORMAT) as t:
    data = prose * 20000
    info = tarfile.TarInfo("notes.md"); info.size = len(data)
    t.addfile(info, io.BytesIO(data))
w("archive.md", big.getvalue())
EOF
docpipe-discover "$D" | docpipe-chunk --max-tokens 512 --min-tokens 0 >"$T_DIR/out" 2>"$T_DIR/err"
is "$?" 1 "exit 1: the binary and UTF-16 files failed, the rest read"

# Every check reads the file's bytes: file[start:end] is the chunk's text
# (a NUL there U+FFFD), every non-space byte is in a chunk.
check() {
	python3 - "$T_DIR/out" "$1" <<'EOF'
import sys, json
recs = {r["path"].rsplit("/", 1)[1]: r for r in map(json.loads, open(sys.argv[1]))}
r = recs[sys.argv[2]]
if r["kind"] != "document":
    print("error:", r.get("error")); sys.exit(0)
f = open(r["path"], "rb").read()
covered = bytearray(len(f))
bad = []
for c in r["chunks"]:
    s, e = c["start"], c["end"]
    covered[s:e] = b"\1" * (e - s)
    if f[s:e].replace(b"\0", "\ufffd".encode()).decode() != c["text"]:
        bad.append(f"range {s}-{e} is not its text")
    if c["text"].strip("# ") == "":
        bad.append(f"chunk {c['seq']} is heading markup alone")
    for h in c["heading"]:
        if len(h.encode()) > 512 or "\ufffd" in h:
            bad.append(f"heading of {len(h.encode())} bytes")
lost = sum(1 for i, b in enumerate(f) if not covered[i] and b not in b" \n\t")
if lost: bad.append(f"{lost} bytes in no chunk")
print("; ".join(sorted(set(bad))) or "ok", len(r["chunks"]))
EOF
}
like "$(check nul.md)" '^ok [1-9]' "stray NULs: read, each U+FFFD, every range the file's bytes"
like "$(cat "$T_DIR/err")" "nul\.md: 3 NUL bytes \(the first at byte 16\) read as U\+FFFD" "and said, naming the file and the count"
like "$(check head.md)" '^ok [1-9][0-9]+' "a 1 MB heading: split, every byte in a chunk, none of markup alone, path bounded"
like "$(check head-utf8.md)" '^ok [1-9][0-9]+' "the same in CJK and accents: the path cut on a character boundary"
like "$(check line.txt)" '^ok [1-9][0-9]+' "a 300 KB line of plain text after a short one: every byte in a chunk"
is "$(jq -r 'select(.path | endswith("head.md")) | [(.chunks[0].text | .[0:5]), (.chunks[0].heading[0] | length)] | @tsv' "$T_DIR/out")" \
	"# aaa	512" "its first chunk starts with the heading's text, its path is 512 bytes"

is "$(jq -c 'select(.path | endswith("bidi.md")) | [.chunks[0].heading, (.chunks[0].text | test("\u202e"))]' "$T_DIR/out")" \
	'[["Doc evil","Safe txt.exe headingx z"],true]' "bidi and invisible format characters: out of heading paths and title, kept in the text"

like "$(check fence.md)" '^ok [1-9]' "a line of 100,000 backticks (an empty fence): its text in chunks"
is "$(jq -c 'select(.path | endswith("cat.md")) | [.chunks[] | [.heading, .start, .["end"]]]' "$T_DIR/out")" \
	'[[["One"],3,14],[["Two"],16,35]]' "a byte order mark starting a line: the heading after it read, ranges the file's"
is "$(jq -r 'select(.path | endswith("cjk16.txt")) | .error' "$T_DIR/out")" \
	"invalid UTF-8 at byte 2; reads as CJK in UTF-16LE without a byte order mark (or is Shift JIS, EUC-KR ...): convert it, e.g. iconv -f UTF-16LE -t UTF-8" \
	"CJK in UTF-16 without a zero byte: refused with the hint"
is "$(jq -r 'select(.path | endswith("counters.txt")) | .error' "$T_DIR/out")" \
	"binary file: NUL byte at byte 1" "binary data of ASCII, zero and small bytes: still binary"
is "$(jq -r 'select(.path | endswith("archive.md")) | .error' "$T_DIR/out")" \
	"looks like a tar archive, not text" "a tar of a large text file (few zero bytes): refused as what it is"

# 32 MB of spaces in a code block, under a CPU cap (CPU, not wall time:
# the code before needs ~30 s of it, this one 0.1 s, its ASan build ~2 s).
mkdir -p "$T_DIR/blank"
python3 -c 'import sys; open(sys.argv[1], "w").write("# Log\n\n```\nstart" + " " * (32 << 20) + "end\n```\n\nafter\n")' \
	"$T_DIR/blank/blank.md"
docpipe-discover --max-size 67108864 "$T_DIR/blank" | (ulimit -t 15; docpipe-chunk --max-size 67108864) \
	>>"$T_DIR/out" 2>/dev/null
is "$?" 0 "32 MB of spaces in a code block: chunked within 15 s of CPU"
is "$(jq -c 'select(.path | endswith("blank.md")) | [.chunks[].text | scan("start|end|after")]' "$T_DIR/out")" \
	'["start","end","after"]' "... every word around the spaces in a chunk"
done_testing
