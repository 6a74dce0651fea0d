#!/usr/bin/env python3
"""bench/vm's raw baselines: QEMU started as the VM factory starts it (the
same flags, the kernel and initrd as inherited descriptors), without a Tao
host. Prints one JSON line.
  raw_qemu.py floor KERNEL INITRD   ms from spawn to the port's first byte
  raw_qemu.py echo KERNEL INITRD    echoes the port; the guest's round-trip
                                    median (bench: echo32 on its console)
"""
import json, os, socket, subprocess, sys, time

mode, kernel, initrd = sys.argv[1:4]
accel = os.environ.get("TAO_TEST_VM_ACCEL", "tcg")
a, b = socket.socketpair()
q1, q2 = socket.socketpair()
kfd = os.open(kernel, os.O_RDONLY)
ifd = os.open(initrd, os.O_RDONLY)
# Sources above the targets first, so that no dup2 clobbers another source.
import fcntl
high = [fcntl.fcntl(f, fcntl.F_DUPFD, 20) for f in (kfd, ifd, b.fileno(), q2.fileno())]
fds = dict(zip(high, (3, 4, 5, 6)))
argv = ["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none",
        "-machine", "q35,accel=" + accel, "-cpu", "host" if accel == "kvm" else "max",
        "-m", "512", "-smp", "1", "-kernel", "/dev/fd/3", "-initrd", "/dev/fd/4",
        "-append", "console=ttyS0 quiet panic=-1",
        "-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
        "-chardev", "socket,id=tao,fd=5", "-device", "virtio-serial-pci,id=vserial",
        "-device", "virtserialport,bus=vserial.0,chardev=tao,name=tao",
        "-chardev", "socket,id=qmp,fd=6", "-mon", "chardev=qmp,mode=control",
        "-device", "pvpanic-pci", "-action", "panic=exit-failure", "-no-reboot"]


def remap():
    for src, dst in fds.items():
        os.dup2(src, dst)


t0 = time.monotonic()
p = subprocess.Popen(argv, preexec_fn=remap, pass_fds=(3, 4, 5, 6),
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
b.close()
q2.close()
for f in high:
    os.close(f)
a.settimeout(120)
first = a.recv(1)
boot_ms = (time.monotonic() - t0) * 1000
result = {"mode": mode, "boot_ms": round(boot_ms, 1)}
if mode == "echo":
    while True:
        try:
            data = a.recv(4096)
        except (socket.timeout, OSError):
            break
        if not data:
            break
        a.sendall(data)
out = p.communicate(timeout=120)[0].decode(errors="replace") if mode == "echo" else ""
if mode == "floor":
    p.kill()
    p.wait()
for line in out.splitlines():
    if line.startswith("bench: echo32"):
        result["echo_us"] = float(line.split("median_us=")[1].split()[0])
print(json.dumps(result))
