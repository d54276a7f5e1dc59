#!/bin/bash
# docpipe-chunk end to end: document records from discover's file records,
# unknown fields carried through, a delete record for a file deleted since
# discovery, the version read of a file edited since discovery, and one
# error record for every file it cannot take (binary, invalid UTF-8) or
# input line it cannot read, the run going on after each.
. "$(dirname "$0")/../lib/tap.sh"

D=$T_DIR/docs
mkdir -p "$D"
printf '# Guide\n\nIntro.\n\n## Keys\n\nText é 日本.\n\n```sh\necho hi\n```\n' >"$D/a.md"
printf 'para one\n\npara two\n' >"$D/b.txt"
printf 'gone\n' >"$D/c-vanish.md"
printf 'before\n' >"$D/d-change.md"
printf 'bin\0ary\n' >"$D/e-nul.txt"
printf 'ok \xc3\xa9 bad \xff here\n' >"$D/f-utf8.md"
: >"$D/g-empty.md"

docpipe-discover "$D" >"$T_DIR/files" 2>/dev/null
is "$(wc -l <"$T_DIR/files")" 7 "discover found the files"
rm "$D/c-vanish.md"
printf 'after!\n' >"$D/d-change.md"

# Unknown fields must survive; a malformed line in the middle must not stop the run.
jq -c '. + {run: "r1", seq: (input_line_number), meta: {tag: "x"}}' "$T_DIR/files" >"$T_DIR/in"
{ head -n 3 "$T_DIR/in"; echo '{"v":1,"kind":"file",'; echo 'not json'; tail -n +4 "$T_DIR/in"; echo '{"v":1,"kind":"error","path":"/z","stage":"discover","error":"earlier"}'; } >"$T_DIR/in2"

docpipe-chunk <"$T_DIR/in2" >"$T_DIR/out" 2>"$T_DIR/err"
is "$?" 1 "exit status 1: some records failed"
is "$(wc -l <"$T_DIR/out")" 10 "one output record per input line"
doc() { jq -c --arg p "$D/$1" "select(.path == \$p) | $2" "$T_DIR/out"; }
is "$(doc a.md '[.kind, .format, .chunker, (.chunks | length)]')" '["document","markdown","md4c-v3 max=512 overlap=0 min=64",1]' "markdown document record"
is "$(doc a.md '[.chunks[] | .heading]')" '[["Guide"]]' "heading path of sections merged under --min-tokens"
is "$(doc a.md '.chunks[0].text')" '"# Guide\n\nIntro.\n\n## Keys\n\nText é 日本.\n\n```sh\necho hi\n```"' "chunk text is the Markdown source"
is "$(doc a.md '[.chunks[] | .seq, .tokens]')" '[0,16]' "seq and tokens"
is "$(doc a.md '[.run, .meta.tag, .hash == null, .size]')" '["r1","x",false,61]' "unknown fields carried through"
is "$(doc b.txt '[.format, .chunker, .chunks[0].text, .chunks[0].heading]')" '["text","text-v3 max=512 overlap=0 min=64","para one\n\npara two",[]]' "plain text document"
is "$(doc g-empty.md '[.kind, .chunks]')" '["document",[]]' "empty file: document without chunks"
is "$(doc c-vanish.md '[.kind, .stage, .error, .hash, .run, .meta.tag]')" '["delete",null,null,null,"r1","x"]' "vanished file: a delete record of its path"
OLD_HASH=$(jq -r 'select(.path | endswith("/d-change.md")) | .hash' "$T_DIR/files")
is "$(doc d-change.md "[.kind, .chunks[0].text, .size, .hash != \"$OLD_HASH\"]")" '["document","after!",7,true]' \
	"a file edited since discovery: the version read, with its hash"
like "$(cat "$T_DIR/err")" "d-change\.md: changed since discovery: the version read is taken" "said on stderr"
is "$(doc e-nul.txt '.error')" '"binary file: NUL byte at byte 3"' "NUL bytes"
is "$(doc f-utf8.md '.error')" '"invalid UTF-8 at byte 10"' "invalid UTF-8 with its offset"
is "$(jq -r 'select(.path == null) | .error' "$T_DIR/out" | cut -c1-14 | tr '\n' ',')" "input line 4: ,input line 5: ," "malformed lines become error records"
is "$(jq -r 'select(.path == "/z") | [.stage, .error] | @tsv' "$T_DIR/out")" "$(printf 'discover\tearlier')" "earlier error records pass through"
is "$(jq -r '.kind' "$T_DIR/out" | sort | uniq -c | tr -s ' ' | tr '\n' ',')" " 1 delete, 4 document, 5 error," "4 documents, 1 delete, 5 errors"

# Options.
docpipe-discover "$D/a.md" 2>/dev/null | docpipe-chunk --max-tokens 8 --overlap 2 >"$T_DIR/small"
is "$(jq -r '.chunker' "$T_DIR/small")" "md4c-v3 max=8 overlap=2 min=8" "chunker identity follows the options"
is "$(jq '[.chunks[].tokens | select(. > 8)] | length' "$T_DIR/small")" 0 "--max-tokens caps every chunk"
docpipe-discover "$D/a.md" 2>/dev/null | docpipe-chunk --format text | jq -r .format >"$T_DIR/fmt"
is "$(cat "$T_DIR/fmt")" text "--format text"
docpipe-chunk --max-tokens 100 --overlap 51 </dev/null 2>/dev/null
is "$?" 2 "overlap over half the cap is a usage error"
like "$(docpipe-chunk --help)" "--max-tokens N" "--help lists the options"

# A line ends at "\n", "\r\n" or a lone "\r" (old Mac OS text), once
# each: a CR-only file was read as one line (every chunk on line 1, no
# heading after the first line).
printf '# Title\r\rFirst paragraph has a few words in it.\rIt goes on here.\r\r## Second\r\rSecond section text with words enough.\rMore of it.\r' >"$D/cr.md"
printf '# Title\r\n\nFirst paragraph has a few words in it.\rIt goes on here.\n\r\n## Second\n\r\nSecond section text with words enough.\r\nMore of it.\r' >"$D/mixed.md"
docpipe-discover "$D/cr.md" "$D/mixed.md" 2>/dev/null | docpipe-chunk --max-tokens 8 --min-tokens 0 >"$T_DIR/cr"
is "$(jq -c 'select(.path | endswith("/cr.md")) | [.chunks[] | [.line_start, .line_end]]' "$T_DIR/cr")" \
	'[[1,3],[3,3],[4,4],[6,8],[8,9]]' "a CR-only file: the chunks' line ranges"
is "$(jq -c 'select(.path | endswith("/cr.md")) | [.chunks[] | .heading[-1]] | unique' "$T_DIR/cr")" \
	'["Second","Title"]' "and its second heading starts a section"
python3 - "$T_DIR/cr" >"$T_DIR/cr.check" <<'PY'
import bisect, json, re, sys
for line in open(sys.argv[1]):
    rec = json.loads(line)
    data = open(rec["path"], "rb").read()
    ends = [m.end() - 1 for m in re.finditer(rb"\r\n|\r|\n", data)]  # each end's last byte
    line_of = lambda off: bisect.bisect_left(ends, off) + 1
    for c in rec["chunks"]:
        if [c["line_start"], c["line_end"]] != [line_of(c["start"]), line_of(c["end"] - 1)]:
            print(rec["path"], c["seq"], c["line_start"], c["line_end"])
PY
is "$?:$(jq '.chunks | length' "$T_DIR/cr" | xargs):$(cat "$T_DIR/cr.check")" "0:5 5:" \
	"CR-only and mixed line ends: every chunk's line_start/line_end is its lines"

# UTF-16 and UTF-32 (Notepad's "Unicode", PowerShell's '>'), with or
# without a byte order mark, are decoded and chunked as their UTF-8 text
# would be, each chunk's [start, end) the bytes of its text in the file
# (sweeps 7-8 refused them with an iconv hint; UTF-32 and CJK UTF-16 without
# a mark failed as "binary file" / "binary data (libmagic: Adobe Photoshop
# Color swatch ...)").  Latin-1 and Windows-1252 are refused with a hint at
# the iconv command that converts them: nothing is decoded by a guess.
E=$T_DIR/enc
mkdir -p "$E"
{
	printf '# Caf\xc3\xa9 notes\n\nThe na\xc3\xafve M\xc3\xbcller said \xe2\x80\x9chello\xe2\x80\x9d and don\xe2\x80\x99t \xe2\x80\x93 ok.\r\n\n'
	printf '## \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\n\n'
	for i in 1 2 3 4 5 6; do printf '\xe6\x9d\xb1\xe4\xba\xac\xe9\x83\xbd\xe3\x81\xae\xe5\xa4\xa9\xe6\xb0\x97\xe3\x81\xaf\xe6\x99\xb4\xe3\x82\x8c\xe3\x80\x82 %s \xf0\x9f\x98\x80 emoji\n\n' "$i"; done
} >"$T_DIR/u8"
for enc in UTF-16LE UTF-16BE UTF-32LE UTF-32BE; do
	iconv -f UTF-8 -t $enc "$T_DIR/u8" >"$E/$enc.md"
	{ printf '\xef\xbb\xbf'; cat "$T_DIR/u8"; } | iconv -f UTF-8 -t $enc >"$E/bom-$enc.md"
done
cp "$T_DIR/u8" "$E/u8.md"
printf '<html><body><h1>Caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac</h1><p>Text.</p></body></html>\n' | iconv -t UTF-16LE >"$E/page16.html"
printf '<html><body><h1>Caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac</h1><p>Text.</p></body></html>\n' | iconv -t UTF-32BE >"$E/page32.html"
iconv -f UTF-8 -t UTF-16LE "$T_DIR/u8" >"$E/cut.md"
printf 'x' >>"$E/cut.md"                                        # a UTF-16 file cut mid-character
{ printf '\xff\xfe'; printf 'ab\n%.0s' $(seq 1500) | iconv -t UTF-16LE; printf '\x00\xd8a\x00'; } >"$E/lone.txt" # a lone surrogate past the sniff
iconv -f UTF-8 -t WINDOWS-1252 "$T_DIR/u8" >"$E/w1252.md" 2>/dev/null || true
printf '# Caf\xe9\n\nna\xefve M\xfcller, \xe0 la carte\n' >"$E/latin1.txt"
printf '\xcf\xf0\xe8\xe2\xe5\xf2 \xec\xe8\xf0\n' >"$E/cp1251.txt"    # Cyrillic: runs of high bytes
printf 'ab\0\0\0\1\2\3\0x\0\0' >"$E/bin.txt"                       # zero bytes at both parities
head -c 4096 /dev/urandom >"$E/random.txt"
docpipe-discover "$E" 2>/dev/null | docpipe-chunk --max-tokens 24 --min-tokens 0 >"$T_DIR/enc.out" 2>/dev/null
err() { jq -r --arg p "$E/$1" 'select(.path == $p) | .error' "$T_DIR/enc.out"; }
python3 - "$T_DIR/enc.out" "$E/u8.md" >"$T_DIR/enc.check" <<'PY'
import json, sys
recs = {json.loads(l)["path"].rsplit("/", 1)[1]: json.loads(l) for l in open(sys.argv[1])}
want = [(c["text"], c["heading"], c["line_start"], c["line_end"]) for c in recs["u8.md"]["chunks"]]
print("u8", len(want))
for enc in ("UTF-16LE", "UTF-16BE", "UTF-32LE", "UTF-32BE"):
    for name in (enc + ".md", "bom-" + enc + ".md"):
        r = recs[name]
        data = open(r["path"], "rb").read()
        got = [(c["text"], c["heading"], c["line_start"], c["line_end"]) for c in r["chunks"]]
        sliced = all(data[c["start"]:c["end"]].decode(enc) == c["text"] for c in r["chunks"])
        print(name, r.get("encoding"), got == want, sliced)
PY
is "$(head -1 "$T_DIR/enc.check")" "u8 7" "the UTF-8 text gives 7 chunks"
is "$(tail -n +2 "$T_DIR/enc.check" | tr '\n' ',')" \
	"UTF-16LE.md UTF-16LE True True,bom-UTF-16LE.md UTF-16LE True True,UTF-16BE.md UTF-16BE True True,bom-UTF-16BE.md UTF-16BE True True,UTF-32LE.md UTF-32LE True True,bom-UTF-32LE.md UTF-32LE True True,UTF-32BE.md UTF-32BE True True,bom-UTF-32BE.md UTF-32BE True True," \
	"UTF-16/32 with and without a BOM: named, the UTF-8 file's chunks, headings and lines, each [start, end) its text in the file"
is "$(err cut.md)" "UTF-16LE text (without a byte order mark): it ends inside a character at byte 416; docpipe decodes no guess" \
	"a UTF-16 file cut mid-character: refused, named"
is "$(err lone.txt)" "UTF-16LE text (by its byte order mark): not a valid character at byte 9002; docpipe decodes no guess" \
	"a lone surrogate past the first 4 KiB: refused at its byte"
is "$(jq -r 'select(.path | endswith(".html")) | .chunks[0].heading[0]' "$T_DIR/enc.out" | xargs)" "Café 日本 Café 日本" \
	"UTF-16/32 HTML without a byte order mark: read (libxml2 took it for ASCII: \"not an HTML document\")"
latin="looks like Latin-1 or Windows-1252: convert it, e.g. iconv -f WINDOWS-1252 -t UTF-8"
is "$(err latin1.txt)" "invalid UTF-8 at byte 5; $latin" "Latin-1: the hint"
is "$(err cp1251.txt)" "invalid UTF-8 at byte 0" "a Cyrillic code page (runs of high bytes): no hint"
is "$(err bin.txt)" "binary file: NUL byte at byte 2" "zero bytes at both parities: still binary"
like "$(err random.txt)" "binary" "random bytes: binary"
iconv -f WINDOWS-1252 -t UTF-8 "$E/latin1.txt" | cmp -s - <(printf '# Caf\xc3\xa9\n\nna\xc3\xafve M\xc3\xbcller, \xc3\xa0 la carte\n')
is "$?" 0 "the hint's iconv command gives back the UTF-8 text"

# The records are written as text (no --jq) or as values (--jq runs on
# them): the same bytes, and the same error for one over --max-record.
docpipe-chunk --jq . <"$T_DIR/in2" 2>/dev/null >"$T_DIR/jq.out"
docpipe-chunk <"$T_DIR/in2" 2>/dev/null >"$T_DIR/text.out"
cmp -s "$T_DIR/text.out" "$T_DIR/jq.out"
is "$?" 0 "with and without --jq: the same bytes" || diff "$T_DIR/text.out" "$T_DIR/jq.out" | cut -c1-400 | sed "s/^/# /"
mkdir -p "$T_DIR/big"
printf '# Big\n\n%s\n' "$(seq 1 2000 | tr '\n' ' ')" >"$T_DIR/big/a.md"
docpipe-discover "$T_DIR/big" >"$T_DIR/big.in"
for jqopt in "" "--jq=."; do
	is "$(docpipe-chunk --max-record 1024 $jqopt <"$T_DIR/big.in" | jq -r '[.kind, .error] | @tsv')" \
		"$(printf 'error\tits output record: JSON text over 1024 bytes (--max-record 1024; a document this large needs a larger --max-record here and in the stages after: docpipe run --max-size)')" \
		"a record over --max-record ${jqopt:-as text}: an error record naming the option"
done

# Threads give the same documents.
docpipe-chunk --threads 2 <"$T_DIR/in2" 2>/dev/null | jq -c . | sort >"$T_DIR/t2"
jq -c . "$T_DIR/out" | sort >"$T_DIR/t1"
cmp -s "$T_DIR/t1" "$T_DIR/t2"
is "$?" 0 "--threads 2 gives the same records"

done_testing
