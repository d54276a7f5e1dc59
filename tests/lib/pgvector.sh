#!/bin/bash
# A PostgreSQL 15 server with the real pgvector extension, for tests and
# benchmarks.  pgvector is built from the vendored tarball into a private
# copy of the system's PostgreSQL (never into the system one: other tests
# must still see a server without it), cached under tests/.cache so it is
# built once per checkout (~15 s).
#   pgvector.sh build            -> prints the private bin directory, or a
#                                   reason on stderr and exit 1 (skip)
#   pgvector.sh start DIR        -> prints "export PGVECTOR_PGHOST=... PGVECTOR_PGPORT=..."
#                                   (both empty, and the reason in
#                                   PGVECTOR_SKIP, when it is unavailable)
#   pgvector.sh stop DIR
# The tarball is $TOP/../shared/vendor/pgvector-0.8.6.tar.gz, or
# /work/shared/vendor/ when that does not exist (or $PGVECTOR_TARBALL).
set -eu
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
version=0.8.6
cache=$TOP/tests/.cache/pgvector-$version
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

tarball() {
	local t
	for t in "${PGVECTOR_TARBALL:-}" "$TOP/../shared/vendor/pgvector-$version.tar.gz" \
		"/work/shared/vendor/pgvector-$version.tar.gz"; do
		[ -n "$t" ] && [ -f "$t" ] && { echo "$t"; return 0; }
	done
	return 1
}

# Builds into $cache (under a lock: two runs may start at once).  The copy
# is made readable by the postgres user, which runs the server.
build() {
	local pgconfig=/usr/bin/pg_config tar src lib share
	[ -x "$cache/ok" ] && { echo "$cache/usr/lib/postgresql/15/bin"; return 0; }
	tar=$(tarball) || { echo "pgvector tarball pgvector-$version.tar.gz not found (../shared/vendor)" >&2; return 1; }
	lib=$($pgconfig --pkglibdir 2>/dev/null) share=$($pgconfig --sharedir 2>/dev/null) || true
	[ -f "$($pgconfig --includedir-server 2>/dev/null)/postgres.h" ] ||
		{ echo "postgresql-server-dev-15 is not installed" >&2; return 1; }
	mkdir -p "$TOP/tests/.cache"
	exec 9>"$TOP/tests/.cache/pgvector.lock"
	flock 9
	if [ ! -x "$cache/ok" ]; then
		rm -rf "$cache" "$cache.tmp"
		mkdir -p "$cache.tmp/usr/lib/postgresql" "$cache.tmp/usr/share/postgresql" "$cache.tmp/src"
		# PostgreSQL finds share/ and lib/ relative to its bin/.
		cp -a "$(dirname "$lib")" "$cache.tmp/usr/lib/postgresql/"
		cp -a "$share" "$cache.tmp/usr/share/postgresql/"
		src=$cache.tmp/src
		tar xzf "$tar" -C "$src"
		# OPTFLAGS="": no -march=native, the cache may move between machines.
		if ! make -C "$src/pgvector-$version" OPTFLAGS="" PG_CONFIG=$pgconfig >"$cache.tmp/build.log" 2>&1 ||
			! make -C "$src/pgvector-$version" OPTFLAGS="" PG_CONFIG=$pgconfig install \
				DESTDIR="$cache.tmp" >>"$cache.tmp/build.log" 2>&1; then
			tail -5 "$cache.tmp/build.log" >&2
			echo "building pgvector failed (log: $cache.tmp/build.log)" >&2
			return 1
		fi
		rm -rf "$src"
		printf '#!/bin/sh\n' >"$cache.tmp/ok"
		chmod 755 "$cache.tmp/ok"
		mv "$cache.tmp" "$cache"
	fi
	flock -u 9
	echo "$cache/usr/lib/postgresql/15/bin"
}

case $1 in
build) build ;;
start)
	dir=$2
	if ! bindir=$(build 2>"$dir.why"); then
		echo "export PGVECTOR_PGHOST= PGVECTOR_PGPORT= PGVECTOR_SKIP='$(tail -1 "$dir.why" | tr -d "'")'"
		rm -f "$dir.why"
		exit 0
	fi
	rm -f "$dir.why"
	# The postgres user must reach the private binaries.
	[ "$(id -u)" = 0 ] && chmod -R go+rX "$cache" 2>/dev/null
	out=$(PGBINDIR=$bindir "$TOP/tests/lib/pg.sh" start "$dir") || exit 1
	eval "$out"
	echo "export PGVECTOR_PGHOST=$PGHOST PGVECTOR_PGPORT=$PGPORT PGVECTOR_SKIP="
	;;
stop) PGBINDIR=$(build 2>/dev/null || pg_config --bindir) "$TOP/tests/lib/pg.sh" stop "$2" ;;
*) echo "usage: pgvector.sh build | start DIR | stop DIR" >&2; exit 2 ;;
esac
