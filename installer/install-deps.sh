#!/usr/bin/env bash
# Installs what Ledger Console needs to build, run and test on Debian 12, if missing.
# apt-get as root, through sudo otherwise. Does nothing when everything is there.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config git
    qt6-base-dev qt6-charts-dev libqt6opengl6-dev qt6-tools-dev qt6-svg-dev
    qtkeychain-qt6-dev libpqxx-dev libssl-dev
    postgresql postgresql-contrib postgresql-15-cron
    xvfb xauth gnome-keyring dbus-x11 dbus-bin fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present."
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    run=()
elif command -v sudo >/dev/null 2>&1; then
    run=(sudo)
else
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: not root and no sudo; install them as root (apt-get install ${missing[*]}) and run again." >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -qq
"${run[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done."
