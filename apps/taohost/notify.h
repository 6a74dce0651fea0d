// taohost's messages to its service manager (systemd's sd_notify protocol,
// through Debian's libsystemd): READY=1 once the admin socket accepts,
// STATUS= lines for `systemctl status`, RELOADING=1 (with MONOTONIC_USEC)
// while SIGHUP reloads the policy, STOPPING=1 on the way out. Each call is a
// no-op when NOTIFY_SOCKET is not set (not started by systemd with
// Type=notify). Thread-safe (each call is one datagram); errors are logged,
// never fatal: the host serves whether or not a manager listens.
#ifndef TAO_APPS_TAOHOST_NOTIFY_H_
#define TAO_APPS_TAOHOST_NOTIFY_H_

#include "absl/strings/string_view.h"

namespace tao {

// STATUS=<status>: what the host is doing, one line.
void NotifyStatus(absl::string_view status);

// READY=1 and STATUS=<status>: start-up (or a reload) is complete.
void NotifyReady(absl::string_view status);

// RELOADING=1, MONOTONIC_USEC=<now on CLOCK_MONOTONIC> and STATUS=<status>:
// a reload has begun; NotifyReady ends it.
void NotifyReloading(absl::string_view status);

// STOPPING=1 and STATUS=<status>: the host is shutting down.
void NotifyStopping(absl::string_view status);

}  // namespace tao

#endif  // TAO_APPS_TAOHOST_NOTIFY_H_
