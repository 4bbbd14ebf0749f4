#!/usr/bin/env bash
# A throwaway PostgreSQL on 127.0.0.1 for the store tests and benchmarks.
#
#   eval "$(bash .ci/postgres.sh)"    install if needed, start a new cluster, print exports:
#                                     FAQBOT_TEST_POSTGRES_URL (postgresql://postgres:<random>@…)
#                                     FAQBOT_TEST_POSTGRES_DATA (the cluster's directory)
#   bash .ci/postgres.sh --no-install the same, but fail instead of running apt-get
#   bash .ci/postgres.sh stop|start   stop or restart the cluster in $FAQBOT_TEST_POSTGRES_DATA
#   bash .ci/postgres.sh destroy      stop it and delete its directory
#
# Starting again while $FAQBOT_TEST_POSTGRES_DATA's cluster runs re-prints its exports.
# Everything but the export lines goes to stderr. As root, the server runs as `postgres`
# (initdb refuses root).
set -euo pipefail

say() { echo "postgres.sh: $*" >&2; }

find_bindir() {
  local initdb
  if initdb=$(command -v initdb 2>/dev/null); then
    dirname "$(readlink -f "$initdb")"
    return
  fi
  # Debian keeps the server binaries off PATH, one directory per major version.
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_owner() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_ctl_() { as_owner "$bindir/pg_ctl" -D "$data/cluster" -l "$data/server.log" -w "$@" >&2; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

print_exports() {
  echo "export FAQBOT_TEST_POSTGRES_URL=$(cat "$data/url")"
  echo "export FAQBOT_TEST_POSTGRES_DATA=$data"
}

install=1
command=up
for arg in "$@"; do
  case $arg in
    --no-install) install=0 ;;
    up|stop|start|destroy) command=$arg ;;
    *) say "unknown argument: $arg"; exit 2 ;;
  esac
done

bindir=$(find_bindir)
if [[ -z $bindir || ! -x $bindir/initdb ]]; then
  if [[ $install -eq 0 || $command != up ]]; then
    say "initdb/pg_ctl not found (install PostgreSQL: apt-get install postgresql)"
    exit 1
  fi
  say "installing PostgreSQL from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bindir=$(find_bindir)
fi

data=${FAQBOT_TEST_POSTGRES_DATA:-}
case $command in
  stop) pg_ctl_ stop -m fast; exit 0 ;;
  start) pg_ctl_ start; exit 0 ;;
  destroy)
    [[ -n $data && -d $data ]] || exit 0
    pg_ctl_ stop -m fast || true
    rm -rf "$data"
    exit 0 ;;
esac

if [[ -n $data && -f $data/url ]] && as_owner "$bindir/pg_ctl" -D "$data/cluster" status >/dev/null 2>&1; then
  print_exports
  exit 0
fi

data=$(mktemp -d "${TMPDIR:-/tmp}/faqbot-pg.XXXXXX")
chmod 755 "$data"
password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
port=$(free_port)
printf '%s\n' "$password" > "$data/password"
if [[ $EUID -eq 0 ]]; then
  chown postgres: "$data" "$data/password"
fi
# Password auth over TCP (what the tests and the app use); trust on the private socket only.
as_owner "$bindir/initdb" -D "$data/cluster" -U postgres --pwfile="$data/password" \
  --auth-host=scram-sha-256 --auth-local=trust --no-sync -E UTF8 >/dev/null
rm -f "$data/password"
cat >> "$data/cluster/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
max_connections = 100
EOF
pg_ctl_ start
as_owner "$bindir/createdb" -h "$data" -p "$port" -U postgres faqbot
printf 'postgresql://postgres:%s@127.0.0.1:%s/faqbot\n' "$password" "$port" > "$data/url"
chmod 644 "$data/url"
print_exports
