#!/bin/bash
# Memory that follows a file's shape: the peak RSS of docpipe-chunk and
# docpipe-embed on small files built for it (6 MB each, a few seconds in
# all).  Session 49's sweep found, on 15 MB: 5M one-letter paragraphs 270
# MB in chunk (a 32-byte block struct and an 8-byte start per block, kept
# for the whole document), 1.2M front matter keys 242 MB (jq values of
# ~160 bytes each), 215 MB in embed before its output was refused over
# --max-record (every vector computed first), an EPUB whose 5000 manifest
# items name one 1 MB chapter read it 5000 times (368 MB).  The bounds
# below sit between the figures before (in the names) and after, with a
# margin; what is left is md4c's own block list (~16-32 bytes a line,
# freed before the records are built) and the output record itself
# (docs/RELIABILITY.md, "Session 50: memory").
# lane: beside
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
unsanitized_only "a sanitizer's shadow memory and allocator are no measure of the stages' memory"

D=$T_DIR/docs
mkdir -p "$D"
python3 - "$D" <<'EOF'
import os, sys
d = sys.argv[1]
def put(name, text):
    os.makedirs(os.path.join(d, name))
    with open(os.path.join(d, name, 'doc.md'), 'w') as f:
        f.write(text)
M = 6 << 20
put('paras', 'a\n\n' * (M // 3))
put('headings', '# a\n' * (M // 4))
put('levels', '## b\n\nx\n\n# a\n\nx\n\n' * (M // 16))
put('fm', '---\n' + ''.join('k%d: v\n' % i for i in range(500000)) + '---\n\nbody\n')
EOF
mkdir "$D/epub"
python3 "$TOP/tests/integration/gen_convert_limits.py" "$D/epub" epub-ids 5000 >/dev/null

# peak_kb IN OUT CMD...: runs CMD with stdin IN and stdout OUT (stderr to
# $T_DIR/err); prints its peak RSS in KiB and returns its status.
peak_kb() {
	python3 - "$@" <<'EOF'
import resource, subprocess, sys
with open(sys.argv[1]) as i, open(sys.argv[2], 'w') as o:
    rc = subprocess.run(sys.argv[3:], stdin=i, stdout=o, stderr=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)
EOF
}
# chunk_peak CASE: the file records of $D/CASE chunked into $T_DIR/CASE.out.
chunk_peak() {
	docpipe-discover "$D/$1" >"$T_DIR/$1.files" 2>/dev/null
	peak_kb "$T_DIR/$1.files" "$T_DIR/$1.out" docpipe-chunk --max-size 16777216
}
# under KB MB NAME: the peak KB (KiB) is under MB MiB.
under() { [ -n "$1" ] && [ "$1" -lt $(($2 * 1024)) ]; ok $? "$3: peak $(($1 / 1024)) MB, under $2 MB"; }

kb=$(chunk_peak paras)
under "$kb" 75 "chunk, 2M one-letter paragraphs (6 MB; 110 MB before)"
is "$(jq -c '[.kind, (.chunks | length)]' "$T_DIR/paras.out")" '["document",8192]' "... a document of 8192 chunks"
kb=$(chunk_peak headings)
under "$kb" 65 "chunk, 1.5M one-letter headings (6 MB; 87 MB before)"
kb=$(chunk_peak levels)
under "$kb" 85 "chunk, 410,000 small sections of two levels (6.7 MB; 116 MB before)"
kb=$(chunk_peak fm)
under "$kb" 30 "chunk, 500,000 front matter keys (5.4 MB; 74 MB before)"
is "$(jq -c '[.kind, (.meta | length)]' "$T_DIR/fm.out")" '["document",0]' "... their fields not read (over 256 KiB)"
kb=$(chunk_peak epub)
under "$kb" 80 "chunk, an EPUB of 5000 items naming one 1 MB chapter (359 MB and refused before)"
is "$(jq -c '[.kind, ([.chunks[].text | scan("chapter")] | length)]' "$T_DIR/epub.out")" \
	'["document",30000]' "... the chapter read once: a document"

# Embed, its output over --max-record: refused before any vector is made.
kb=$(peak_kb "$T_DIR/paras.out" "$T_DIR/paras.emb" docpipe-embed --max-record 16777216)
is "$?" 1 "embed: the paragraphs' document failed (exit 1)"
under "$kb" 55 "embed, the paragraphs' 11 MB record, 8192 chunks, output over 16 MiB (82 MB before)"
like "$(jq -r .error "$T_DIR/paras.emb")" \
	'^its output record: JSON text over 16777216 bytes \(its chunks. texts and vectors alone: [0-9]+\) \(--max-record 16777216; ' \
	"... an error record saying why, as the sink would"
kb=$(peak_kb "$T_DIR/levels.out" "$T_DIR/levels.emb" docpipe-embed)
under "$kb" 120 "embed, the sections' 15 MB record of 43,000 chunks, output over 64 MiB (259 MB before)"
is "$(jq -r .kind "$T_DIR/levels.emb")" error "... an error record"
done_testing
