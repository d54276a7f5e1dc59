#!/bin/bash
# docpipe-query over a small corpus with known vectors (real[] scan).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
cd "$T_DIR"

out=$(docpipe-query hello 2>&1); rc=$?
is "$rc" 1 "no corpus: exit 1"
like "$out" "holds no docpipe corpus" "no corpus: clear message"

# Four chunks with vectors at known angles to e0 = (1,0,0,0).
python3 - >docs.ndjson <<'PY'
import base64, json, struct
def v(*x): return base64.b64encode(struct.pack("<4f", *x)).decode()
docs = [("/c/a.md", [("alpha exact", [1, 0, 0, 0]), ("alpha near", [0.9, 0.1, 0, 0])]),
        ("/c/b.md", [("beta opposite", [-1, 0, 0, 0]), ("beta orthogonal", [0, 1, 0, 0])])]
for path, chunks in docs:
    print(json.dumps({"v": 1, "kind": "document", "path": path, "root": "/c", "hash": path,
        "chunker": "t", "summary": "about " + path, "embedder": "local/fh-v1", "dim": 4,
        "chunks": [{"seq": i, "text": t, "heading": ["H", str(i)], "vec": v(*x)}
                   for i, (t, x) in enumerate(chunks)]}))
PY
docpipe-store -q <docs.ndjson >/dev/null
E0=$(f32_base64 1 0 0 0)
out=$(docpipe-query --mode vector --json -k 3 --vector "$E0" x); rc=$?
is "$rc" 0 "query exits 0"
is "$(jq -r .content <<<"$out" | paste -sd '|')" "alpha exact|alpha near|beta orthogonal" "top-k in cosine order"
is "$(jq -c '[.rank, .path, .seq, .heading, .summary]' <<<"$out" | head -1)" '[1,"/c/a.md",0,["H","0"],"about /c/a.md"]' "--json fields"
is "$(jq -r '.score * 1000 | round' <<<"$out" | xargs)" "1000 994 0" "scores are cosines"
text=$(docpipe-query --mode vector -k 1 --vector "$E0" x)
like "$text" '^1\. 1\.0000  /c/a\.md  \(H > 0\)' "text output: rank, score, path, headings"
like "$text" 'alpha exact' "text output: snippet"
# The question itself, embedded with the corpus's embedder.
out=$(docpipe-query -k 2 --json "alpha"); rc=$?
is "$rc/$(jq -s length <<<"$out")" "0/2" "question embedded with the corpus embedder"
docpipe-query -k 0 x 2>/dev/null; is "$?" 2 "bad -k: exit 2"
out=$(DATABASE_URL="postgresql://127.0.0.1:1/x?connect_timeout=2" docpipe-query x 2>&1); rc=$?
is "$rc" 3 "unreachable database: exit 3"
# A question of thousands of distinct words took the server 7-11 s (a count
# and an OR branch per term): more than 256 is a usage error, at once.
out=$(docpipe-query "$(seq -f 'term%g' 1 3000 | tr '\n' ' ')" 2>&1); rc=$?
is "$rc" 2 "3,000 distinct terms: exit 2"
like "$out" "the question has 3000 distinct search terms, more than 256" "saying why"
is "$(docpipe-query --json "$(seq -f 'term%g' 1 200 | tr '\n' ' ') keys" >/dev/null 2>&1; echo $?)" 0 "200 terms: searched"
done_testing
