#!/bin/sh
# Runs a command inside a private D-Bus session with a real, unlocked gnome-keyring
# Secret Service, and private XDG directories so that the user's own keyring and settings
# are never touched. Used by the `keychain` tests:  with-secret-service.sh COMMAND [ARGS]
set -eu
scratch=$(mktemp -d "${TMPDIR:-/tmp}/ledger-keyring-XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
export HOME="$scratch/home" XDG_DATA_HOME="$scratch/data" XDG_CONFIG_HOME="$scratch/config" \
       XDG_CACHE_HOME="$scratch/cache" XDG_RUNTIME_DIR="$scratch/run"
mkdir -p "$HOME" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
# LEDGER_KEYRING=no-default: as a fresh desktop session without a login keyring has it,
# only the daemon's session collection and no default one.
dbus-run-session -- sh -c '
    if [ "${LEDGER_KEYRING:-}" = no-default ]; then
        gnome-keyring-daemon --start --components=secrets >/dev/null
    else
        printf "%s" "ledger-test-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    fi
    exec "$@"' sh "$@"
