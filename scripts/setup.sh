#!/usr/bin/env bash
# Installs what the gateway needs on a fresh Debian machine: RabbitMQ and PostgreSQL (Debian's packages)
# and the Python package with its test extras. Idempotent: quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the broker, PostgreSQL (the tests start a private cluster with its initdb/pg_ctl), and
# poppler-utils to render paper vouchers to PNG/text in tests.
missing=()
{ command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ]; } || missing+=(rabbitmq-server)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
# chromium and its driver: the browser tests of the console and /docs (tests/console/test_browser.py)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q "${missing[@]}" >/dev/null
  else
    echo "missing Debian packages: run 'sudo apt-get install -y ${missing[*]}'" >&2
    exit 1
  fi
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "as the 'root' user" || true
python3 -c "import gateway" # fail loudly if the install did not work
