#!/usr/bin/env bash
# Installs the Debian packages behest_lab's real-service tests need, when they are missing and we may:
#   chromium    the real-browser check (Voila + Playwright)
#   postgresql  the shared-store tests (DuckLake catalog in PostgreSQL)
#   mariadb-server  the MySQL-source tests (behest's MySQL backend, read through MariaDB)
#   redis-server  the Redis source tests (behest's Redis session store)
# Without root or passwordless sudo it only says what is missing; those tests then report that they did not run.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  missing+=(mariadb-server)
fi
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "system-deps: missing Debian packages: ${missing[*]} (no root or passwordless sudo to install them)." >&2
  echo "system-deps: the tests that need them will not run; install with: sudo apt-get install -y ${missing[*]}" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing ${missing[*]} and no apt-get here; the tests that need them will not run." >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]} with apt-get"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
