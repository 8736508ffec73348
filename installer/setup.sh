#!/usr/bin/env bash
# The two set-up commands of the README, on a fresh Debian 12 machine:
#
#   bash installer/setup.sh demo   install what is missing, build, start a private demo
#                                  PostgreSQL with demo data, open the console on it
#   bash installer/setup.sh test   install what is missing, build, run clang-tidy over the
#                                  sources and every test suite
#
# Builds out of the source tree, in build/<preset>. Options:
#   LEDGER_TEST_PRESETS="dev asan fuzz"   presets whose suites `test` runs (default: all
#                                  three; fuzz builds only the libFuzzer targets with clang
#                                  and runs each for 30 s over its seed corpus); clang-tidy
#                                  runs on the dev build, when dev is one of them
#   LEDGER_WERROR=ON                 compiler warnings are errors (.ci/run sets it; so does
#                                  CI=true); clang-tidy's findings are errors always
#   LEDGER_DEMO_DIR=DIR              where the demo cluster lives (default: ledgerctl's)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=${1:-}
case "$mode" in
    demo|test) ;;
    *) echo "usage: bash installer/setup.sh demo|test" >&2; exit 2 ;;
esac

bash "$repo/installer/install-deps.sh"

jobs=$(nproc 2>/dev/null || echo 2)
build() {
    local preset=$1
    local werror=${LEDGER_WERROR:-OFF}
    [ "${CI:-}" = "true" ] && werror=ON   # warnings are errors in CI
    local start=$SECONDS
    echo "== configure and build ($preset)"
    # From the source folder: the build preset says which targets (fuzz: ledger_fuzzers only).
    (cd "$repo" && cmake --preset "$preset" -DLEDGER_WERROR=$werror >/dev/null &&
        cmake --build --preset "$preset" -j "$jobs")
    echo "== build ($preset): $((SECONDS - start)) s"
}

if [ "$mode" = demo ]; then
    build dev
    ctl="$repo/build/dev/app/ctl/ledgerctl"
    dir_args=()
    [ -n "${LEDGER_DEMO_DIR:-}" ] && dir_args=(--dir "$LEDGER_DEMO_DIR")
    dsn=$("$ctl" demo start "${dir_args[@]}")
    # 500 customers and two years of history (about 10 s), loaded once.
    "$ctl" seed --dsn "$dsn" --accounts 500 --transactions 200000 --years 2 --if-empty
    # A month of bank statements for two cash accounts (camt.053, MT940) with discrepancies
    # of every kind planted, imported and matched once: the reconciliation queue has work.
    "$ctl" recon demo --dsn "$dsn" --out-dir "$repo/build/dev/demo-bank-statements" --if-empty
    # The demo operator signs in like everyone: its secret mints a time-limited session.
    # A fresh secret each run, handed to the console through a pipe: never on disk,
    # never on a command line, and not kept in the keychain either (the next run sets a new
    # one; asking to remember it made gnome-keyring prompt for a new keyring on a desktop
    # without a default collection before the demo could be used).
    if ! "$ctl" access operator list --dsn "$dsn" | grep -q '^demo\b'; then
        "$ctl" access operator add demo --dsn "$dsn" \
            --groups console_operator,console_supervisor,console_auditor,console_compliance >/dev/null
    fi
    # Sessions an earlier demo console left open (one killed, not closed, keeps its session
    # until it expires) would count against the operator's limit of three: a fresh run
    # starts from none. (A demo console still open elsewhere is signed out by this.)
    "$ctl" access revoke demo --dsn "$dsn" >/dev/null ||
        echo "   (could not end the demo's earlier sessions; signing in may say there are too many)" >&2
    secret=$("$ctl" access operator set-secret demo --dsn "$dsn" 2>/dev/null)
    host=$(sed -E 's/.*host=([^ ]+).*/\1/' <<<"$dsn")
    echo "== opening the console: operator 'demo' on $host"
    echo "   (stop the demo database later with: $ctl demo stop ${dir_args[*]})"
    printf '%s\n' "$secret" | exec "$repo/build/dev/app/console/ledger-console" \
        --host "$host" --port 5432 --database ledger --operator demo --secret-stdin
fi

# clang-tidy (.clang-tidy's checks, warnings as errors) over the project's sources, on the
# dev build's compile_commands.json, a target's files about ten at a time (run-tidy.py).
tidy() {
    echo "== clang-tidy (dev build)"
    local start=$SECONDS rc=0
    (cd "$repo" && cmake --build --preset tidy) || rc=$?
    echo "== clang-tidy: $((SECONDS - start)) s, $([ $rc -eq 0 ] && echo clean || echo FAILED)"
    return $rc
}

status=0
for preset in ${LEDGER_TEST_PRESETS:-dev asan fuzz}; do
    build "$preset"
    if [ "$preset" = dev ]; then
        tidy || status=1
    fi
    echo "== tests ($preset)"
    start=$SECONDS
    (cd "$repo" && ctest --preset "$preset" -j "$jobs") || status=1
    echo "== tests ($preset): $((SECONDS - start)) s"
done
exit $status
