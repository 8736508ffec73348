#!/usr/bin/env bash
# Installs what Ledger Console needs to build, run and test on Debian 12, if missing.
# apt-get as root, through sudo otherwise. Does nothing when everything is there.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config git
    qt6-base-dev qt6-charts-dev libqt6opengl6-dev qt6-tools-dev qt6-svg-dev
    qtkeychain-qt6-dev libpqxx-dev libssl-dev
    postgresql postgresql-contrib postgresql-15-cron
    # ledger_pg, the ledger's module in the server (services/db/server; Step 14).
    postgresql-server-dev-15
    xvfb xauth gnome-keyring dbus-x11 dbus-bin fonts-dejavu-core
    locales openssl
    # Statements (Step 8): QR codes on PDFs; what the tests read exports back with.
    libqrencode-dev zbar-tools poppler-utils aqbanking-tools libxml2-utils
    # Bank file parsers (Step 9): the fuzz preset's clang and its libFuzzer/ASan runtimes
    # (libclang_rt.fuzzer is in libclang-rt-14-dev, which clang only recommends).
    clang libclang-rt-14-dev
    # clang-tidy over the sources (installer/setup.sh test, `cmake --build --preset tidy`).
    clang-tidy
    # Kafka ingestion (Step 12): librdkafka, whose mock cluster the tests run against.
    librdkafka-dev
    # bench_partitions (Step 11): monthly partitions kept by pg_partman.
    postgresql-15-partman
    # The Debian package (Step 13): man pages from --help, and the checks tst_package runs on
    # the package (lintian, AppStream metainfo, desktop entry).
    help2man lintian appstream desktop-file-utils
)

# Locales the test suites need: a server that answers in German shows that errors are
# classified by SQLSTATE, never by the English text of a message (tst_connectionerrors).
locales=(de_DE.UTF-8)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing+=("$p")
done

# "de_DE.UTF-8" is listed by `locale -a` as "de_DE.utf8".
have_locale() {
    local want
    want=$(tr '[:upper:]' '[:lower:]' <<<"${1/UTF-8/utf8}")
    locale -a 2>/dev/null | tr '[:upper:]' '[:lower:]' | grep -qx "$want"
}
missing_locales=()
for l in "${locales[@]}"; do
    have_locale "$l" || missing_locales+=("$l")
done

if [ ${#missing[@]} -eq 0 ] && [ ${#missing_locales[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages and ${#locales[@]} locale(s) present."
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    run=()
elif command -v sudo >/dev/null 2>&1; then
    run=(sudo)
else
    [ ${#missing[@]} -eq 0 ] || echo "install-deps: missing packages: ${missing[*]}" >&2
    [ ${#missing_locales[@]} -eq 0 ] || echo "install-deps: missing locales: ${missing_locales[*]}" >&2
    echo "install-deps: not root and no sudo; run this script as root and run again." >&2
    exit 1
fi

if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${run[@]}" apt-get update -qq
    "${run[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Generated the Debian way (listed in /etc/locale.gen, then locale-gen), so that a later
# locale-gen or dpkg-reconfigure keeps them.
for l in "${missing_locales[@]}"; do
    have_locale "$l" && continue
    line="$l ${l#*.}"
    echo "install-deps: generating the $l locale"
    if grep -qE "^[#[:space:]]*${line//./\\.}[[:space:]]*$" /etc/locale.gen 2>/dev/null; then
        "${run[@]}" sed -i -E "s/^[#[:space:]]*(${line//./\\.})[[:space:]]*$/\\1/" /etc/locale.gen
    else
        echo "$line" | "${run[@]}" tee -a /etc/locale.gen >/dev/null
    fi
    "${run[@]}" locale-gen >/dev/null
    have_locale "$l" || { echo "install-deps: could not generate the $l locale" >&2; exit 1; }
done
echo "install-deps: done."
