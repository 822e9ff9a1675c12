#!/usr/bin/env bash
# Writes the compose stack's secrets as files (docs/operations.md): a CA and the broker's
# certificate, the broker's password file with the collectors' user and this machine's agent,
# the InfluxDB admin password and token, Grafana's admin password. Existing files are kept, so
# running it again changes nothing; delete a file to renew it.
#
#   ./make-secrets.sh [DIR]    (default: $FLEETPRINT_SECRETS_DIR from .env, else ./secrets)
#
# Needs openssl and mosquitto_passwd (Debian: mosquitto), or docker to borrow the broker image's.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=/dev/null
if [ -f .env ]; then set -a; . ./.env; set +a; fi
dir="${1:-${FLEETPRINT_SECRETS_DIR:-./secrets}}"
broker_name="${FLEETPRINT_BROKER_NAME:-localhost}"
agent_id="${FLEETPRINT_AGENT_HOST_ID:-compose-host}"

umask 077
mkdir -p "$dir"
chmod 700 "$dir"

random() { openssl rand -base64 32 | tr -d '/+=\n' | cut -c1-32; }
secret() { [ -s "$dir/$1" ] || { random >"$dir/$1"; echo "wrote $dir/$1"; }; }

secret influxdb-admin.password
secret influxdb.token
secret grafana-admin.password
secret collector.secret
secret agent.secret

if [ ! -s "$dir/ca.crt" ]; then
  openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=fleetprint broker CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  rm -f "$dir/server.crt"
  echo "wrote $dir/ca.crt (agents' mqtt.ca_file)"
fi
if [ ! -s "$dir/server.crt" ]; then
  openssl req -newkey rsa:3072 -nodes -subj "/CN=$broker_name" -keyout "$dir/server.key" \
    -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s,DNS:mosquitto,DNS:localhost,IP:127.0.0.1\n' "$broker_name" >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 825 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
  rm -f "$dir/server.csr" "$dir/server.ext" "$dir/ca.srl"
  echo "wrote $dir/server.crt for $broker_name"
fi

if [ ! -s "$dir/mosquitto.passwd" ]; then
  if command -v mosquitto_passwd >/dev/null; then
    passwd_cmd=(mosquitto_passwd) passwd_file="$dir/mosquitto.passwd"
  else
    passwd_cmd=(docker run --rm -v "$(cd "$dir" && pwd):/s" "eclipse-mosquitto:${MOSQUITTO_VERSION:-2.0.22}" mosquitto_passwd)
    passwd_file=/s/mosquitto.passwd
  fi
  touch "$dir/mosquitto.passwd"
  "${passwd_cmd[@]}" -b "$passwd_file" fleetprint-collector "$(cat "$dir/collector.secret")"
  "${passwd_cmd[@]}" -b "$passwd_file" "$agent_id" "$(cat "$dir/agent.secret")"
  echo "wrote $dir/mosquitto.passwd (users fleetprint-collector and $agent_id)"
fi

# Compose bind-mounts these files into containers whose users differ from yours: the
# directory (700) keeps them from other users of this machine, the files are readable inside.
chmod 444 "$dir"/*
chmod 400 "$dir/ca.key"
