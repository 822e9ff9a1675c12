#!/usr/bin/env bash
# Installs, upgrades or removes the fleetprint agent on one machine (docs/operations.md):
# a virtual environment under /opt, /etc/fleetprint/agent.toml, the host's broker password,
# the broker's CA and the systemd unit, enabled and started. Idempotent: a second run with the
# same arguments changes nothing. Needs python3 >= 3.11 with venv, and deploy/systemd/ beside it.
#
#   install-agent.sh --wheel fleetprint-0.2.0-py3-none-any.whl --broker mqtt.example.org --ca-file ca.crt \
#     --secret-file web-01.secret [--host-id web-01] [--site paris-dc1 --zone FRA --department finance]
#   install-agent.sh --upgrade --wheel https://files.example.org/fleetprint-0.3.0-py3-none-any.whl
#   install-agent.sh --uninstall
#
# The wheel comes from scripts/release (docs/operations.md, "Releases"). pip's own variables
# (PIP_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX) apply to the agent's dependencies, for a local mirror.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: install-agent.sh [options]
  --broker HOST[:PORT]  broker's TLS listener (port 8883 by default); for a new config
  --ca-file FILE        CA that signed the broker's certificate (installed as /etc/fleetprint/ca.crt)
  --secret-file FILE    this host's broker password (`fleetprint broker add-host ID -o FILE`)
  --host-id ID          this host's id and broker user (default: derived from /etc/machine-id)
  --wheel FILE|URL      the fleetprint wheel to install, with its [agent] extra (scripts/release builds it)
  --index-url URL       or install fleetprint[agent] from this package index, where a release was published
  --package SPEC        or what pip installs, as it is (e.g. 'fleetprint[agent]==0.2.0' with --index-url)
  --site NAME           the host's site (host.site), for a new config
  --department NAME     the department it belongs to (host.department), for a new config
  --zone ZONE           its electricity zone, ISO 3166 alpha-3 as Boavizta (host.zone, e.g. FRA), for a new
                        config; without it and without a zone for its site in the collector's config, the
                        host counts at the world average
  --config FILE         a complete agent.toml to install instead of writing one
  --prefix DIR          virtual environment (default: /opt/fleetprint-agent)
  --root DIR            install under DIR instead of / (an image or a test); does not start anything
  --python PATH         Python >= 3.11 for the virtual environment (default: python3)
  --upgrade             upgrade fleetprint in the virtual environment, then restart the agent
  --uninstall           stop and remove everything this script installed, state included
  --no-start            enable the unit but do not start it now
EOF
}

die() { echo "install-agent: $*" >&2; exit 1; }
say() { echo "install-agent: $*"; }

# The pip requirement for a fleetprint wheel at a path or URL, with the agent's extra.
wheel_requirement() {
  case "$1" in
    *://*) echo "fleetprint[agent] @ $1" ;;
    *) [ -f "$1" ] || die "--wheel $1: no such file"
       echo "fleetprint[agent] @ file://$(realpath "$1")" ;;
  esac
}

root=/ prefix=/opt/fleetprint-agent package="" index_url="" python=python3
broker="" ca_file="" secret_file="" host_id="" site="" department="" zone="" config="" action=install start=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --broker) broker="$2"; shift 2 ;;
    --ca-file) ca_file="$2"; shift 2 ;;
    --secret-file) secret_file="$2"; shift 2 ;;
    --host-id) host_id="$2"; shift 2 ;;
    --site) site="$2"; shift 2 ;;
    --department) department="$2"; shift 2 ;;
    --zone) zone="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --wheel) package="$(wheel_requirement "$2")"; shift 2 ;;
    --index-url) index_url="$2"; shift 2 ;;
    --package) package="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --root) root="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --upgrade) action=upgrade; shift ;;
    --uninstall) action=uninstall; shift ;;
    --no-start) start=no; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done

[ -z "$zone" ] || [[ "$zone" =~ ^[A-Z]{3}$ ]] || die "--zone $zone: three capital letters, ISO 3166 alpha-3 (FRA, DEU...)"
site_pattern='^[^"\[:cntrl:]]{1,64}$'  # what a TOML string takes as it is
[ -z "$site" ] || [[ "$site" =~ $site_pattern ]] || die "--site: 1 to 64 characters, no quote, backslash or control"
[ -z "$department" ] || [[ "$department" =~ $site_pattern ]] \
  || die "--department: 1 to 64 characters, no quote, backslash or control"
if [ -n "$index_url" ] && [ -z "$package" ]; then package="fleetprint[agent]"; fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${root%/}"
venv="$root$prefix"
etc="$root/etc/fleetprint"
unit_name=fleetprint-agent.service
unit="$root/etc/systemd/system/$unit_name"
# systemd's StateDirectory= with DynamicUser=yes keeps the state in /var/lib/private.
state_dirs=("$root/var/lib/fleetprint-agent" "$root/var/lib/private/fleetprint-agent")
changed=no

live_systemd() { [ -z "$root" ] && [ -d /run/systemd/system ]; }

systemctl_() {
  if live_systemd; then systemctl "$@"
  elif command -v systemctl >/dev/null; then systemctl --root="${root:-/}" "$@"
  else say "no systemctl: run 'systemctl $*' yourself"; fi
}

# Copy $1 to $2 with mode $3 unless $2 already has that content and mode.
put() {
  if [ -f "$2" ] && cmp -s "$1" "$2" && [ "$(stat -c %a "$2")" = "$3" ]; then return; fi
  install -D -m "$3" "$1" "$2"
  say "wrote ${2#"$root"}"
  changed=yes
}

uninstall() {
  if [ -f "$unit" ] || [ -L "$root/etc/systemd/system/multi-user.target.wants/$unit_name" ]; then
    if live_systemd; then systemctl disable --now "$unit_name" || true; else systemctl_ disable "$unit_name" || true; fi
  fi
  rm -f "$unit" "$etc/agent.toml" "$etc/agent.secret" "$etc/ca.crt"
  rm -rf "$venv" "${state_dirs[@]}"
  rmdir "$etc" 2>/dev/null || true
  if live_systemd; then systemctl daemon-reload; fi
  say "removed (revoke the host's broker credential with: fleetprint broker revoke-host <host id>)"
}

ensure_venv() {
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
    || die "$python is missing or older than 3.11"
  local installed=""
  [ -x "$venv/bin/python" ] && installed="$("$venv/bin/python" -I -c \
    'import importlib.metadata as m; print(m.version("fleetprint"))' 2>/dev/null || true)"
  if [ -n "$installed" ] && [ "$action" != upgrade ]; then return; fi
  [ -n "$package" ] || die "what to install? --wheel dist/fleetprint-X.Y.Z-py3-none-any.whl (or its URL), built by \
scripts/release in a clone of fleetprint (docs/operations.md, \"Releases\"), or --index-url URL of an index it was published to"
  if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
    say "created the virtual environment ${venv#"$root"}"
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade ${index_url:+--index-url "$index_url"} "$package"
  local now
  now="$("$venv/bin/python" -I -c 'import importlib.metadata as m; print(m.version("fleetprint"))')"
  if [ "$now" != "$installed" ]; then
    say "fleetprint ${installed:-not installed} -> $now"
    changed=yes
  fi
}

write_config() {
  local tmp
  if [ -z "$config" ] && [ -f "$etc/agent.toml" ]; then return; fi  # the operator's config stays
  tmp="$(mktemp)"
  if [ -n "$config" ]; then
    cp "$config" "$tmp"
  else
    [ -n "$broker" ] || die "--broker (or --config) is needed for a first install"
    local host="${broker%:*}" port=8883
    [ "$host" = "$broker" ] || port="${broker##*:}"
    [ -n "$host_id" ] || host_id="$("$venv/bin/python" -I -c \
      'import sys; from pathlib import Path; from fleetprint.agent.inventory import derive_host_id
print(derive_host_id(Path(sys.argv[1])))' "${root:-/}")"
    {
      echo "# Written by deploy/install-agent.sh; every key: examples/agent.toml."
      echo "[host]"
      echo "id = \"$host_id\""
      if [ -n "$site" ]; then echo "site = \"$site\""; fi
      if [ -n "$department" ]; then echo "department = \"$department\""; fi
      if [ -n "$zone" ]; then echo "zone = \"$zone\""; fi
      echo
      echo "[mqtt]"
      echo "host = \"$host\""
      echo "port = $port"
      echo "username = \"$host_id\"  # the broker's ACL ties the user to its host id"
      echo "password_file = \"/etc/fleetprint/agent.secret\""
      echo "tls = true"
      if [ -n "$ca_file" ]; then echo "ca_file = \"/etc/fleetprint/ca.crt\""; fi
    } >"$tmp"
  fi
  put "$tmp" "$etc/agent.toml" 644
  rm -f "$tmp"
}

install_agent() {
  [ -f "$here/systemd/$unit_name" ] || die "$here/systemd/$unit_name not found: keep deploy/ together"
  ensure_venv
  write_config
  if [ -n "$secret_file" ]; then put "$secret_file" "$etc/agent.secret" 600; fi
  if [ -n "$ca_file" ]; then put "$ca_file" "$etc/ca.crt" 644; fi
  [ -f "$etc/agent.secret" ] || die "no broker password: give --secret-file (fleetprint broker add-host <host id>)"
  local tmp
  tmp="$(mktemp)"
  sed "s#/opt/fleetprint-agent/#$prefix/#g" "$here/systemd/$unit_name" >"$tmp"
  put "$tmp" "$unit" 644
  rm -f "$tmp"
  if [ ! -L "$root/etc/systemd/system/multi-user.target.wants/$unit_name" ]; then
    if live_systemd; then systemctl daemon-reload; fi
    systemctl_ enable "$unit_name"
    changed=yes
  fi
  if live_systemd && [ "$start" = yes ]; then
    if [ "$changed" = yes ]; then systemctl daemon-reload; systemctl restart "$unit_name"; say "agent (re)started"
    else systemctl start "$unit_name"; fi
  fi
  if [ "$changed" = no ]; then say "nothing to change"; fi
}

case "$action" in
  uninstall) uninstall ;;
  *) install_agent ;;
esac
