#!/bin/bash
# A DATABASE_URL that libpq cannot use.  A bare '%' in a password (common in
# generated ones) or a URI cut short made every program print libpq's parse
# error, which quotes the token or the whole string: the password on
# stderr.  A bad value (sslmode, port) made docpipe run's store wait for
# the database, exit 3 and be restarted: 26 s, or for ever with --db-retry
# (sweep 4).  Now the string is never shown, and it is a configuration
# error: exit 2 at once.  No server is needed.
. "$(dirname "$0")/../lib/tap.sh"
mkdir -p "$T_DIR/docs" && printf '# A\n\ntext\n' >"$T_DIR/docs/a.md"
for url in 'postgresql://u:SECRETpw%zz123@127.0.0.1:5432/db' 'postgresql://u:SECRETpw123@[::1:5432/db'; do
	for cmd in docpipe-status "docpipe-query hello" docpipe-store "docpipe-plan $T_DIR/docs"; do
		out=$(DATABASE_URL="$url" timeout 20 $cmd </dev/null 2>&1)
		ok "$(grep -q SECRETpw <<<"$out"; [ $? = 1 ]; echo $?)" "${cmd%% *}, ${url:0:30}...: the password is not shown"
	done
done
DATABASE_URL='postgresql://u:SECRETpw%zz123@127.0.0.1:5432/db' docpipe-store </dev/null 2>"$T_DIR/err"
is "$?" 2 "docpipe-store: a string libpq cannot parse is a configuration error (exit 2)"
like "$(cat "$T_DIR/err")" 'DATABASE_URL is not a valid connection string \(invalid percent-encoded token; the string is not shown' \
	"and says why"
for url in 'postgresql://u:pw@127.0.0.1:5432/db?sslmode=bogus' 'postgresql://u:pw@127.0.0.1:99999/db'; do
	start=$SECONDS
	DATABASE_URL="$url" timeout 60 docpipe run "$T_DIR/docs" --progress none >/dev/null 2>"$T_DIR/err"
	rc=$?
	is "$rc" 2 "docpipe run, ${url##*/}: exit 2 (configuration), not restarted" || sed 's/^/# /' "$T_DIR/err"
	ok "$([ $((SECONDS - start)) -lt 15 ]; echo $?)" "... within seconds ($((SECONDS - start)) s)"
done
done_testing
