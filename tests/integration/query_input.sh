#!/bin/bash
# docpipe-query refuses input it would otherwise take silently (exit 2, the
# bad value named): a --path glob that can match no stored path as written
# (man docpipe-query, --path; before: '[' returned nothing and said nothing,
# '[]' failed as a database error, exit 3), text that is not UTF-8 in the
# question, --path, --where or --since (the byte offset said; before: taken,
# PostgreSQL or the lexer saw garbage), and the other options' silent cases
# (--out or --jq without --json, a bad
# --vector in text mode, an unset --db-env variable -- in docpipe-store and
# docpipe-status too, which fell back to the PG* variables' database --,
# several QUESTION words, options the --mode does not use).  Lost corpus settings (docpipe.settings deleted or dropped under
# stored chunks) are said as such by docpipe-query (exit 3) and
# docpipe-status, in one wording (before: "no docpipe corpus" or "no
# embedded documents yet", exit 1), and docpipe-store refuses to store into
# such a database (exit 2; before, it claimed the corpus for the next
# record's embedder, mixing two embedders' vectors in one column).
# vector-rerun: no (nothing here depends on the vector type)
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
cd "$T_DIR"

python3 - >docs.ndjson <<'PY'
import base64, json, struct
def v(*x): return base64.b64encode(struct.pack("<4f", *x)).decode()
docs = [("/c/a.md", {"lang": "en", "tags": ["a", "b"], "weight": 10.0}, "alpha exact", (1, 0, 0, 0)),
        ("/c/b[1].md", {"lang": "fr", "tags": "a"}, "alpha bracket", (0, 1, 0, 0)),
        ("/c/star*.md", {"lang": "en", "tags": ["b"], "weight": 3, "empty": None}, "alpha star", (0, 0, 1, 0)),
        ("/c/caf\u00e9/x.md", {"lang": "fr"}, "alpha accent", (0, 0, 0, 1)),
        ("/c/long/" + "x" * 64, {}, "alpha long", (1, 1, 0, 0))]
for path, meta, text, vec in docs:
    print(json.dumps({"v": 1, "kind": "document", "path": path, "root": "/c", "hash": path,
        "meta": meta, "chunker": "t", "embedder": "local/fh-v1", "dim": 4,
        "chunks": [{"seq": 0, "text": text, "heading": ["H"], "vec": v(*vec)}]}))
PY
docpipe-store -q <docs.ndjson >/dev/null || { ok 1 "store the test corpus"; done_testing; }

paths() { docpipe-query --json --mode text -k 9 "$@" alpha | jq -r .path | sort | paste -sd ' ' -; }
refused() { # refused WHY-REGEX NAME ARGS...: exit 2 and a message matching WHY-REGEX
	local why=$1 name=$2 out rc; shift 2
	out=$(docpipe-query "$@" 2>&1 >/dev/null); rc=$?
	is "$rc" 2 "$name: exit 2"
	like "$out" "^docpipe-query: $why" "$name: says why"
}

# --path: globs as fnmatch reads them, and the ones that can match nothing.
is "$(paths --path '/c/b\[1\].md')" '/c/b[1].md' "--path: '\\[' matches a '['"
is "$(paths --path '/c/b[[]1].md')" '/c/b[1].md' "--path: '[[]' matches a '['"
is "$(paths --path '/c/star\*.md')" '/c/star*.md' "--path: '\\*' matches a '*' only"
is "$(paths --path '/c/[]a-b]*')" '/c/a.md /c/b[1].md' "--path: a ']' first belongs to the class"
is "$(paths --path '/c/[![:alpha:]]*' --path '/c/caf[à-ê]/*')" '/c/café/x.md' "--path: named classes, negation, a range of accented letters"
refused "--path '\\[': the '\\[' at byte 0 opens a character class that is never closed" "--path '['" --path '[' x
refused "--path '/c/\\[\\]': the '\\[' at byte 3 opens" "--path '/c/[]'" --path '/c/[]' x
refused "--path '/c/a\\\\': it ends in a '\\\\' that escapes nothing" "--path with a trailing backslash" --path '/c/a\' x
refused "--path '\\*\\[z-a\\]': the range 'z-a' at byte 2 runs backwards" "--path with a backward range" --path '*[z-a]' x
refused "--path '/c/\\[\\[:alfa:\\]\\]': the '\\[:' at byte 4 names no character class" "--path with an unknown class" --path '/c/[[:alfa:]]' x
refused "--path 'c/\\*': stored paths are absolute.*'\\*/c/\\*'" "--path relative" --path 'c/*' x
refused "--path '': an empty pattern" "--path ''" --path '' x
# What a glob may cost the server: 33 patterns were each compiled again for
# every document (PostgreSQL caches 32); 680 negated classes took 9 s.
many=(); for i in $(seq 33); do many+=(--path "/c/$i/*"); done
refused "--path: at most 32 patterns" "33 --path patterns" "${many[@]}" x
is "$(paths "${many[@]:4}" --path /c/a.md)" /c/a.md "32 --path patterns: searched"
refused "--path '/c/(\\[!a\\]){20}.*': it has more than 64 bracket expressions" \
	"65 bracket expressions" --path "/c/$(printf '[!a]%.0s' $(seq 65))" x
is "$(paths --path "/c/long/$(printf '[!€]%.0s' $(seq 64))")" "/c/long/$(printf 'x%.0s' $(seq 64))" "64 bracket expressions: searched"
refused "--path '\\[': " "a bad --path after a good one" --path '/c/*' --path '[' x

# Text that is not UTF-8.
refused "the question is not valid UTF-8: the byte at offset 5 \\(0xff\\) begins no valid character: 'alpha\\\\xff'" \
	"question with 0xff" --mode text $'alpha\xff'
refused "the question is not valid UTF-8: the byte at offset 3 \\(0xc3\\)" "question with a cut sequence (hybrid)" $'caf\xc3'
refused "--path is not valid UTF-8: the byte at offset 6 \\(0xe9\\)" "Latin-1 --path" --path $'/c/caf\xe9/*' x
refused "--where is not valid UTF-8: the byte at offset 5 \\(0xff\\)" "--where value" --where $'lang=\xff' x
refused "--where is not valid UTF-8: the byte at offset 0 \\(0xc0\\)" "--where key (overlong)" --where $'\xc0\xaf=en' x
refused "--since is not valid UTF-8: the byte at offset 4 \\(0xff\\)" "--since" --since $'2024\xff' x

# Text output on a terminal: a document's control characters (in its text,
# heading or file name) are shown escaped, never sent (ESC ] 0 ; ... BEL set
# the terminal's title; helper's fault sweep 6), and so is a bidi override
# (U+202E makes the rest of a name read backwards: sweep 21b).
python3 - <<'PY' | docpipe-store -q >/dev/null
import base64, json, struct
print(json.dumps({"v": 1, "kind": "document", "path": "/c/esc\x1b[31m\u202egpj.md", "root": "/c", "hash": "esc",
    "meta": {}, "chunker": "t", "embedder": "local/fh-v1", "dim": 4,
    "chunks": [{"seq": 0, "text": "omega \x1b]0;pwned\x07 \u009b2J title", "heading": ["H\x07"],
                "vec": base64.b64encode(struct.pack("<4f", 1, 0, 0, 1)).decode()}]}))
PY
out=$(docpipe-query --mode text omega)
[[ $out != *$'\x1b'* && $out != *$'\x07'* && $out != *$'\xc2\x9b'* && $out != *$'\xe2\x80\xae'* ]]
ok $? "text output: no control character or bidi override sent"
like "$(head -n 1 <<<"$out")" '/c/esc\\x1b\[31m\\u202egpj\.md  \(H\\x07\)' "... shown escaped in the path and heading"
like "$(tail -n 1 <<<"$out")" '\\x1b\]0;pwned\\x07 \\u009b2J title' "... and in the snippet"
is "$(docpipe-query --json --mode text omega | jq -c '[.path, .snippet] | map(explode | map(select(. < 32 or (. > 126 and . < 160))))')" \
	'[[27],[27,7,155]]' "--json: the text as stored (JSON escapes it)"

# The other options.
is "$(paths --where lang=en --where lang=en)" '/c/a.md /c/star*.md' "--where KEY twice, one value: searched"
# A list holds each of its elements: --where tags=a matched nothing (the
# value was compared as PostgreSQL prints the list); a number is compared
# as one (10.0 is 10); a key left empty (null) is matched by an empty
# value or "null" (helper's fault sweep 6).
is "$(paths --where tags=a)" '/c/a.md /c/b[1].md' "--where on a list: any element (and a plain string)"
is "$(paths --where tags=a --where tags=b)" '/c/a.md' "--where KEY twice, two values: a list holding both"
is "$(paths --where lang=en --where lang=fr)" '' "--where KEY twice on a plain value: nothing holds both"
is "$(paths --where weight=10)/$(paths --where weight=10.0)/$(paths --where weight=1e1)" '/c/a.md//c/a.md//c/a.md' \
	"--where on a number: compared as a number"
is "$(paths --where weight=ten)" '' "--where: text that is no number matches no number (and is no error)"
is "$(paths --where empty=)/$(paths --where empty=null)" '/c/star*.md//c/star*.md' "--where on a key left empty: '' or null"
is "$(paths --where nokey=)" '' "--where KEY=: a document without KEY does not pass"
refused "--out applies to --json output only" "--out without --json" --out "$T_DIR/o" --mode text alpha
[ ! -e "$T_DIR/o" ]; ok $? "--out without --json: no file made"
refused "--jq applies to --json output only" "--jq without --json" --jq .path --mode text alpha
refused "--vector: vector has 2 base64 characters; 4 dimensions need 24" "a bad --vector in text mode" --mode text --vector '!!' alpha
out=$(docpipe-query --mode text --vector "$(f32_base64 1 0 0 0)" exact 2>&1 >/dev/null); rc=$?
is "$rc/$out" "0/docpipe-query: notice: --mode text ranks by the question's words: --vector is not used" "a good --vector in text mode: searched, with a notice"
refused "cannot connect to the database: --db-env NO_SUCH_VAR: \\\$NO_SUCH_VAR is not set, so it names no connection string \\(without --db-env" \
	"--db-env naming an unset variable" --db-env NO_SUCH_VAR alpha
# The store and docpipe-status took an unset --db-env variable for "use the
# PG* variables" and wrote into (or read) whichever database those named.
before=$(sql "SELECT count(*) FROM docpipe.documents")
out=$(sed 's|/c/a.md|/c/new.md|' docs.ndjson | head -1 | NO_SUCH_VAR= docpipe-store -q --db-env NO_SUCH_VAR 2>&1 >/dev/null); rc=$?
is "$rc" 2 "docpipe-store --db-env naming an empty variable: exit 2"
like "$out" '^docpipe-store: cannot connect to the database: --db-env NO_SUCH_VAR: .NO_SUCH_VAR is empty, so it names no connection string' "docpipe-store: says why"
is "$(sql "SELECT count(*) FROM docpipe.documents")" "$before" "docpipe-store --db-env unset: nothing stored into the PG* variables' database"
out=$(docpipe-status --db-env NO_SUCH_VAR 2>&1 >/dev/null); rc=$?
is "$rc/$out" "2/docpipe-status: cannot connect to the database: --db-env NO_SUCH_VAR: \$NO_SUCH_VAR is not set, so it names no connection string (without --db-env, \$DATABASE_URL or libpq's PG* variables name the database)" \
	"docpipe-status --db-env unset: exit 2, says why"
# Options the mode does not use are named (a notice: the search goes on).
out=$(docpipe-query --mode vector --prf 2 --text-rank cd --ef-search 50 alpha 2>&1 >/dev/null); rc=$?
is "$rc/$out" "0/docpipe-query: notice: --mode vector does not use --text-rank (it applies to --mode hybrid or text)
docpipe-query: notice: --mode vector does not use --prf (it applies to --mode hybrid)" "--mode vector with hybrid and text options: searched, each unused one named"
out=$(docpipe-query --mode text --ef-search 50 --fusion rrf alpha 2>&1 >/dev/null); rc=$?
is "$rc/$out" "0/docpipe-query: notice: --mode text does not use --ef-search (it applies to --mode hybrid or vector)
docpipe-query: notice: --mode text does not use --fusion (it applies to --mode hybrid)" "--mode text with vector and fusion options: named"
out=$(docpipe-query --rrf-k 10 --prf 0 --prf-weight 2 alpha 2>&1 >/dev/null); rc=$?
is "$rc/$out" "0/docpipe-query: notice: --rrf-k is not used: it applies to --fusion rrf
docpipe-query: notice: --prf-weight is not used: --prf 0 turns the feedback off" "hybrid: --rrf-k under z-score fusion, --prf-weight without feedback: named"
is "$(docpipe-query --fusion rrf --rrf-k 10 --prf 2 --prf-weight 2 --text-rank cd alpha 2>&1 >/dev/null)" "" "hybrid with every option it uses: no notice"
refused "one QUESTION expected, 3 arguments given \\('how', 'do', ...\\): quote" "an unquoted question" how do keys
refused "no QUESTION given" "no question"
DATABASE_URL='postgresql://u:p%zz@localhost/x' refused "cannot connect to the database: .DATABASE_URL is not a valid connection string" \
	"a DATABASE_URL libpq cannot parse (a configuration error)" alpha

# Lost settings: the chunks are there, their embedder is unknown.
sql "DELETE FROM docpipe.settings"
out=$(docpipe-query alpha 2>&1 >/dev/null); rc=$?
is "$rc" 3 "settings deleted: exit 3"
like "$out" "^docpipe-query: the corpus's settings are lost \(docpipe.settings has no embedder or dim\) but docpipe.chunks holds embedded chunks: which embedder.* is unknown.*restore docpipe.settings from a backup, or store the corpus again into an empty database$" \
	"settings deleted: says they are lost and what to do"
is "docpipe-query: $(docpipe-status --json | jq -r .settings_lost)" "$out" "settings deleted: docpipe-status --json says the same words"
like "$(docpipe-status)" "LOST: the corpus's settings are lost" "settings deleted: docpipe-status says so in text"
# docpipe-store refuses to claim the corpus again (exit 2): the next record's
# embedder and vectors would join chunks of an unknown one.
store_refuses() {
	local out rc
	out=$(sed -n 1p docs.ndjson | sed 's|"/c/a.md"|"/c/new.md"|; s|local/fh-v1|other/model|' |
		docpipe-store -q 2>&1 >/dev/null)
	rc=$?
	is "$rc" 2 "$1: docpipe-store refuses to store (exit 2)"
	like "$out" "^docpipe-store: .*the corpus's settings are lost" "$1: docpipe-store says why"
	is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '/c/new.md'")" 0 "$1: nothing stored"
}
store_refuses "settings deleted"
is "$(sql "SELECT count(*) FROM docpipe.settings WHERE key IN ('embedder', 'dim', 'vector_type')")" 0 \
	"settings deleted: the store claimed nothing"
sql "DROP TABLE docpipe.settings"
out=$(docpipe-query --mode text alpha 2>&1 >/dev/null); rc=$?
is "$rc" 3 "settings table dropped: exit 3"
like "$out" "the corpus's settings are lost \(table docpipe.settings is gone\) but docpipe.chunks holds embedded chunks" \
	"settings table dropped: says so"
is "docpipe-query: $(docpipe-status --json | jq -r .settings_lost)" "$out" "settings table dropped: docpipe-status says the same words"
store_refuses "settings table dropped"
# Not lost: nothing stored, or nothing embedded yet.
newdb || exit 1
out=$(docpipe-query alpha 2>&1 >/dev/null); rc=$?
is "$rc/$out" "1/docpipe-query: this database holds no docpipe corpus (run docpipe-store first)" "an empty database: no corpus, exit 1"
is "$(docpipe-status --json | jq -c .settings_lost)" null "an empty database: status says nothing is lost"
# Chunks stored without vectors (no embed stage): their text is indexed
# all the same, and text mode searched nothing (exit 1, "no embedded
# documents yet"; helper's fault sweep 6).
printf '%s\n' '{"v":1,"kind":"document","path":"/t/a.md","root":"/t","hash":"a","chunker":"t","chunks":[{"seq":0,"text":"kappa words here","heading":["H"]}]}' |
	docpipe-store -q >/dev/null
is "$(docpipe-query --json --mode text kappa | jq -r .path)" /t/a.md "no vectors: --mode text finds the text"
out=$(docpipe-query --json kappa 2>"$T_DIR/e" | jq -r .path)
is "$out/$(cat "$T_DIR/e")" "/t/a.md/docpipe-query: notice: the corpus has no embedded documents: ranked by its text only" \
	"no vectors: hybrid ranks by text, and says so"
out=$(docpipe-query --mode vector kappa 2>&1 >/dev/null); rc=$?
is "$rc/$out" "1/docpipe-query: the corpus has no embedded documents yet: --mode vector needs vectors (--mode text searches its text)" \
	"no vectors: --mode vector has nothing to rank by, exit 1"
done_testing
