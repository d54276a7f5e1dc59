#!/bin/bash
# docpipe-discover on a hostile tree: symlink loops, symlinks out of the
# root, a FIFO, hidden entries, odd names, globs and excludes, an
# unreadable file, a name that is not UTF-8, a missing root.
. "$(dirname "$0")/../lib/tap.sh"

D=$T_DIR/docs
O=$T_DIR/outside
mkdir -p "$D/sub/deep" "$D/.git" "$D/old" "$O"
echo "# A" >"$D/a.md"
echo "b text" >"$D/sub/b.txt"
echo "# deep" >"$D/sub/deep/c.markdown"
echo "int x;" >"$D/code.c"
echo "hidden" >"$D/.hidden.md"
echo "git" >"$D/.git/x.md"
echo "old" >"$D/old/o.md"
echo "secret" >"$O/secret.md"
ln -s .. "$D/sub/loop"
ln -s "$O" "$D/sub/out"
ln -s "$O/secret.md" "$D/link.md"
mkfifo "$D/pipe.md"
weird='q"uote\back sl p é日本.md'
echo "weird" >"$D/$weird"

timeout 20 docpipe-discover "$D" >"$T_DIR/out" 2>"$T_DIR/err"
is "$?" 0 "walk succeeds (and ends: no loop, no FIFO hang)"
paths=$(jq -r '.path' "$T_DIR/out" | sed "s|^$D/||" | tr '\n' ',')
# strcmp order: "a.md" < "old" < "q\"..." < "sub"
is "$paths" "a.md,old/o.md,$weird,sub/b.txt,sub/deep/c.markdown," "default globs, sorted per directory"
is "$(jq -r 'select(.path | contains("outside") or contains("secret")) | .path' "$T_DIR/out")" "" "nothing from outside the root"
is "$(jq -r '.root' "$T_DIR/out" | sort -u)" "$D" "root is the absolute root"
is "$(jq -r 'select(.path | endswith("a.md")) | [.kind, .v, .size, (.hash | length), (.mtime > 0)] | @csv' "$T_DIR/out")" \
	'"file",1,4,32,true' "file record fields"
is "$(jq -r 'select(.path | endswith("a.md")) | .hash' "$T_DIR/out")" \
	"$(docpipe-discover "$D/a.md" | jq -r .hash)" "a file root gives the same hash"
like "$(cat "$T_DIR/err")" "sub/loop: symbolic link, not followed" "symlink loop reported"
like "$(cat "$T_DIR/err")" "sub/out: symbolic link, not followed" "symlink out of the root reported"
like "$(cat "$T_DIR/err")" "link.md: symbolic link, not followed" "file symlink reported"
like "$(cat "$T_DIR/err")" "pipe.md: FIFO skipped" "FIFO reported"
is "$(jq -r --arg w "$D/$weird" 'select(.path == $w) | .size' "$T_DIR/out")" 6 "quotes, backslash, spaces, é and 日本 kept in the path"

# Relative root, with "./" and a trailing slash.
(cd "$T_DIR" && docpipe-discover ./docs/ 2>/dev/null) >"$T_DIR/rel"
is "$(jq -r .root "$T_DIR/rel" | sort -u)" "$D" "relative root made absolute"

docpipe-discover --hidden "$D" 2>/dev/null >"$T_DIR/hid"
is "$(jq -r '.path' "$T_DIR/hid" | sed "s|^$D/||" | grep '^\.' | tr '\n' ',')" ".git/x.md,.hidden.md," "--hidden visits dot entries"

docpipe-discover --glob '*.txt' --glob 'sub/deep/*' "$D" 2>/dev/null >"$T_DIR/g"
is "$(jq -r '.path' "$T_DIR/g" | sed "s|^$D/||" | tr '\n' ',')" "sub/b.txt,sub/deep/c.markdown," "--glob by base name and by relative path"
docpipe-discover --exclude deep --exclude 'old/*' --exclude 'q*' "$D" 2>/dev/null >"$T_DIR/x"
is "$(jq -r '.path' "$T_DIR/x" | sed "s|^$D/||" | tr '\n' ',')" "a.md,sub/b.txt," "--exclude prunes directories and files"

# A pattern that can match nothing as written is a usage error naming the
# option, the pattern and why (as docpipe-query's --path), for discover and
# watch alike; before, each matched nothing and said nothing.
has() { # has GOT TEXT NAME: GOT contains TEXT (a fixed string)
	if [[ $1 == *"$2"* ]]; then ok 0 "$3"; else ok 1 "$3"; printf '#   got: %s\n#  want: %s\n' "$1" "$2"; fi
}
bad_pattern() { # bad_pattern TOOL OPTION PATTERN WHY
	local out rc
	out=$(timeout 20 "$1" "$2" "$3" "$D" 2>&1 >/dev/null)
	rc=$?
	is "$rc" 2 "$1 $2 '$3': exit 2"
	has "$out" "$1: $2 '$3': $4" "$1 $2 '$3': says why"
}
bad_pattern docpipe-discover --glob '*.[md' "the '[' at byte 2 opens a character class that is never closed"
bad_pattern docpipe-discover --glob 'sub/*\' "it ends in a '\' that escapes nothing"
bad_pattern docpipe-discover --exclude '[z-a]*' "the range 'z-a' at byte 1 runs backwards"
bad_pattern docpipe-discover --glob '[[:alfa:]]*.md' "the '[:' at byte 1 names no character class"
bad_pattern docpipe-discover --exclude '' "an empty pattern matches nothing"
bad_pattern docpipe-discover --exclude '/old' "a pattern with a '/' matches the path relative to the root, which never starts with '/'"
bad_pattern docpipe-discover --exclude 'old/' "it ends in '/', and no path does"
bad_pattern docpipe-watch --glob 'a[' "the '[' at byte 1 opens"
bad_pattern docpipe-watch --exclude 'x/[b-a]' "the range 'b-a' at byte 3 runs backwards"
bad_pattern docpipe-plan --glob '*.md[' "the '[' at byte 4 opens"
out=$(timeout 60 docpipe run --glob '[' "$D" 2>&1 >/dev/null)
is "$?" 2 "docpipe run --glob '[': exit 2"
has "$out" "--glob '[': the '[' at byte 0 opens" "docpipe run --glob '[': says why"
# Patterns fnmatch reads as meaning something are taken as before.
docpipe-discover --glob '[[]x].md' --glob '[]a]*.md' --glob '\q*' --exclude 'sub/[!b]*' "$D" 2>/dev/null >"$T_DIR/okp"
is "$?" 0 "'[[]', a ']' first in a class and an escaped character are taken"
is "$(jq -r '.path' "$T_DIR/okp" | sed "s|^$D/||" | tr '\n' ',')" "a.md,$weird," "and match what fnmatch matches"

# --max-size: a larger file becomes an error record, exit 1.
docpipe-discover --max-size 6 "$D" >"$T_DIR/m" 2>/dev/null
is "$?" 1 "an oversized file makes exit status 1"
is "$(jq -r 'select(.kind == "error") | .error' "$T_DIR/m" | sort | uniq -c | tr -s ' ')" " 2 file is 7 bytes, over --max-size 6" "oversized files are error records"
is "$(jq -r 'select(.kind == "file") | .path' "$T_DIR/m" | wc -l)" 3 "the others are file records"

# A name that is not valid UTF-8.
bad=$(printf 'bad\377.md')
echo x >"$D/sub/$bad"
docpipe-discover "$D/sub" >"$T_DIR/u" 2>/dev/null
is "$?" 1 "an undecodable name makes exit status 1"
is "$(jq -r 'select(.kind == "error") | [.stage, .path, .error] | @tsv' "$T_DIR/u")" \
	"$(printf 'discover\t%s\tfile name is not valid UTF-8' "$D/sub/bad\\\\xff.md")" "error record with a printable path"
is "$(jq -r 'select(.kind == "file") | .path' "$T_DIR/u" | wc -l)" 2 "walk goes on after it"
rm -f "$D/sub/$bad"

# Missing root: a message, exit 1, the other roots walked.
docpipe-discover "$T_DIR/nope" "$D/sub" >"$T_DIR/miss" 2>"$T_DIR/misserr"
is "$?" 1 "a missing root makes exit status 1"
like "$(cat "$T_DIR/misserr")" "nope: No such file or directory" "missing root named"
is "$(jq -r .path "$T_DIR/miss" | wc -l)" 2 "other roots still walked"

docpipe-discover >/dev/null 2>&1
is "$?" 2 "no root is a usage error"
like "$(docpipe-discover --help)" "--exclude PATTERN" "--help lists the options"

# Unreadable file and directory: root reads everything, so run as nobody
# over a world-readable copy.
if id nobody >/dev/null 2>&1 && command -v runuser >/dev/null; then
	U=$T_DIR/u-tree
	mkdir -p "$U/closed" "$U/open"
	echo "# ok" >"$U/open/ok.md"
	echo "# no" >"$U/secret.md"
	echo "# hid" >"$U/closed/x.md"
	chmod 755 "$T_DIR" "$U" "$U/open"
	chmod 644 "$U/open/ok.md"
	chmod 000 "$U/secret.md" "$U/closed"
	runuser -u nobody -- "$DOCPIPE_BIN/docpipe-discover" "$U" >"$T_DIR/nb" 2>"$T_DIR/nberr"
	is "$?" 1 "unreadable file: exit status 1"
	is "$(jq -r 'select(.kind == "error") | [.stage, .path, .error] | @tsv' "$T_DIR/nb")" \
		"$(printf 'discover\t%s\tcannot open: Permission denied' "$U/secret.md")" "unreadable file is an error record"
	is "$(jq -r 'select(.kind == "file") | .path' "$T_DIR/nb")" "$U/open/ok.md" "walk goes on past it"
	like "$(cat "$T_DIR/nberr")" "closed: cannot open directory: Permission denied" "unreadable directory reported"
	# The end record tells the hub the walk is not complete, so no sweep
	# deletes what is stored under the directory it could not read.
	runuser -u nobody -- "$DOCPIPE_BIN/docpipe-discover" --end-record "$U" 2>/dev/null >"$T_DIR/nbend"
	is "$(jq -c 'select(.kind == "end") | .complete' "$T_DIR/nbend")" false \
		"an unreadable directory: the end record says the walk is not complete (no sweep)"
	chmod 755 "$U/closed"
else
	skip "no user nobody or no runuser: cannot make a file unreadable for root"
	skip "no user nobody or no runuser: cannot make a file unreadable for root"
fi

# Roots that nest or repeat (docs, docs/sub, docs/, a file among them):
# each file once, under the innermost root named; a hidden directory named
# as a root is walked though the outer walk skips it.  Each file came once
# per root that held it: 13 records for 5 files, paid for as many times.
N=$T_DIR/nest
mkdir -p "$N/d/sub/deep" "$N/d/.hid"
for f in d/a.md d/b.md d/sub/s.md d/sub/deep/x.md d/.hid/h.md; do echo "# $f" >"$N/$f"; done
(cd "$N" && docpipe-discover d d/sub d/ d/a.md d/.hid --end-record) >"$T_DIR/nest.out"
is "$(jq -r 'select(.kind == "file") | .path + " " + .root' "$T_DIR/nest.out" | sed "s|$N/||g" | sort | xargs)" \
	"d/.hid/h.md d/.hid d/a.md d d/b.md d d/sub/deep/x.md d/sub d/sub/s.md d/sub" \
	"nested, repeated and file roots: each file once, under its innermost root"
is "$(jq -r 'select(.kind == "end") | .files' "$T_DIR/nest.out")" 5 "the end record counts 5 files"

# '?' and [...] take a character, not a byte: é is two bytes in UTF-8
# ("caf?.md" missed café.md); a name that is not UTF-8 is matched byte by
# byte, as before (and reported: its name is refused).
U=$T_DIR/utf8
mkdir -p "$U"
for f in café.md cafe.md "caf$(printf '\xff').md" cafés.md; do echo '# x' >"$U/$f"; done
docpipe-discover --glob 'caf?.md' "$U" 2>/dev/null >"$T_DIR/u"
is "$(jq -r 'select(.path) | .path' "$T_DIR/u" | sed "s|^$U/||" | sort | tr '\n' ',')" \
	'caf\xff.md,cafe.md,café.md,' "--glob 'caf?.md': café.md too (one character of two bytes)"
docpipe-discover --glob 'caf[é]s.md' "$U" 2>/dev/null >"$T_DIR/u"
is "$(jq -r 'select(.kind == "file") | .path' "$T_DIR/u" | sed "s|^$U/||")" "cafés.md" "--glob 'caf[é]s.md': a class of one character"

# A tree deeper than the limit on open files (the walk holds one descriptor
# per directory level; soft and hard limit 40, 60 levels): the directory
# was skipped as unreadable, the file under it unseen, exit 0 (fault sweep
# 21b).  Now the walk fails, exit 3, naming the limit; no end record, so
# no sweep follows it.
deep=$T_DIR/deep
p=$deep
for i in $(seq 60); do p=$p/d$i; done
mkdir -p "$p" && echo '# deep' >"$p/deep.md" && echo '# top' >"$deep/top.md"
(ulimit -n 40 && exec docpipe-discover --end-record "$deep") >"$T_DIR/deep.out" 2>"$T_DIR/deep.err"
is "$?/$(grep -c '"kind":"end"' "$T_DIR/deep.out")" 3/0 "a tree deeper than the open files limit: exit 3, no end record"
like "$(cat "$T_DIR/deep.err")" "cannot open directory: Too many open files .*raise the limit on open files \(ulimit -n\)" \
	"... saying which limit to raise"
(ulimit -n 200 && exec docpipe-discover "$deep") >"$T_DIR/deep.out" 2>/dev/null
is "$?/$(jq -r .path "$T_DIR/deep.out" | sed 's|.*/||' | sort | xargs)" "0/deep.md top.md" "under a higher limit: both files"

# The default names' extensions in any case, as docpipe-chunk reads them
# (README.MD, SCAN0001.PDF, INDEX.HTM were left out without a word); a
# --glob stays as fnmatch reads it.
C=$T_DIR/case
mkdir -p "$C"
for f in README.MD Scan0001.PDF Index.Htm notes.md code.C; do echo x >"$C/$f"; done
is "$(docpipe-discover "$C" | jq -r .path | sed "s|^$C/||" | tr '\n' ',')" "Index.Htm,README.MD,Scan0001.PDF,notes.md," \
	"default globs: extensions in any case"
is "$(docpipe-discover --glob '*.md' "$C" | jq -r .path | sed "s|^$C/||" | tr '\n' ',')" "notes.md," "--glob '*.md': as written"

# A record --jq turned into an error record failed: exit 1, the end record
# says so, the other files are written (session 54 left the status 0).
docpipe-discover --end-record --jq 'if .kind == "file" and (.path | endswith("notes.md")) then error("no") else . end' \
	"$C" >"$T_DIR/jq.out" 2>/dev/null
is "$?/$(jq -r 'select(.kind == "error") | .error' "$T_DIR/jq.out")/$(jq -r 'select(.kind == "end") | .status' "$T_DIR/jq.out")/$(grep -c '"kind":"file"' "$T_DIR/jq.out")" \
	"1/--jq: no/1/3" "--jq's error record: exit 1, the end record's status 1, the other 3 files written"
done_testing
