#!/bin/busybox sh
# A hostile guest (tests/vm): /init of a VM whose guest floods its Tao port
# with a frame header that claims 4 GiB and then garbage, without end. The
# host must close that one channel and stay up for everyone else.
b=/bin/busybox
$b mount -t proc proc /proc
$b mount -t sysfs sysfs /sys
$b mount -t devtmpfs devtmpfs /dev
for m in $($b cat /etc/tao/modules); do $b insmod /lib/modules/tao/$m.ko; done
# The port appears a moment after virtio_console is loaded: wait for it.
port=""
for i in $($b seq 200); do
  for p in /sys/class/virtio-ports/*; do
    [ -e "$p/name" ] && [ "$($b cat "$p/name")" = tao ] && port=/dev/${p##*/}
  done
  [ -n "$port" ] && [ -e "$port" ] && break
  $b usleep 20000
done
echo "hostile: flooding $port"
$b printf '\377\377\377\377' >"$port"
$b cat /dev/urandom >"$port"
echo "hostile: the host closed the port"
while true; do $b sleep 1; done
