#!/usr/bin/env bash
# A throw-away MariaDB for the tests and the demo, from Debian's packages.
#
#   hack/mariadb.sh install          install mariadb-server where mariadbd is missing
#   hack/mariadb.sh start DIR PORT   initialise a data directory in DIR and start the
#                                    server on 127.0.0.1:PORT (DIR may hold one already)
#   hack/mariadb.sh stop DIR         stop the server started in DIR
#
# The server listens on loopback only. It has one administrative user for the tests,
# admin/admin@127.0.0.1; the tests create the platform's databases and the read-only
# users themselves.
set -euo pipefail

mariadbd_bin() { command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd 2>/dev/null || true; }

case "${1:-}" in
install)
	# The start below needs MariaDB's server and mariadb-install-db (a machine with
	# MySQL's mysqld alone, as GitHub's runners have, still installs MariaDB).
	if [ -n "$(mariadbd_bin)" ] && command -v mariadb-install-db >/dev/null; then
		exit 0
	fi
	echo "mariadb: installing mariadb-server from Debian's packages"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >/dev/null
	# The package starts a system server; the tests run their own.
	service mariadb stop >/dev/null 2>&1 || true
	;;
start)
	dir=${2:?usage: $0 start DIR PORT}
	port=${3:?usage: $0 start DIR PORT}
	bin=$(mariadbd_bin)
	[ -n "$bin" ] || { echo "mariadbd not found: run hack/mariadb.sh install" >&2; exit 1; }
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ ! -d "$dir/data/mysql" ]; then
		mariadb-install-db --no-defaults --datadir="$dir/data" --user="$(id -un)" \
			--auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
			{ cat "$dir/install.log" >&2; exit 1; }
		fresh=1
	fi
	"$bin" --no-defaults --datadir="$dir/data" --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" \
		--port="$port" --bind-address=127.0.0.1 --user="$(id -un)" --skip-name-resolve \
		--skip-log-bin --innodb-buffer-pool-size=32M --innodb-log-file-size=16M \
		--max-connections=500 --log-error="$dir/error.log" >/dev/null 2>&1 &
	for _ in $(seq 1 300); do
		if mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot ping >/dev/null 2>&1; then
			break
		fi
		sleep 0.1
	done
	mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot ping >/dev/null 2>&1 ||
		{ echo "mariadb did not start; see $dir/error.log" >&2; tail -20 "$dir/error.log" >&2; exit 1; }
	if [ -n "${fresh:-}" ]; then
		mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot -e \
			"CREATE USER 'admin'@'127.0.0.1' IDENTIFIED BY 'admin'; GRANT ALL ON *.* TO 'admin'@'127.0.0.1' WITH GRANT OPTION;"
	fi
	;;
stop)
	dir=${2:?usage: $0 stop DIR}
	if [ -f "$dir/mysqld.pid" ]; then
		pid=$(cat "$dir/mysqld.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 300); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	;;
*)
	echo "usage: $0 install | start DIR PORT | stop DIR" >&2
	exit 2
	;;
esac
