# Check helpers for the shell tests. Source it after setting $work (a
# scratch directory); the caller prints "$passed passed, $failed failed" at
# the end and exits non-zero if anything failed.
passed=0
failed=0

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi
}

# expect_exit CODE DESCRIPTION COMMAND...: the command must exit with CODE;
# its output is kept in $work/out and $work/err for output_has.
expect_exit() {
  local want=$1 what=$2; shift 2
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $what: exit $got, expected $want"; cat "$work/out" "$work/err"; fi
}

# output_has TEXT: the last expect_exit's stdout or stderr contains TEXT.
output_has() { grep -q -- "$1" "$work/out" "$work/err"; }
