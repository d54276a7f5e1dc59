#!/bin/bash
# docpipe-query --mode hybrid|vector|text over chunks with known vectors:
# text finds rare terms and exact phrases the vectors miss, vectors find a
# paraphrase text misses, filters, zero vectors, the JSON citation fields.
# Runs with real[] and, where the pgvector test helper exists, with vector.
# vector-rerun: no (it runs real[] and vector itself)
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail

E0=$(f32_base64 1 0 0 0) E2=$(f32_base64 0 0 1 0) ZERO=$(f32_base64 0 0 0 0)
python3 - >docs.ndjson <<'PY'
import base64, json, struct
def v(*x): return base64.b64encode(struct.pack("<4f", *x)).decode()
docs = [
    ("/c/guide/rotate.md", 1717200000, {"lang": "en", "draft": False}, ["Keys", "Rotation"],
     "To rotate the signing keys run keyctl rotate; the zyxqvortex flag forces it.", (0, 1, 0, 0)),
    ("/c/guide/cafe.md", 1577836800, {"lang": "en"}, ["Cafe"],
     "The cafe serves coffee and croissants every morning.", (1, 0, 0, 0)),
    ("/c/notes/car.md", 1690000000, {"lang": "fr"}, ["Notes"],
     "Fixing a broken automobile engine takes patience.", (0, 0, 1, 0)),
    ("/c/notes/phrase.md", 1690000000, {"lang": "en"}, ["Sayings"],
     "A stitch in time saves nine, as grandmother said.", (0.1, 0.1, 0.1, 1)),
    ("/c/notes/dot.md", 1690000000, {}, [], ".", (0, 0, 0, 0)),
]
for path, mtime, meta, heading, text, vec in docs:
    print(json.dumps({"v": 1, "kind": "document", "path": path, "root": "/c", "hash": path,
        "mtime": mtime, "meta": meta, "chunker": "t", "embedder": "local/fh-v1", "dim": 4,
        "chunks": [{"seq": 0, "text": text, "heading": heading, "vec": v(*vec)}]}))
PY
q() { docpipe-query --json "$@" | jq -r .path | paste -sd ' ' -; }

suite() { # suite LABEL: every check against the database of $DATABASE_URL
	local L=$1 out rc
	docpipe-store -q <docs.ndjson >/dev/null
	is "$(q --mode vector -k 1 --vector "$E0" zyxqvortex)" /c/guide/cafe.md "$L: rare term: the vectors miss it"
	is "$(q --mode text -k 1 zyxqvortex)" /c/guide/rotate.md "$L: rare term: text finds it"
	is "$(q -k 1 --vector "$E0" zyxqvortex)" /c/guide/rotate.md "$L: rare term: hybrid finds it first"
	is "$(q -k 1 --vector "$E0" 'a stitch in time saves nine')" /c/notes/phrase.md "$L: exact phrase: hybrid finds it"
	is "$(q --mode text 'repair a vehicle motor')" "" "$L: paraphrase: text misses it"
	is "$(q -k 1 --vector "$E2" 'repair a vehicle motor')" /c/notes/car.md "$L: paraphrase: hybrid finds it by vector"
	out=$(docpipe-query --json -k 2 --vector "$E0" 'signing keys zyxqvortex' | head -1)
	is "$(jq -c '[.rank, .path, .heading, .text_rank, (.vector_rank|type), has("byte_start"), has("page_end"), has("line_start")]' <<<"$out")" \
		'[1,"/c/guide/rotate.md",["Keys","Rotation"],1,"number",true,true,true]' "$L: --json: path, heading, ranges, ranks per side"
	like "$(jq -r .snippet <<<"$out")" '\*\*zyxqvortex\*\*' "$L: --json: highlighted snippet"
	# Filters.
	is "$(q --mode vector -k 9 --vector "$E0" --path '*/notes/*')" "/c/notes/phrase.md /c/notes/car.md" "$L: --path glob"
	is "$(q --mode vector -k 9 --vector "$E0" --path '*/car.md' --path '/c/guide/r*')" "/c/guide/rotate.md /c/notes/car.md" "$L: --path repeated: any"
	is "$(q -k 9 --vector "$E0" --where lang=en --path '*/guide/*' keys)" "/c/guide/rotate.md /c/guide/cafe.md" "$L: --where and --path together"
	is "$(q -k 9 --vector "$E0" --where lang=en --where draft=false keys)" /c/guide/rotate.md "$L: --where repeated: all; booleans as JSON writes them"
	is "$(q --mode text -k 9 --since 2024-01-01 the)" "" "$L: --since: text side filtered"
	is "$(q --mode vector -k 9 --vector "$E0" --since 2024-01-01)" /c/guide/rotate.md "$L: --since: vector side filtered"
	# Nothing found is no error (exit 0, a filter may rightly select
	# nothing), but said, with why: stdout stays data only.
	out=$(docpipe-query --vector "$E0" --where lang=de keys 2>err); rc=$?
	is "$rc/$out/$(cat err)" "0//docpipe-query: notice: no result: no stored document passes the filters (--path, --where, --since)" \
		"$L: no document passes the filters: said on stderr, exit 0"
	docpipe-query --mode text --where lang=fr keys >/dev/null 2>err
	like "$(cat err)" "no result: no chunk of the documents the filters select holds the question's search terms" \
		"$L: no selected chunk holds the terms: said"
	docpipe-query --mode text qqzzyyxx >/dev/null 2>err
	like "$(cat err)" "no result: no stored chunk holds the question's search terms" "$L: no chunk holds the terms: said"
	docpipe-query --since 'not a date' x >/dev/null 2>err; is "$?" 2 "$L: --since: a bad date is a usage error"
	like "$(cat err)" "--since: 'not a date' is not a date" "$L: --since: named in the error"
	# Zero vectors.
	out=$(docpipe-query --mode vector --vector "$ZERO" x 2>&1); rc=$?
	is "$rc" 2 "$L: zero question vector, vector mode: exit 2"
	like "$out" "zero vector" "$L: zero question vector: says why"
	out=$(docpipe-query --json --vector "$ZERO" zyxqvortex 2>err); rc=$?
	is "$rc/$(jq -r .path <<<"$out")" "0//c/guide/rotate.md" "$L: zero question vector, hybrid: text answers"
	like "$(cat err)" "notice: .*zero vector" "$L: zero question vector, hybrid: a notice"
	out=$(docpipe-query --mode vector --json -k 100 --vector "$E0" x)
	is "$(jq -s 'length' <<<"$out")/$(jq -s 'map(.path) | index("/c/notes/dot.md")' <<<"$out")" "4/null" "$L: -k 100 returns every chunk with a vector; a zero-vector chunk is never ranked"
	is "$(jq -s 'map(.score | type) | unique | join(",")' <<<"$out")" '"number"' "$L: no NaN scores"
	docpipe-query --mode text '?' >/dev/null 2>&1; is "$?" 2 "$L: text mode, a question without terms: exit 2"
	out=$(docpipe-query -k 1 --vector "$E0" '?' 2>/dev/null); is "$?/$(grep -c cafe.md <<<"$out")" "0/1" "$L: hybrid, no terms: the vector side answers"
	# -k N returns N rows whenever N exist, whatever the HNSW search list.
	# (3,000 chunks: enough for the planner to use an HNSW index.)
	python3 "$TOP/bench/store-gen.py" --docs 1000 --chunks 3 --dim 4 --root /gen | docpipe-store -q >/dev/null
	sql "ANALYZE docpipe.chunks"
	is "$(docpipe-query --mode vector --json -k 100 --ef-search 10 --vector "$E0" x | jq -s length)" 100 "$L: -k 100 with --ef-search 10: 100 rows"
	text=$(docpipe-query -k 1 --vector "$E0" zyxqvortex)
	like "$text" '^1\. [0-9.]+  /c/guide/rotate\.md  \(Keys > Rotation\)' "$L: text output"
}

newdb || exit 1
suite "real[]"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'vector_type'")" "real[]" "real[]: the corpus uses real[]"
if type newdb_pgvector >/dev/null 2>&1 && newdb_pgvector; then
	suite vector
	is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'vector_type'")" vector "vector: the corpus uses pgvector"
else
	skip "pgvector: no test helper (newdb_pgvector) or no extension"
fi
docpipe-query --mode nope x 2>/dev/null; is "$?" 2 "bad --mode: exit 2"
docpipe-query --where nokey x 2>/dev/null; is "$?" 2 "bad --where: exit 2"
done_testing
