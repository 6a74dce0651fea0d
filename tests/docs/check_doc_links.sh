#!/usr/bin/env bash
# Every relative link in README.md and docs/*.md names a file of this
# checkout, and no link leaves the checkout: a user who clones the project
# sees only what is in it.
#
#   check_doc_links.sh SOURCE_DIR
#
# Prints one line per broken link and "N passed, N failed"; exits non-zero if
# any link is broken.
set -u
src=$(cd "${1:?usage: check_doc_links.sh SOURCE_DIR}" && pwd) || exit 2
passed=0
failed=0
while IFS= read -r doc; do
  dir=$(dirname "$doc")
  # Markdown links [text](target); code spans are not links.
  while IFS= read -r target; do
    target=${target%%#*}            # drop an anchor
    [[ -z $target ]] && continue    # a link to an anchor of this page
    case $target in
      http://* | https://* | mailto:* | file://*) continue ;;
    esac
    resolved=$(realpath -m "$dir/$target")
    rel=${doc#"$src"/}
    if [[ $resolved != "$src"/* ]]; then
      echo "FAIL: $rel links outside the checkout: $target"
      failed=$((failed + 1))
    elif [[ ! -e $resolved ]]; then
      echo "FAIL: $rel links a file that does not exist: $target"
      failed=$((failed + 1))
    else
      passed=$((passed + 1))
    fi
  done < <(sed 's/`[^`]*`//g' "$doc" | grep -o '\]([^)]*)' | sed 's/^](//; s/)$//')
  # A path into the project's planning folder is never a user's file.
  if grep -n '\.\./shared/\|DESIGN\.md' "$doc" >/dev/null; then
    echo "FAIL: ${doc#"$src"/} points at ../shared/ or DESIGN.md, which users never see"
    failed=$((failed + 1))
  fi
done < <(find "$src/README.md" "$src/docs" -name '*.md' | sort)
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
