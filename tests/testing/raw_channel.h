// For test programs that play a hostile or faulty hosted program: the raw
// descriptors of the channel a host gave them (TAO_CHANNEL), without the
// client library, and a few output helpers. Header-only; one program each.
#ifndef TAO_TESTS_TESTING_RAW_CHANNEL_H_
#define TAO_TESTS_TESTING_RAW_CHANNEL_H_

#include <errno.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace tao {
namespace test {

// The channel's descriptors, set by ParseChannel (equal for a socket).
inline int read_fd = -1;
inline int write_fd = -1;

// Prints `line` and a newline on stdout with one write(2).
inline void Say(const std::string& line) {
  std::string out = line + "\n";
  ssize_t n = ::write(1, out.data(), out.size());
  (void)n;
}

// Says "FAILED: why" and returns the failure exit code 1.
inline int Bad(const std::string& why) {
  Say("FAILED: " + why);
  return 1;
}

// Reads TAO_CHANNEL ("pipe:R,W" or "socket:FD") into read_fd/write_fd.
inline bool ParseChannel() {
  const char* spec = std::getenv("TAO_CHANNEL");
  if (spec == nullptr) return false;
  absl::string_view s = spec;
  if (absl::ConsumePrefix(&s, "pipe:")) {
    std::vector<std::string> fds = absl::StrSplit(s, ',');
    return fds.size() == 2 && absl::SimpleAtoi(fds[0], &read_fd) &&
           absl::SimpleAtoi(fds[1], &write_fd);
  }
  if (absl::ConsumePrefix(&s, "socket:")) {
    if (!absl::SimpleAtoi(s, &read_fd)) return false;
    write_fd = read_fd;
    return true;
  }
  return false;
}

// Writes all of `data` to write_fd; false if the channel is gone.
inline bool WriteAll(absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(write_fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace test
}  // namespace tao

#endif  // TAO_TESTS_TESTING_RAW_CHANNEL_H_
