#!/bin/busybox sh
# A hostile guest (tests/vm): /init of a VM whose guest floods its Tao port
# with a frame header that claims 4 GiB and then garbage, without end, and
# its admin port with garbage. The host must close that one channel and stay
# up for everyone else; taoctl tree, reading the admin port, must give up on
# this VM alone.
b=/bin/busybox
$b mount -t proc proc /proc
$b mount -t sysfs sysfs /sys
$b mount -t devtmpfs devtmpfs /dev
for m in $($b cat /etc/tao/modules); do $b insmod /lib/modules/tao/$m.ko; done
# The ports appear a moment after virtio_console is loaded: wait for them.
port="" admin=""
for i in $($b seq 200); do
  for p in /sys/class/virtio-ports/*; do
    [ -e "$p/name" ] || continue
    [ "$($b cat "$p/name")" = tao ] && port=/dev/${p##*/}
    [ "$($b cat "$p/name")" = org.tao.admin ] && admin=/dev/${p##*/}
  done
  [ -n "$port" ] && [ -e "$port" ] && [ -n "$admin" ] && [ -e "$admin" ] && break
  $b usleep 20000
done
echo "hostile: garbage on the admin port $admin"
(while true; do $b cat /dev/urandom >"$admin" 2>/dev/null; $b usleep 100000; done) &
echo "hostile: flooding $port"
$b printf '\377\377\377\377' >"$port"
$b cat /dev/urandom >"$port"
echo "hostile: the host closed the port"
while true; do $b sleep 1; done
