# Shared by the end-to-end scripts (sourced; kept out of tests/e2e/*.sh so CTest does not run it):
# counters and the check helpers. A script ends by printing its counts.
failures=0
checks=0

pass() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }

# expect_error "description" "fragment that stderr must contain" -- command...
# Bad input must give exactly one line on stderr that names what was wrong, and exit status 2.
expect_error() {
  local what="$1" fragment="$2"
  shift 3
  local out rc
  out="$("$@" 2>&1 >/dev/null)"
  rc=$?
  if [ "$rc" -ne 2 ]; then fail "$what: exit status $rc, expected 2 ($out)"; return; fi
  if [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ]; then fail "$what: error is not one line: $out"; return; fi
  case "$out" in
    *"$fragment"*) pass ;;
    *) fail "$what: '$out' does not mention '$fragment'" ;;
  esac
}

# e2e_init "$@": the script's arguments (QBENCH SOURCE_DIR) as QB and SRC, and TMP, a scratch
# directory removed when the script exits.
e2e_init() {
  QB="$1"
  SRC="$2"
  TMP="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$TMP'" EXIT
}
