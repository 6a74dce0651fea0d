# Shell helpers shared by the demo and the end-to-end tests. Source it.

# flip_bit FILE OFFSET: flips the lowest bit of the byte at OFFSET in place,
# so the file always changes (overwriting with a fixed value would not when
# the byte already held it).
flip_bit() {
  local file=$1 offset=$2 byte
  byte=$(od -An -tu1 -j "$offset" -N1 "$file" | tr -d ' ')
  # shellcheck disable=SC2059
  printf "$(printf '\\%03o' $((byte ^ 1)))" |
    dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
}
