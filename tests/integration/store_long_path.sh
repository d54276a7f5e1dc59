#!/bin/bash
# A path longer than a PostgreSQL index entry holds (2,704 bytes on 8 KB
# pages; a path is the key of documents, tombstones and failures).  Before:
# a 3,000-byte path that does not compress failed its document's write,
# then its failure's ("index row size ... exceeds btree version 4 maximum
# 2704"), and the store exited 3; started again, it got the re-sent copies
# and exited again, until the hub re-sent them while the dying store still
# held its input: they went into its queue and the run waited --timeout
# (300 s) for them.  Now the store fails that document alone, naming the
# length (src/store/doc.c), and keeps its failure under the path cut to the
# bound (src/store/outcome.c).  And a replica that says goodbye and exits
# is waited for before the hub re-sends what was in flight
# (src/hub/loop.c, await_goodbyes): checked with a failure the database
# refuses once (a trigger), which makes the store exit 3 once.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
mkdir -p "$D"
printf '# Near\n\nA file near the root.\n' >"$D/near.md"
# 15 directories of 200 letters that do not compress, made through
# directory descriptors.
python3 - "$D" <<'PY'
import os, random, string, sys
rnd = random.Random(7)
fd = os.open(sys.argv[1], os.O_RDONLY)
for _ in range(15):
    name = "".join(rnd.choice(string.ascii_letters) for _ in range(200))
    os.mkdir(name, dir_fd=fd)
    nxt = os.open(name, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nxt
f = os.open("deep.md", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
os.write(f, b"# Deep\n\nFar down.\n")
os.close(f)
PY
DEEP=$(find "$D" -name deep.md)
docpipe run "$D" --progress none >"$T_DIR/run.json" 2>"$T_DIR/run.err"
is "$?/$(jq -c '[.added, .failed]' "$T_DIR/run.json")" '1/[1,1]' \
	"a path of 3,000+ bytes: exit 1, the other file stored, that one failed"
like "$(jq -r '.failures[0].error' "$T_DIR/run.json")" \
	"its path has ${#DEEP} bytes: the store keeps paths of at most 2692" "its failure names the length and the bound"
is "$(grep -c 'restarting\|query failed' "$T_DIR/run.err")" 0 "no store exited"
is "$(sql "SELECT octet_length(path) || ':' || starts_with('$DEEP', path) FROM docpipe.failures")" "2692:true" \
	"its failure kept under the path cut to the bound"
docpipe run "$D" --progress none >"$T_DIR/run.json" 2>"$T_DIR/run.err"
is "$?/$(jq -c '[.unchanged, .failed]' "$T_DIR/run.json")/$(sql 'SELECT count(*) FROM docpipe.failures')" \
	'1/[1,1]/1' "the next run: the same, one failure kept"
rm "$DEEP"
docpipe run "$D" --progress none >"$T_DIR/run.json" 2>"$T_DIR/run.err"
is "$?/$(sql 'SELECT count(*) FROM docpipe.failures')" '0/0' "the file gone: its failure swept"

# A store that exits 3 after its goodbye, four times: the failure's INSERT
# refused by a trigger (the old hub lost the copies 1 time in 6 a death).
sql "CREATE SEQUENCE public.refused; CREATE FUNCTION public.refuse_4() RETURNS trigger LANGUAGE plpgsql AS
     \$\$BEGIN IF nextval('public.refused') <= 4 THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END\$\$;
     CREATE TRIGGER refuse_4 BEFORE INSERT ON docpipe.failures FOR EACH ROW EXECUTE FUNCTION public.refuse_4()" >/dev/null
for i in 1 2 3 4 5 6; do printf '# Doc %s\n\nText %s.\n' "$i" "$i" >"$D/doc$i.md"; done
printf '\x00\x01\x02 binary\n' >"$D/bad.md"
docpipe run "$D" --progress none --timeout 20 >"$T_DIR/run.json" 2>"$T_DIR/run.err"
rc=$?
is "$rc/$(jq -c '[.complete, .failed]' "$T_DIR/run.json")/$(sql "SELECT count(*) FROM docpipe.documents WHERE path LIKE '%/doc_.md'")" \
	'1/[true,1]/6' "the store exited 4 times on the refused INSERT: the run ends with all 6 stored, 1 failed"
like "$(cat "$T_DIR/run.err")" "refused" "the store's exits were the trigger's"
resent=0
while read -r n; do resent=$((resent + n)); done < <(sed -n 's/.*re-sending the \([0-9]*\) document.*/\1/p' "$T_DIR/run.err")
is "$(jq '.resent' "$T_DIR/run.json")" "$resent" \
	"every copy re-sent came from the store's exits: none waited for --timeout"
done_testing
