#!/bin/bash
# Starts or stops a throwaway PostgreSQL cluster for tests and the demo.
#   pg.sh start DIR   -> prints "export PGHOST=... PGPORT=... PGUSER=postgres"
#   pg.sh stop DIR
# PG_LISTEN: the addresses it listens on (default 127.0.0.1); PG_OPTS:
# more server options ("-c lc_messages=de_DE.UTF-8"); PG_ENV: NAME=VALUE
# words for the server's environment (LOCPATH, for a locale the test made);
# PG_FSYNC: the fsync option on the server's command line (default off: a
# throwaway cluster), empty for none (then the configuration's: PostgreSQL's
# default on, or what ALTER SYSTEM sets and a reload takes, which an option
# on the command line would override).
# initdb refuses to run as root, so as root the cluster belongs to the
# postgres user (created by Debian's package).
set -eu
cmd=$1 dir=$2
bindir=${PGBINDIR:-$(pg_config --bindir)}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- env ${PG_ENV:-} "$@"; else env ${PG_ENV:-} "$@"; fi; }
case $cmd in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
			--locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
	fi
	port=${PGPORT_WANTED:-$((20000 + RANDOM % 20000))}
	# Unix socket paths are limited to ~107 bytes: keep long ones in /tmp.
	sock=$dir
	if [ ${#dir} -gt 60 ]; then
		sock=$(mktemp -d /tmp/docpipe-pg.XXXXXX)
		[ "$(id -u)" = 0 ] && chown postgres: "$sock"
	fi
	echo "$sock" >"$dir/socket-dir"
	fsync=${PG_FSYNC-off}
	fsync=${fsync:+-c fsync=$fsync}
	# A random port may be taken: try a few.
	for attempt in 1 2 3 4 5; do
		as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 \
			-o "-p $port -k $sock -c listen_addresses=${PG_LISTEN:-127.0.0.1} $fsync -c max_connections=200 ${PG_OPTS:-}" \
			start >/dev/null && break
		[ $attempt = 5 ] && { cat "$dir/log" >&2; exit 1; }
		port=$((20000 + RANDOM % 20000))
	done
	echo "export PGHOST=$sock PGPORT=$port PGUSER=postgres"
	;;
stop)
	as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	sock=$(cat "$dir/socket-dir" 2>/dev/null || true)
	case $sock in /tmp/docpipe-pg.*) rm -rf "$sock" ;; esac
	;;
esac
