#include "apps/taohost/notify.h"

#include <glog/logging.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace tao {
namespace {

// One STATUS= line: a newline would start another assignment.
std::string StatusLine(absl::string_view status) {
  return absl::StrCat("STATUS=",
                      absl::StrReplaceAll(status, {{"\n", " "}, {"\r", " "}}));
}

void Send(const std::string& message) {
  // unset_environment=0: every later message goes to the same socket.
  int sent = sd_notify(0, message.c_str());
  if (sent < 0) {
    LOG(WARNING) << "sd_notify: " << std::strerror(-sent);
  }
}

}  // namespace

void NotifyStatus(absl::string_view status) { Send(StatusLine(status)); }

void NotifyReady(absl::string_view status) {
  Send(absl::StrCat("READY=1\n", StatusLine(status)));
}

void NotifyReloading(absl::string_view status) {
  struct timespec now = {};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  uint64_t usec = static_cast<uint64_t>(now.tv_sec) * 1000000u +
                  static_cast<uint64_t>(now.tv_nsec) / 1000u;
  Send(absl::StrCat("RELOADING=1\nMONOTONIC_USEC=", usec, "\n",
                    StatusLine(status)));
}

void NotifyStopping(absl::string_view status) {
  Send(absl::StrCat("STOPPING=1\n", StatusLine(status)));
}

}  // namespace tao
