#!/bin/bash
# Each program's --help and its man page name the same options: every
# option a man page's OPTIONS sections list (the tag of each .TP item) is in
# the --help of the binary, and every option --help lists (the option
# column of its lines) is in the man page; both say the exit statuses of
# src/lib/err.c's table (0-5) and no other; --help and --version exit 0, an
# unknown option exits 2.  A user reads one and types into the other: an
# option missing from either was found so in session 58 (h58d) for 9 of 10
# programs.  No database, no server: ~1 s.
. "$(dirname "$0")/../lib/tap.sh"
MAN=$TOP/man

# man_options PAGE SECTION-REGEX: the option names in the tags of the .TP
# items of the sections whose .SH title matches (their .SS subsections too).
man_options() {
	awk -v want="$2" '
		/^\.SH / { on = ($0 ~ want) }
		on && /^\.TP/ { if ((getline tag) > 0) print tag }' "$1" |
		sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' |
		grep -oE '(^|[ ",(])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[ ",(]//' | sort -u
}
# help_options TEXT-FILE: the option names in the option column of the
# lines of a --help that start with an option (indented 1-6 spaces): the
# text before the first run of two spaces after it, "-k, --top N" and
# "--glob PATTERN, --exclude PATTERN" alike; not in its exit status table.
help_options() {
	sed '/^Exit status:/,$d' "$1" | grep -E '^ {1,6}-' | sed -E 's/^ +//; s/  .*//' |
		grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[ ,]//' | sort -u
}
# man_exit_codes PAGE: the codes the EXIT STATUS section lists, in order.
man_exit_codes() {
	awk '/^\.SH / { on = /EXIT STATUS/ } on && /^\.TP/ { if ((getline tag) > 0) print tag }' "$1" |
		sed -E 's/^\.B +//' | tr '\n' ' '
}

check_pair() { # check_pair NAME HELP-FILE PAGE SECTION-REGEX [OPTION-THE-PAGE-MAY-LACK]
	local name=$1 help=$2 page=$3 sections=$4 may_lack=${5:-} only_man only_help
	only_man=$(comm -23 <(man_options "$page" "$sections") <(help_options "$help") | tr '\n' ' ')
	only_help=$(comm -13 <(man_options "$page" "$sections") <(help_options "$help") |
		grep -vxF -e "${may_lack:-\0}" | tr '\n' ' ')
	is "$only_man" "" "$name: every option of $(basename "$page") is in --help"
	is "$only_help" "" "$name: every option of --help is in $(basename "$page")"
}

for stage in discover chunk summarize embed store query status plan watch hub; do
	bin=docpipe-$stage page=$MAN/docpipe-$stage.1
	"$bin" --help >"$T_DIR/help" 2>"$T_DIR/err"
	is "$?" 0 "$bin --help exits 0"
	check_pair "$bin" "$T_DIR/help" "$page" 'OPTIONS|FORMATS'
	like "$(man_exit_codes "$page")" '^0 (1 )?2 3 (4 )?(5 )?$' \
		"$(basename "$page"): EXIT STATUS lists 0, 2, 3 and only others of the table (1, 4, 5), in order"
	case $stage in
	status | plan | query | watch) # tools, not filters of records: their own statuses
		is "$(sed -n '/^Exit status:/,$p' "$T_DIR/help" | grep -oE '^  [0-9]' | tr -d ' ' | tr '\n' ' ')" \
			"$(man_exit_codes "$page")" "$bin --help: the exit statuses of its man page" ;;
	*)
		contains "$(cat "$T_DIR/help")" "$(sed -n '/^const char dp_exit_codes_help/,/;$/p' "$TOP/src/lib/err.c" |
			sed -n 's/^\t"\(.*\)\\n"[;]*$/\1/p')" "$bin --help prints the exit status table of src/lib/err.c" ;;
	esac
	"$bin" --version >/dev/null 2>&1
	is "$?" 0 "$bin --version exits 0"
	"$bin" --no-such-option >/dev/null 2>"$T_DIR/err"
	is "$?" 2 "$bin --no-such-option exits 2 (usage)"
	like "$(cat "$T_DIR/err")" "^$bin: " "$bin: its usage error starts with its name"
done

# The supervisor: docpipe run --help against docpipe.1's RUN OPTIONS and
# WORKER OPTIONS, its own exit status table against the man page's.
docpipe run --help >"$T_DIR/help" 2>&1
is "$?" 0 "docpipe run --help exits 0"
check_pair "docpipe run" "$T_DIR/help" "$MAN/docpipe.1" 'RUN OPTIONS|WORKER OPTIONS'
like "$(man_exit_codes "$MAN/docpipe.1")" '^0 1 2 3 4 5 $' "docpipe.1: EXIT STATUS lists 0-5"
is "$(sed -n '/^Exit status:/,$p' "$T_DIR/help" | grep -oE '^  [0-9]' | tr -d ' \n')" 012345 \
	"docpipe run --help: exit statuses 0-5"

# An option where a name is wanted is no name: `docpipe keygen --help` wrote
# --help.key and --help.pub, `docpipe-hub --keygen --version` alike; an
# unknown command was not named.
mkdir "$T_DIR/keys"
(cd "$T_DIR/keys" && docpipe keygen --help >/dev/null 2>&1)
is "$?" 0 "docpipe keygen --help exits 0"
(cd "$T_DIR/keys" && docpipe keygen -k >/dev/null 2>"$T_DIR/err")
is "$?" 2 "docpipe keygen -k: a usage error"
(cd "$T_DIR/keys" && docpipe-hub --keygen --version >/dev/null 2>>"$T_DIR/err")
is "$?" 2 "docpipe-hub --keygen --version: a usage error"
is "$(ls -A "$T_DIR/keys")" "" "no key file written for an option taken as a name"
like "$(cat "$T_DIR/err")" "looks like an option" "the refusals say the name looks like an option"
docpipe nosuch >/dev/null 2>"$T_DIR/err"
is "$?" 2 "docpipe nosuch: a usage error"
like "$(cat "$T_DIR/err")" "unknown command 'nosuch'" "docpipe nosuch: the command named"
done_testing
