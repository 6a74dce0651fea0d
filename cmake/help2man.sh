#!/usr/bin/env bash
# help2man.sh TOOL SECTION OUT: a short man page made from `TOOL --help`, so
# that the page says what the tool itself says (flags, exit codes) and cannot
# drift from it. The build runs it for every installed tool.
set -euo pipefail
tool=$1 section=$2 out=$3
name=$(basename "$tool")
help=$("$tool" --help)
# The first line is "<name>: <one-line summary>". Taken by parameter
# expansion, not `| head -n 1`: head exits after one line, and under pipefail
# the SIGPIPE that printf may then get fails the build now and then.
first_line=${help%%$'\n'*}
summary=$(sed "s/^$name: //; s/\.\$//" <<<"$first_line")
{
  printf '.TH %s %s "" "Tao host runtime" "Tao"\n' "$(printf '%s' "$name" | tr a-z A-Z)" "$section"
  printf '.SH NAME\n%s \\- %s\n' "$name" "$summary"
  printf '.SH DESCRIPTION\n.nf\n'
  # Preformatted; escape backslashes and leading dots or quotes.
  printf '%s\n' "$help" | tail -n +2 | sed 's/\\/\\e/g; s/^\([.'"'"']\)/\\\&\1/'
  printf '.fi\n.SH SEE ALSO\n'
  printf 'taohost(8), taoctl(1), tao\\-domain(1), tao\\-attest(1), tao\\-soft(1),\n'
  printf 'tao\\-enclave(1), tao\\-guest\\-image(1); the documentation in\n'
  printf '/usr/share/doc/tao (exit\\-codes.md, taohost.md, enclave\\-manifest.md,\n'
  printf 'vm.md).\n'
} >"$out.tmp"
mv "$out.tmp" "$out"
