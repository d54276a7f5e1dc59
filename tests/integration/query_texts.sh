#!/bin/bash
# docpipe-query's texts (session 61, helper h61d).  A SQL_ASCII database
# stores the bytes it is sent: a path, chunk or summary that another
# program wrote with bytes that are not UTF-8 failed every search that
# reached it (exit 3, "invalid byte sequence for encoding "UTF8": 0xff",
# no chunk named); it is read as stored and each such byte shown as
# U+FFFD.  A snippet cut at its 240 bytes could end inside a "**" mark
# ("... **alpha** *..."), and the document's own "**bold**" is written
# with the same marks: the marks are never cut or left open, and --json's
# "highlights" gives each term's byte range in the snippet.  Option
# numbers: " 5" was taken where "5 " was refused; both are.
# vector-rerun: no (the texts are the same on pgvector)
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
cd "$T_DIR"

# docs PREFIX...: one document /c/NN.md a prefix, each of PREFIX then
# "alpha" 40 times (the headline's 24 words run past the snippet's room).
docs() {
	python3 - "$@" <<'PY'
import base64, json, struct, sys
vec = base64.b64encode(struct.pack("<4f", 1, 0, 0, 0)).decode()
for i, prefix in enumerate(sys.argv[1:]):
    print(json.dumps({"v": 1, "kind": "document", "path": "/c/%02d.md" % i, "root": "/c",
        "hash": str(i), "chunker": "t", "embedder": "local/fh-v1", "dim": 4,
        "chunks": [{"seq": 0, "text": prefix + " " + "alpha " * 40, "heading": ["H"], "vec": vec}]}))
PY
}
# The prefixes shift the cut over each byte of "**alpha** " (one of them
# cut "... **alpha** *..." before); the last holds the document's own bold.
docs b bb bbb bbbb bbbbb bbbbbb bbbbbbb bbbbbbbb bbbbbbbbb bbbbbbbbbb "**bold** x" >docs.ndjson
docpipe-store -q <docs.ndjson >/dev/null 2>&1 || { ok 0 "store the test corpus"; done_testing; }
docpipe-query --json --mode text -k 11 alpha >out.ndjson
is "$(jq -s length out.ndjson)" 11 "every document found"
# Each place's bytes are "alpha", or its start where the room ended,
# between marks, and the snippet holds no other mark but the document's
# own (the snippets are ASCII: jq's offsets in characters are the bytes').
is "$(jq -r '.snippet as $s | .highlights[] as [$a, $b] | ($s[$a - 2:$a] == "**" and $s[$b:$b + 2] == "**"
	and $b > $a and ("alpha" | startswith($s[$a:$b])))' out.ndjson | sort -u)" true \
	"each highlight's place holds the term (or its start) between its marks"
is "$(jq -r 'select(.path == "/c/10.md") | .snippet | test("[*][*]alp[*][*][.]{3}$")' out.ndjson)" true \
	"a term cut by the room: closed"
# ts_headline begins a fragment at a word: "bold** x", the document's own.
is "$(jq -r '.snippet as $s | ($s | [match("[*]"; "g")] | length) - 4 * (.highlights | length)
	- (if .path == "/c/10.md" then 2 else 0 end)' out.ndjson | sort -u | paste -sd ' ')" "0" \
	"no mark cut, left open or half: every '*' is a highlight's or the document's own"
is "$(jq -r 'select(.snippet | test("[*][.]{3}$") and (test("[*]{2}[.]{3}$") | not)) | .path' out.ndjson)" "" \
	"no snippet ends in a half mark"
is "$(jq -r 'select(.path == "/c/10.md") | [(.snippet | startswith("bold** x **alpha**")), .highlights[0]] | @json' out.ndjson)" \
	'[true,[11,16]]' "the document's own **: kept, not a highlight"
like "$(jq -r '.snippet | length' out.ndjson | sort -n | tail -n 1)" '^2(3[0-9]|4[0-3])$' "... within the room (240 bytes and '...')"
is "$(docpipe-query --mode vector --json -k 1 alpha | jq -c .highlights)" "[]" "vector mode: no highlights"
# A text's own STX and ETX, the bytes ts_headline marks the terms with.
sql "UPDATE docpipe.chunks c SET content = E'beta \\x02gamma\\x03 alpha' FROM docpipe.documents d
	WHERE d.id = c.document_id AND d.path = '/c/00.md'"
is "$(docpipe-query --json --mode text -k 11 alpha | jq -c 'select(.path == "/c/00.md") | [.snippet, .highlights]')" \
	'["beta gamma **alpha**",[[13,18]]]' "a text's own STX and ETX: no marks"

# A SQL_ASCII database; bytes that are not UTF-8 in a path, a chunk and a
# summary, as another program may write them.
ASCII=${PGDATABASE}_a
createdb -T template0 -E SQL_ASCII --locale=C "$ASCII" || exit 1
at_exit "dropdb --if-exists '$ASCII' >/dev/null 2>&1"
export PGDATABASE=$ASCII DATABASE_URL="postgresql:///$ASCII?host=$PGHOST&port=$PGPORT&user=$PGUSER"
docs b bb >docs.ndjson
docpipe-store -q <docs.ndjson >/dev/null 2>&1 || { ok 0 "store in a SQL_ASCII database"; done_testing; }
sql "UPDATE docpipe.documents SET path = convert_from('\\x2f632f62ff2e6d64'::bytea, 'SQL_ASCII'),
	summary = convert_from('\\x73756dfe'::bytea, 'SQL_ASCII') WHERE path = '/c/00.md';
     UPDATE docpipe.chunks SET heading = ARRAY[convert_from('\\x48fd'::bytea, 'SQL_ASCII')];
     UPDATE docpipe.chunks c SET content = convert_from('\\x616c7068612062ff6c7565'::bytea, 'SQL_ASCII')
	FROM docpipe.documents d WHERE d.id = c.document_id AND d.path = '/c/01.md'"
for mode in hybrid text vector; do
	out=$(docpipe-query --json --mode "$mode" -k 2 alpha 2>err); rc=$?
	is "$rc/$(cat err)" "0/" "SQL_ASCII, bytes that are not UTF-8, --mode $mode: answered"
	is "$(jq -r '[.path, .summary // "", .heading[0], .content] | join("|")' <<<"$out" | sort | paste -sd ' ')" \
		"/c/01.md||H�|alpha b�lue /c/b�.md|sum�|H�|b$(printf ' alpha%.0s' {1..40}) " \
		"... --mode $mode: each such byte U+FFFD"
done
out=$(docpipe-query --mode vector -k 2 alpha 2>&1)
like "$out" '/c/b�\.md ' "... text output: the path"
like "$out" ' alpha b�lue' "... and the snippet"

# Option numbers: whitespace before one refused as after.
for k in ' 5' '5 ' $'\t5'; do
	out=$(docpipe-query -k "$k" alpha 2>&1); rc=$?
	is "$rc/$out" "2/docpipe-query: --top: '${k/$'\t'/\\x09}' is not a whole number from 1 to 1000" "-k '$k': refused"
done
out=$(docpipe-query --text-weight ' 1' alpha 2>&1); rc=$?
is "$rc/$out" "2/docpipe-query: --text-weight: ' 1' is not a number from 0 to 1000" "--text-weight ' 1': refused"
is "$(docpipe-query -k 5 --mode text alpha 2>&1 | grep -c '^[0-9]')" 2 "-k 5: taken"
# The same parsers in the other programs: an API option's, --price.
out=$(docpipe-embed --timeout ' 5' </dev/null 2>&1); rc=$?
is "$rc/$out" "2/docpipe-embed: --timeout: ' 5' is not a number above 0 and at most 86400" "docpipe-embed --timeout ' 5': refused"
out=$(docpipe-plan --price 'm= 1' . 2>&1); rc=$?
is "$rc/$out" "2/docpipe-plan: --price expects MODEL=USD_PER_MILLION_TOKENS, got 'm= 1'" "docpipe-plan --price 'm= 1': refused"
# Every program reads such a database's texts as stored (dp_db_connect,
# session 61, lead): docpipe-status listed a failure, and a run's sweep
# read the paths under its roots, with the server's check on the way out
# ("invalid byte sequence", exit 3: a run over the root failed its sweep).
sql "INSERT INTO docpipe.failures (path, root, run, stage, error)
	VALUES (convert_from('\\x2f632f66ff2e6d64'::bytea, 'SQL_ASCII'), '/c', 'r0', 'chunk', 'bad')"
out=$(docpipe-status 2>&1); rc=$?
is "$rc" 0 "SQL_ASCII, bytes that are not UTF-8: docpipe-status answers"
like "$out" '/c/f�\.md' "... naming the failure's path"
out=$(docpipe-store --sweep r1 /c </dev/null 2>err); rc=$?
is "$rc/$(grep -vE 'swept|vectors stored' err)" 0/ "... the sweep of a root holding such a path: done"
is "$(jq -r 'select(.status == "deleted") | .path' <<<"$out" | sort | paste -sd ' ')" "/c/01.md /c/b�.md" \
	"... its receipts name the paths, each such byte U+FFFD"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" 0 "... and the documents are gone"
done_testing
