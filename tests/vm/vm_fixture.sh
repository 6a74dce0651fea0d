#!/usr/bin/env bash
# The VM tests' fixture (ctest vm.image, once per run): a domain, the guest
# image (tao-guest-image: the stacked taohost as init, guest_probe.sh running
# demo-secret and demo-attest under it), a hostile guest's image, and the
# root host's policy granting both VM names the guest's command lines give.
# The guest image has the admin relay (tao-guest-relay), so the host
# reaches the guest host's admin API through the VM's admin port.
#   vm_fixture.sh OUT_DIR KERNEL_DIR TAO_GUEST_IMAGE TAOHOST TAO_DOMAIN
#                 DEMO_SECRET DEMO_ATTEST TAO_GUEST_RELAY
set -euo pipefail
out=$1 kernel_dir=$2 image_bin=$3 taohost_bin=$4 domain_bin=$5 secret_bin=$6
attest_bin=$7 relay_bin=$8
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$kernel_dir/lib/modules" ]; then
  echo "FAIL: no unpacked kernel package in $kernel_dir (scripts/setup.sh makes it)"
  exit 1
fi
rm -rf "$out"
mkdir -p "$out/dom" "$out/bin"
export TAO_PASSPHRASE='vm test passphrase'
# Without debug sections the guest image is a third of the size and boots
# faster; the code is the same.
for b in "$taohost_bin" "$secret_bin" "$attest_bin" "$relay_bin"; do
  objcopy --strip-debug "$b" "$out/bin/$(basename "$b")"
done
measure() { "$domain_bin" measure "$1" | sed -n 's/^Program(\(sha256:[0-9a-f]\{64\}\))$/\1/p'; }
m_busybox=$(measure /bin/busybox)
m_sleep=$(measure /bin/sleep)
"$domain_bin" --domain_dir="$out/dom" --name=vmtest --scrypt_n=1024 init >/dev/null
# policy EXTRA: the domain's policy with EXTRA rules, signed.
policy() {
  cat >"$out/dom/policy.txt" <<P
domain_name: "vmtest"
rules { id: "root-admin" operations: "Admin:*" principals { uid: 0 } }
# Inside the guest: the probe (busybox sh, run as the guest's root so that
# it may write the console) and the demos on its channel.
rules {
  id: "guest-probe"
  operations: ["Execute", "Seal", "Unseal", "Attest"]
  principals { measurement: "$m_busybox" }
  run_as_uids: 0
}
# On the root host: a sibling process beside the VMs.
rules { id: "sibling" operations: "Execute" principals { measurement: "$m_sleep" } }
$1
P
  "$domain_bin" --domain_dir="$out/dom" --scrypt_n=1024 sign >/dev/null
}
policy ""
cp "$out/dom/policy_name" "$out/guest_policy_name"
cp "$out/dom/policy.signed" "$out/guest_policy.signed"
"$image_bin" --kernel_dir="$kernel_dir" --taohost="$out/bin/taohost" \
  --config="$here/guest.conf" --output="$out/initrd" --kernel_out="$out/vmlinuz" \
  --relay="$out/bin/tao-guest-relay" \
  --files="$here/guest_probe.sh:/etc/tao/guest_probe.sh,$out/bin/demo-secret:/bin/demo-secret,$out/bin/demo-attest:/bin/demo-attest,$out/guest_policy_name:/etc/tao/domain/policy_name,$out/guest_policy.signed:/etc/tao/domain/policy.signed"
"$image_bin" --kernel_dir="$kernel_dir" --init="$here/hostile_init.sh" \
  --modules=virtio_pci,virtio_console --output="$out/hostile.initrd"
# The command lines: A, and B (one word more: another VM name).
echo "console=ttyS0 quiet panic=-1 TAO_CHANNEL=virtio:tao" >"$out/cmd_a"
echo "console=ttyS0 quiet panic=-1 TAO_CHANNEL=virtio:tao tao.variant=b" >"$out/cmd_b"
rules=""
for v in a b; do
  name=$("$image_bin" --measure --kernel_file="$out/vmlinuz" \
    --initrd_file="$out/initrd" --cmdline="$(cat "$out/cmd_$v")")
  echo "$name" >"$out/name_$v"
  m=${name#VM(}; m=${m%)}
  # --json says the same: the name, and the measurement a rule names.
  json=$("$image_bin" --json --measure --kernel_file="$out/vmlinuz" \
    --initrd_file="$out/initrd" --cmdline="$(cat "$out/cmd_$v")")
  python3 -c 'import json, sys; o = json.loads(sys.argv[1]); assert o == {"name": sys.argv[2], "measurement": sys.argv[3]}, o' \
    "$json" "$name" "$m" || { echo "FAIL: --json --measure disagrees: $json"; exit 1; }
  rules+="rules { id: \"vm-$v\" operations: [\"Execute\", \"Seal\", \"Unseal\", \"Attest\"] principals { measurement: \"$m\" } }
"
done
m=$("$image_bin" --measure --kernel_file="$out/vmlinuz" \
  --initrd_file="$out/hostile.initrd" --cmdline="console=ttyS0 quiet")
m=${m#VM(}; m=${m%)}
rules+="rules { id: \"vm-hostile\" operations: [\"Execute\"] principals { measurement: \"$m\" } }
"
policy "$rules"
echo "vm fixture ready in $out: $(cat "$out/name_a"), $(cat "$out/name_b")"
