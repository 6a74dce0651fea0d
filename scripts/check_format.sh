#!/usr/bin/env bash
# Checks that every C++ source in the tree is formatted by the tree's
# .clang-format (Google style). Prints the files that are not and the command
# that fixes them; exits 1 if there are any. With --fix, formats them in place.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cc' '*.h')
else
  mapfile -t files < <(find . -path ./build\* -prune -o \
    \( -name '*.cc' -o -name '*.h' \) -print | sed 's|^\./||' | sort)
fi
if [[ ${1:-} == --fix ]]; then
  clang-format -i --style=file "${files[@]}"
  exit 0
fi
unformatted=()
for f in "${files[@]}"; do
  clang-format --style=file "$f" | cmp -s - "$f" || unformatted+=("$f")
done
if ((${#unformatted[@]})); then
  echo "not formatted by .clang-format (${#unformatted[@]} files):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  echo "fix with: scripts/check_format.sh --fix" >&2
  exit 1
fi
echo "format: ${#files[@]} files match .clang-format"
