#!/bin/sh
# The guest's program in the VM tests (run by the guest's taohost as
# /bin/sh guest_probe.sh, so its name is the guest host's name extended by
# busybox sh and these args). demo-secret and demo-attest run on its
# channel; everything goes to the console, which is the VM's log on the host.
exec >/dev/console 2>&1
echo "probe: begin"
/bin/demo-secret /state/secret
echo "probe: demo-secret exit $?"
if /bin/demo-attest /state/attestation; then
  echo "probe: attestation $(/bin/busybox base64 /state/attestation | /bin/busybox tr -d '\n')"
fi
echo "probe: end"
