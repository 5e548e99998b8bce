#!/usr/bin/env bash
# Installs (Debian packages) and starts the real servers the test suite talks to, on
# loopback only, and prints the environment variables that point the tests at them.
#   eval "$(scripts/services.sh)"
# Idempotent: a server already running is left as it is.
set -euo pipefail
log() { echo "services: $*" >&2; }

PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6390}
need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need[@]}" >&2
fi

# PostgreSQL: the distribution's cluster, a role that may create the test databases.
PG_VERSION=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^${PG_VERSION} main"; then
  pg_createcluster "$PG_VERSION" main -p "$PG_PORT" >&2
fi
if ! pg_lsclusters -h | awk '$1=="'"$PG_VERSION"'" && $2=="main"{print $4}' | grep -q online; then
  log "starting PostgreSQL $PG_VERSION"
  pg_ctlcluster "$PG_VERSION" main start >&2
fi
PG_PORT=$(pg_lsclusters -h | awk '$1=="'"$PG_VERSION"'" && $2=="main"{print $3}')
su postgres -c "psql -p $PG_PORT -tAc \"SELECT 1 FROM pg_roles WHERE rolname='helpdesk'\"" | grep -q 1 ||
  su postgres -c "psql -p $PG_PORT -qc \"CREATE ROLE helpdesk LOGIN SUPERUSER PASSWORD 'helpdesk'\"" >&2
# The role the application runs as in production: owns nothing; scripts/app_role.sql (run as
# helpdesk after migrate) grants it rows only, and only INSERT + SELECT on the audit trail.
su postgres -c "psql -p $PG_PORT -tAc \"SELECT 1 FROM pg_roles WHERE rolname='helpdesk_app'\"" | grep -q 1 ||
  su postgres -c "psql -p $PG_PORT -qc \"CREATE ROLE helpdesk_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'helpdesk-app'\"" >&2
su postgres -c "psql -p $PG_PORT -tAc \"SELECT 1 FROM pg_database WHERE datname='helpdesk'\"" | grep -q 1 ||
  su postgres -c "createdb -p $PG_PORT -O helpdesk helpdesk" >&2

# Redis on its own loopback port, no persistence.
if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  log "starting Redis on $REDIS_PORT"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes >&2
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

echo "export DATABASE_URL=postgres://helpdesk:helpdesk@127.0.0.1:${PG_PORT}/helpdesk"
echo "export TEST_REDIS_URL=redis://127.0.0.1:${REDIS_PORT}/0"
echo "export CHROMIUM_PATH=$(command -v chromium)"

# Dovecot IMAP on loopback: IMAP+STARTTLS on 10143, IMAPS on 10993, one passwd-file test user.
IMAP_PORT=${IMAP_PORT:-10143}
IMAPS_PORT=${IMAPS_PORT:-10993}
DOVECOT_DIR=${DOVECOT_DIR:-/tmp/helpdesk-dovecot}
IMAP_TEST_USER=helpdesk-test
IMAP_TEST_PASSWORD=helpdesk-imap-pw
if ! (exec 3<>/dev/tcp/127.0.0.1/"$IMAP_PORT") 2>/dev/null; then
  log "starting Dovecot on $IMAP_PORT/$IMAPS_PORT"
  mkdir -p "$DOVECOT_DIR"/home "$DOVECOT_DIR"/run "$DOVECOT_DIR"/state
  [ -f "$DOVECOT_DIR/key.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
    -keyout "$DOVECOT_DIR/key.pem" -out "$DOVECOT_DIR/cert.pem" >/dev/null 2>&1
  echo "${IMAP_TEST_USER}:{PLAIN}${IMAP_TEST_PASSWORD}::::::" > "$DOVECOT_DIR/passwd"
  chown -R nobody:nogroup "$DOVECOT_DIR/home"
  cat > "$DOVECOT_DIR/dovecot.conf" <<CONF
base_dir = $DOVECOT_DIR/run
state_dir = $DOVECOT_DIR/state
log_path = $DOVECOT_DIR/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <$DOVECOT_DIR/cert.pem
ssl_key = <$DOVECOT_DIR/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DOVECOT_DIR/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DOVECOT_DIR/home/%u
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Processed {
    auto = create
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
CONF
  dovecot -c "$DOVECOT_DIR/dovecot.conf" >&2
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$IMAP_PORT") 2>/dev/null && break; sleep 0.1; done
fi
echo "export TEST_IMAP_HOST=127.0.0.1"
echo "export TEST_IMAP_PORT=${IMAP_PORT}"
echo "export TEST_IMAP_SSL_PORT=${IMAPS_PORT}"
echo "export TEST_IMAP_USER=${IMAP_TEST_USER}"
echo "export TEST_IMAP_PASSWORD=${IMAP_TEST_PASSWORD}"
