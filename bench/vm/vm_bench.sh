#!/usr/bin/env bash
# VM guests against their raw baselines, all in one run (README.md):
#   1. Boot to the guest program's first Tao reply (taoctl start until the
#      guest's vm-bench-probe prints "first tao reply" on the console, polled
#      every 20 ms), vs the floor: QEMU started the same way (raw_qemu.py)
#      booting the same kernel with a busybox initramfs that writes one byte
#      to the port (spawn until that byte).
#   2. Seal 32 B from a guest program (through the guest's stacked host and
#      the port) vs a raw echo of 32 B over the same virtio-serial port: the
#      guest's median round trip, timed in the guest.
# The median of RUNS runs each. Says TCG or KVM, pinned or not.
# Usage: vm_bench.sh BUILD_DIR [RUNS] [SEALS]
set -uo pipefail
build=$(cd "${1:?usage: vm_bench.sh BUILD_DIR [RUNS] [SEALS]}" && pwd)
runs=${2:-3}
seals=${3:-500}
here=$(cd "$(dirname "$0")" && pwd)
kernel_dir=${TAO_GUEST_KERNEL_DIR:-/var/cache/tao/guest-kernel}
accel=${TAO_TEST_VM_ACCEL:-tcg}
# shellcheck source=../../tests/admin/admin_test_lib.sh
. "$here/../../tests/admin/admin_test_lib.sh" "$build/apps/taohost/taohost" \
  "$build/apps/taoctl/taoctl" "$build/apps/tao_domain/tao-domain" \
  "$build/apps/tao_attest/tao-attest" "$build/apps/demo_secret/demo-secret" \
  "$build/apps/demo_attest/demo-attest"
image_bin="$build/apps/tao_guest_image/tao-guest-image"
probe_src="$build/bench/vm/vm-bench-probe"
[ -x "$probe_src" ] || { echo "build the vm-bench-probe target first"; exit 2; }
allowed=$(awk '/Cpus_allowed_list/ {print $2}' /proc/self/status)
if [ "$allowed" = "0-$(($(nproc --all) - 1))" ]; then pinned="not pinned"; else pinned="pinned to CPUs $allowed"; fi

mkdir -p "$work/bin"
for b in "$taohost_bin" "$probe_src"; do objcopy --strip-debug "$b" "$work/bin/$(basename "$b")"; done
m_probe=$(measure "$work/bin/vm-bench-probe")
cat >"$work/guest.conf" <<CONF
root: "stacked"
keys_dir: "/state/keys"
state_dir: "/state/host"
runtime_dir: "/run/tao"
domain_dir: "/etc/tao/domain"
policy_key_file: "/etc/tao/domain/policy_name"
cgroup_root: "none"
measurement_cache_mib: 0
programs { process { path: "/bin/vm-bench-probe" args: "tao" args: "$seals" uid: 0 } }
CONF
extra_rules="rules { id: \"probe\" operations: [\"Execute\", \"Seal\"] principals { measurement: \"$m_probe\" } run_as_uids: 0 }"
make_domain "$work/dom"
mkdir -p "$work/gdom"
cp "$work/dom/policy_name" "$work/dom/policy.signed" "$work/gdom/"
"$image_bin" --kernel_dir="$kernel_dir" --taohost="$work/bin/taohost" --config="$work/guest.conf" \
  --files="$work/bin/vm-bench-probe:/bin/vm-bench-probe,$work/gdom/policy_name:/etc/tao/domain/policy_name,$work/gdom/policy.signed:/etc/tao/domain/policy.signed" \
  --output="$work/tao.initrd" --kernel_out="$work/vmlinuz" >/dev/null || exit 1
"$image_bin" --kernel_dir="$kernel_dir" --init="$here/floor_init.sh" \
  --modules=virtio_pci,virtio_console --output="$work/floor.initrd" >/dev/null || exit 1
echo "$seals" >"$work/n"
"$image_bin" --kernel_dir="$kernel_dir" --init="$here/floor_init.sh" \
  --modules=virtio_pci,virtio_console --output="$work/echo.initrd" \
  --files="$work/bin/vm-bench-probe:/bin/vm-bench-probe,$work/n:/etc/tao/n" >/dev/null || exit 1
cmd="console=ttyS0 quiet panic=-1 TAO_CHANNEL=virtio:tao"
name=$("$image_bin" --measure --kernel_file="$work/vmlinuz" --initrd_file="$work/tao.initrd" --cmdline="$cmd")
m_vm=${name#VM(}; m_vm=${m_vm%)}
extra_rules+="
rules { id: \"vm\" operations: [\"Execute\", \"Seal\", \"Unseal\", \"Attest\"] principals { measurement: \"$m_vm\" } }"
write_policy "$work/dom"
sock="$work/run/admin.sock"
cat >"$work/root.conf" <<CONF
keys_dir: "$work/keys"
domain_dir: "$work/dom"
policy_key_file: "$work/dom/policy_name"
runtime_dir: "$work/run"
state_dir: "$work/state"
factories: ["process", "vm"]
vm_accel: "$accel"
CONF
start_host root --config="$work/root.conf" --scrypt_n=1024 || exit 1

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
: >"$work/tao_boot"; : >"$work/floor_boot"; : >"$work/seal"; : >"$work/echo"
for run in $(seq "$runs"); do
  truncate -s 32M "$work/disk.$run" && chmod 600 "$work/disk.$run"  # the host's alone (docs/vm.md)
  t0=$(now_ms)
  # shellcheck disable=SC2086
  id=$(ctl start --vm_memory_mib=512 --vm_initrd="$work/tao.initrd" --vm_disk="$work/disk.$run" "$work/vmlinuz" $cmd)
  until ctl logs "$id" 2>/dev/null | grep -q "bench: first tao reply"; do sleep 0.02; done
  echo $(($(now_ms) - t0)) >>"$work/tao_boot"
  until ctl logs "$id" 2>/dev/null | grep -q "bench: seal32"; do sleep 0.2; done
  ctl logs "$id" | sed -n 's/.*bench: seal32 median_us=\([0-9.]*\).*/\1/p' >>"$work/seal"
  ctl kill "$id" >/dev/null
  python3 "$here/raw_qemu.py" floor "$work/vmlinuz" "$work/floor.initrd" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["boot_ms"])' >>"$work/floor_boot"
  python3 "$here/raw_qemu.py" echo "$work/vmlinuz" "$work/echo.initrd" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["echo_us"])' >>"$work/echo"
done
tb=$(median <"$work/tao_boot"); fb=$(median <"$work/floor_boot")
sm=$(median <"$work/seal"); em=$(median <"$work/echo")
echo "VM benchmark: accel $accel, $pinned, $runs runs (medians), $seals seals per run"
echo "row | tao | raw baseline | ratio | goal"
echo "boot to first Tao reply (ms) vs one byte from a busybox floor | $tb | $fb | $(python3 -c "print(f'{$tb/$fb:.2f}x')") | <= 1.15x"
echo "Seal 32 B from the guest vs raw 32 B echo on the port (us) | $sm | $em | $(python3 -c "print(f'{$sm/$em:.2f}x')") | <= 1.5x"
echo "runs: tao boot $(tr '\n' ' ' <"$work/tao_boot")| floor $(tr '\n' ' ' <"$work/floor_boot")| seal $(tr '\n' ' ' <"$work/seal")| echo $(tr '\n' ' ' <"$work/echo")"
ctl shutdown >/dev/null
host_exit "$host_pid" 60
finish
