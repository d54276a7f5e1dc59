#!/bin/bash
# docpipe-chunk end to end: document records from discover's file records,
# unknown fields carried through, a delete record for a file deleted since
# discovery, and one error record for every file it cannot take (changed,
# binary, invalid UTF-8) or input line it cannot read, the run going on
# after each.
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
is "$(doc a.md '[.kind, .format, .chunker, (.chunks | length)]')" '["document","markdown","md4c-v2 max=512 overlap=0 min=64",1]' "markdown document record"
is "$(doc a.md '[.chunks[] | .heading]')" '[["Guide"]]' "heading path of sections merged under --min-tokens"
is "$(doc a.md '.chunks[0].text')" '"# Guide\n\nIntro.\n\n## Keys\n\nText é 日本.\n\n```sh\necho hi\n```"' "chunk text is the Markdown source"
is "$(doc a.md '[.chunks[] | .seq, .tokens]')" '[0,16]' "seq and tokens"
is "$(doc a.md '[.run, .meta.tag, .hash == null, .size]')" '["r1","x",false,61]' "unknown fields carried through"
is "$(doc b.txt '[.format, .chunker, .chunks[0].text, .chunks[0].heading]')" '["text","text-v2 max=512 overlap=0 min=64","para one\n\npara two",[]]' "plain text document"
is "$(doc g-empty.md '[.kind, .chunks]')" '["document",[]]' "empty file: document without chunks"
is "$(doc c-vanish.md '[.kind, .stage, .error, .hash, .run, .meta.tag]')" '["delete",null,null,null,"r1","x"]' "vanished file: a delete record of its path"
like "$(doc d-change.md '.error')" "file changed since discovery" "changed file"
is "$(doc e-nul.txt '.error')" '"binary file: NUL byte at byte 3"' "NUL bytes"
is "$(doc f-utf8.md '.error')" '"invalid UTF-8 at byte 10"' "invalid UTF-8 with its offset"
is "$(jq -r 'select(.path == null) | .error' "$T_DIR/out" | cut -c1-14 | tr '\n' ',')" "input line 4: ,input line 5: ," "malformed lines become error records"
is "$(jq -r 'select(.path == "/z") | [.stage, .error] | @tsv' "$T_DIR/out")" "$(printf 'discover\tearlier')" "earlier error records pass through"
is "$(jq -r '.kind' "$T_DIR/out" | sort | uniq -c | tr -s ' ' | tr '\n' ',')" " 1 delete, 3 document, 6 error," "3 documents, 1 delete, 6 errors"

# Options.
docpipe-discover "$D/a.md" 2>/dev/null | docpipe-chunk --max-tokens 8 --overlap 2 >"$T_DIR/small"
is "$(jq -r '.chunker' "$T_DIR/small")" "md4c-v2 max=8 overlap=2 min=8" "chunker identity follows the options"
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

# Text that is not UTF-8 is refused with a hint at its encoding (sweep 7:
# UTF-16 without a byte order mark failed "binary file: NUL byte at byte 1",
# Latin-1 and Windows-1252 "invalid UTF-8 at byte N" with no hint): UTF-16
# by its zero bytes at every other byte, Latin-1/Windows-1252 by lone high
# bytes beside ASCII letters.  The iconv command it gives converts the file
# into text docpipe reads.  Nothing is converted by guess.
E=$T_DIR/enc
mkdir -p "$E"
printf '# Caf\xc3\xa9 notes\n\nThe na\xc3\xafve M\xc3\xbcller said \xe2\x80\x9chello\xe2\x80\x9d and don\xe2\x80\x99t \xe2\x80\x93 ok.\n' >"$T_DIR/u8"
iconv -f UTF-8 -t UTF-16LE "$T_DIR/u8" >"$E/le.md"
iconv -f UTF-8 -t UTF-16BE "$T_DIR/u8" >"$E/be.txt"
iconv -f UTF-8 -t WINDOWS-1252 "$T_DIR/u8" >"$E/w1252.md"
printf '# Caf\xe9\n\nna\xefve M\xfcller, \xe0 la carte\n' >"$E/latin1.txt"
printf '\xcf\xf0\xe8\xe2\xe5\xf2 \xec\xe8\xf0\n' >"$E/cp1251.txt"    # Cyrillic: runs of high bytes
printf 'ab\0\0\0\1\2\3\0x\0\0' >"$E/bin.txt"                       # zero bytes at both parities
docpipe-discover "$E" 2>/dev/null | docpipe-chunk >"$T_DIR/enc.out" 2>/dev/null
err() { jq -r --arg p "$E/$1" 'select(.path == $p) | .error' "$T_DIR/enc.out"; }
hint="docpipe reads UTF-8; convert the file, e.g. iconv -f"
is "$(err le.md)" "UTF-16LE text (without a byte order mark: zero bytes at every other byte): $hint UTF-16LE -t UTF-8" \
	"UTF-16LE without a BOM: named, with the iconv command"
is "$(err be.txt)" "UTF-16BE text (without a byte order mark: zero bytes at every other byte): $hint UTF-16BE -t UTF-8" \
	"UTF-16BE without a BOM likewise"
latin="looks like Latin-1 or Windows-1252: convert it, e.g. iconv -f WINDOWS-1252 -t UTF-8"
is "$(err w1252.md)" "invalid UTF-8 at byte 5; $latin" "Windows-1252 (smart quotes, dashes): the hint"
is "$(err latin1.txt)" "invalid UTF-8 at byte 5; $latin" "Latin-1: the hint"
is "$(err cp1251.txt)" "invalid UTF-8 at byte 0" "a Cyrillic code page (runs of high bytes): no hint"
is "$(err bin.txt)" "binary file: NUL byte at byte 2" "zero bytes at both parities: still binary"
for f in le.md be.txt w1252.md; do
	enc=$(err $f | grep -o 'iconv -f [^ ]*' | cut -d' ' -f3)
	iconv -f "$enc" -t UTF-8 "$E/$f" >"$T_DIR/conv"
	printf '%s' "$?:"
	cmp -s "$T_DIR/conv" "$T_DIR/u8" && echo same
done >"$T_DIR/conv.check"
is "$(xargs <"$T_DIR/conv.check")" "0:same 0:same 0:same" "each hint's iconv command gives back the UTF-8 text"

# Threads give the same documents.
docpipe-chunk --threads 2 <"$T_DIR/in2" 2>/dev/null | jq -c . | sort >"$T_DIR/t2"
jq -c . "$T_DIR/out" | sort >"$T_DIR/t1"
cmp -s "$T_DIR/t1" "$T_DIR/t2"
is "$?" 0 "--threads 2 gives the same records"

done_testing
