// The fixed files of a guest image: the pre-init script that mounts, loads
// the kernel modules and the state disk and then makes taohost init (pid 1),
// the power button's action, and the minimal /etc a taohost needs.
#ifndef TAO_APPS_TAO_GUEST_IMAGE_GUEST_INIT_H_
#define TAO_APPS_TAO_GUEST_IMAGE_GUEST_INIT_H_

#include "absl/strings/string_view.h"

namespace tao {

// /init: busybox sh. Mounts /proc, /sys, /dev, /run; loads the modules
// listed in /etc/tao/modules in order; mounts /dev/vda on /state (ext2,
// formatted on first boot); starts busybox acpid (the power button's
// action is SIGTERM to pid 1) and, where the image has one, the admin
// relay (tao-guest-relay); then execs /bin/taohost, which becomes
// pid 1 and powers the guest off when it has stopped cleanly.
inline constexpr absl::string_view kGuestInit = R"(#!/bin/busybox sh
# tao guest pre-init (written by tao-guest-image; docs/vm.md).
b=/bin/busybox
$b mount -t proc proc /proc
$b mount -t sysfs sysfs /sys
$b mount -t devtmpfs devtmpfs /dev
$b mount -t tmpfs -o mode=0755 tmpfs /run
$b mount -t tmpfs -o mode=1777 tmpfs /tmp
for m in $($b cat /etc/tao/modules); do
  $b insmod /lib/modules/tao/$m.ko || echo "tao-init: insmod $m failed"
done
if [ -b /dev/vda ]; then
  if ! $b mount -t ext2 /dev/vda /state 2>/dev/null; then
    echo "tao-init: formatting the state disk"
    $b mke2fs -q /dev/vda && $b mount -t ext2 /dev/vda /state ||
      echo "tao-init: no state disk"
  fi
fi
# -d: in the foreground (a daemonized acpid wants /var/log), its lines on
# the console; the action is /etc/acpi/PWRF/00000080.
$b acpid -d -c /etc/acpi &
# The admin relay (tao-guest-image --relay): the host's way to the guest
# host's admin API, through the VM's admin port.
if [ -x /bin/tao-guest-relay ]; then
  /bin/tao-guest-relay $($b cat /etc/tao/relay.args) &
fi
echo "tao-init: starting taohost"
exec /bin/taohost --config=/etc/tao/taohost.conf
)";

// /etc/acpi/PWRF/00000080: what busybox acpid runs on the power button.
inline constexpr absl::string_view kPowerButtonAction = R"(#!/bin/busybox sh
echo "tao-init: power button: stopping taohost"
/bin/busybox kill -TERM 1
)";

inline constexpr absl::string_view kGuestPasswd = "root:x:0:0:root:/:/bin/sh\n";
inline constexpr absl::string_view kGuestGroup = "root:x:0:\n";

// The modules a guest needs, by default: the virtio port, the state disk,
// the power button and its events, the panic device.
inline constexpr absl::string_view kDefaultGuestModules =
    "virtio_pci,virtio_console,virtio_blk,button,evdev,pvpanic-pci";

}  // namespace tao

#endif  // TAO_APPS_TAO_GUEST_IMAGE_GUEST_INIT_H_
