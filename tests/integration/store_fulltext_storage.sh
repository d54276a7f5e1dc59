#!/bin/bash
# vector-rerun: no (the storage of the tsv column; the vector's type plays no part)
# A chunk's tsvector is kept in its row (the tsv column's STORAGE MAIN):
# the text side reads it for every candidate, and out of line it was a
# TOAST fetch a candidate (docs/PERFORMANCE.md, issue 11, session 57).
# When the row is too long the chunk's text goes out of line instead.  A
# fresh database gets it; one made before (STORAGE EXTENDED) is set so by
# the next store: rows written from then on keep their tsvector in line,
# the rows already there stay as they are until rewritten (VACUUM FULL).
# A tsvector longer than a page still goes out of line (MAIN allows it:
# PLAIN would refuse the row).
. "$(dirname "$0")/../lib/tap.sh"
private_pg
set -o pipefail
newdb || exit 1

# docs PREFIX N WORDS: N documents of one chunk of WORDS distinct random
# words (~9 bytes each in the text, ~16 in the tsvector: both too long
# for one row of 2 KB, compressed or not).
docs() {
	python3 - "$@" <<'EOF'
import base64, json, random, struct, sys
prefix, n, words = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(prefix)
vec = lambda: base64.b64encode(struct.pack("<4f", *(rng.uniform(-1, 1) for _ in range(4)))).decode()
word = lambda: "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(8))
for d in range(n):
    text = "zebra " + " ".join(word() for _ in range(words))
    print(json.dumps({"v": 1, "kind": "document", "path": "/t/%s%d.md" % (prefix, d), "root": "/t",
                      "hash": "%s%d" % (prefix, d), "chunker": "t", "embedder": "test/e4", "dim": 4,
                      "chunks": [{"seq": 0, "text": text, "vec": vec()}]}))
EOF
}
storage() { sql "SELECT attstorage FROM pg_attribute WHERE attrelid = 'docpipe.chunks'::regclass AND attname = 'tsv'"; }
# out COLUMN PREFIX: how many chunks of documents PREFIX* hold COLUMN out
# of line: those whose stored size (pg_column_size: an out-of-line value's
# is its TOAST chunks' total) is that of a value of the TOAST table.
out() {
	local toast
	toast=$(sql "SELECT reltoastrelid::regclass FROM pg_class WHERE oid = 'docpipe.chunks'::regclass")
	sql "SELECT count(*) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id
		WHERE d.path LIKE '/t/$2%' AND pg_column_size(c.$1) IN
		(SELECT sum(octet_length(chunk_data)) FROM $toast GROUP BY chunk_id)"
}

docs a 5 300 >"$T_DIR/a.ndjson"
docpipe-store -q <"$T_DIR/a.ndjson" >/dev/null
is "$?/$(storage)" 0/m "a new database: the tsv column's storage is MAIN"
is "$(out tsv a)/$(out content a)" 0/5 "the five tsvectors in their rows, the five texts out of line"
is "$(docpipe-query --mode text --json -k 10 zebra | jq -r .snippet | grep -c '[*][*]zebra[*][*]')" 5 \
	"a text query finds them, its snippets from the texts out of line"

# A database made before: the column EXTENDED and its rows so (rewritten
# as that docpipe wrote them).
sql "ALTER TABLE docpipe.chunks ALTER COLUMN tsv SET STORAGE EXTENDED" >/dev/null
sql "VACUUM FULL docpipe.chunks" >/dev/null
is "$(storage)/$(out tsv a)" x/5 "a database made before: EXTENDED, its tsvectors out of line"
docs b 5 300 >"$T_DIR/b.ndjson"
docpipe-store -q <"$T_DIR/b.ndjson" >/dev/null
is "$?/$(storage)" 0/m "the next store sets MAIN"
is "$(out tsv b)/$(out content b)" 0/5 "the rows it writes keep their tsvectors in line"
is "$(out tsv a)" 5 "the rows already there stay as they were"
docpipe-store -q <"$T_DIR/b.ndjson" >/dev/null
is "$?/$(storage)" 0/m "once more: nothing to change"
sql "VACUUM FULL docpipe.chunks" >/dev/null
is "$(out tsv a)/$(out content a)" 0/5 "a rewrite (VACUUM FULL) moves the old rows' tsvectors in line"
is "$(docpipe-query --mode text --json -k 20 zebra | jq -r .path | sort | paste -sd ' ' -)" \
	"/t/a0.md /t/a1.md /t/a2.md /t/a3.md /t/a4.md /t/b0.md /t/b1.md /t/b2.md /t/b3.md /t/b4.md" \
	"a text query finds every chunk"

# A tsvector too long for a page even compressed (4,000 distinct words).
docs c 1 4000 >"$T_DIR/c.ndjson"
docpipe-store -q <"$T_DIR/c.ndjson" >/dev/null
is "$?/$(out tsv c)" 0/1 "a tsvector longer than a page is stored, out of line"
done_testing
