#!/bin/bash
# Installs, upgrades or removes the fleetprint agent on one Mac as a launchd daemon, for an MDM
# (Jamf Pro, Intune, Kandji, ... run it as root) or by hand (docs/operations.md, "macOS
# workstations"): a virtual environment in /usr/local/fleetprint-agent, the config and the
# broker's password and CA in /Library/Application Support/fleetprint, the daemon
# org.fleetprint.agent.plist (beside this script) in /Library/LaunchDaemons, loaded. A second
# run keeps the config and reinstalls the rest. Needs Python >= 3.11 (python.org's installer
# or Homebrew's).
#
#   install-agent-macos.sh --wheel fleetprint-0.2.0-py3-none-any.whl --broker mqtt.example.org \
#     --ca-file ca.crt --secret-file mac-042.secret [--site paris --zone FRA --department finance]
#   install-agent-macos.sh --uninstall
set -euo pipefail

die() { echo "install-agent-macos: $*" >&2; exit 1; }

here="$(cd "$(dirname "$0")" && pwd)"
root="" python=python3 package="" broker="" ca_file="" secret_file="" host_id="" site="" zone="" department=""
action=install start=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --wheel) package="fleetprint[agent] @ file://$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2 ;;
    --package) package="$2"; shift 2 ;;
    --broker) broker="$2"; shift 2 ;;
    --ca-file) ca_file="$2"; shift 2 ;;
    --secret-file) secret_file="$2"; shift 2 ;;
    --host-id) host_id="$2"; shift 2 ;;
    --site) site="$2"; shift 2 ;;
    --zone) zone="$2"; shift 2 ;;
    --department) department="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --root) root="$2"; start=no; shift 2 ;;  # install under a scratch root (a test): launchctl not run
    --no-start) start=no; shift ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown option $1 (--help)" ;;
  esac
done

venv="$root/usr/local/fleetprint-agent"
support="$root/Library/Application Support/fleetprint"
daemon="$root/Library/LaunchDaemons/org.fleetprint.agent.plist"
logs="$root/Library/Logs/fleetprint"

if [ "$start" = yes ]; then launchctl bootout system/org.fleetprint.agent 2>/dev/null || true; fi
if [ "$action" = uninstall ]; then
  rm -rf "$venv" "$support" "$logs" "$daemon"
  echo "install-agent-macos: removed, queue included (revoke the host: fleetprint broker revoke-host <host id>)"
  exit 0
fi

[ -n "$package" ] || die "--wheel or --package is needed"
mkdir -p "$support" "$logs" "$(dirname "$daemon")"
chmod 700 "$support"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade "$package"

if [ ! -f "$support/agent.toml" ]; then
  [ -n "$broker" ] || die "--broker is needed for a first install"
  if [ -z "$host_id" ]; then
    host_id="$("$venv/bin/python" -I -c 'from fleetprint.agent.inventory import derive_host_id; print(derive_host_id())')"
  fi
  port=8883
  if [ "${broker##*:}" != "$broker" ]; then port="${broker##*:}"; fi
  # printf, not a here-document's ${var:+...}: macOS's bash 3.2 quotes those differently.
  {
    printf '# Written by deploy/macos/install-agent-macos.sh; every key: examples/agent.toml.\n[host]\nid = "%s"\n' \
      "$host_id"
    if [ -n "$site" ]; then printf 'site = "%s"\n' "$site"; fi
    if [ -n "$department" ]; then printf 'department = "%s"\n' "$department"; fi
    if [ -n "$zone" ]; then printf 'zone = "%s"\n' "$zone"; fi
    printf '\n[mqtt]\nhost = "%s"\nport = %s\nusername = "%s"\ntls = true\n' "${broker%:*}" "$port" "$host_id"
    printf 'password_file = "/Library/Application Support/fleetprint/agent.secret"\n'
    if [ -n "$ca_file" ]; then printf 'ca_file = "/Library/Application Support/fleetprint/ca.crt"\n'; fi
  } >"$support/agent.toml"
fi
if [ -n "$secret_file" ]; then install -m 600 "$secret_file" "$support/agent.secret"; fi
if [ -n "$ca_file" ]; then install -m 644 "$ca_file" "$support/ca.crt"; fi
[ -f "$support/agent.secret" ] || die "no broker password: give --secret-file (fleetprint broker add-host <host id>)"
install -m 644 "$here/org.fleetprint.agent.plist" "$daemon"

if [ "$start" = yes ]; then
  chown root:wheel "$daemon"
  launchctl bootstrap system "$daemon"
  echo "install-agent-macos: installed and started (log: /Library/Logs/fleetprint/agent.log)"
else
  echo "install-agent-macos: installed in ${root:-/}, not started"
fi
