// fault-child: a hosted program that fails in one way per mode, for
// program_faults_test. It talks straight to the descriptors named by
// TAO_CHANNEL (no RpcTao), so it can stop in the middle of a frame.
//
//   fault-child slow-seal        sends a 1 MiB Seal request in 32 KiB pieces,
//                                slowly; at half way says "half" and stalls
//                                (the test kills it there)
//   fault-child no-read          sends a 1 MiB Seal request, says "sent", and
//                                never reads the (1 MiB) reply
//   fault-child fork-exit        forks a grandchild (same process group) that
//                                sleeps 60 s, says "grandchild PID pgid PGID",
//                                and exits 0
//   fault-child setsid-exit SECS forks a grandchild that calls setsid() (a new
//                                session and process group: it leaves the
//                                program's group), closes its output and
//                                sleeps SECS; says "grandchild PID escaped
//                                sid SID" and exits 0
//   fault-child close-channel    closes its channel descriptors, says
//                                "closed", and sleeps 60 s
//
// Exit codes: 0 as described, 1 failure (why on stdout), 2 usage.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "channels/framing.h"
#include "channels/tao_rpc.pb.h"
#include "tests/testing/raw_channel.h"
#include "tests/testing/shm_bridge.h"

namespace {

using ::tao::test::Bad;
using ::tao::test::ParseChannelOrBridge;
using ::tao::test::read_fd;
using ::tao::test::Say;
using ::tao::test::write_fd;
using ::tao::test::WriteAll;

std::string SealFrame(size_t size) {
  tao::TaoRequest request;
  request.set_id(1);
  request.mutable_seal()->set_data(std::string(size, 's'));
  std::string out;
  if (!tao::AppendFrame(request, tao::kDefaultMaxFrameSize, &out).ok())
    std::abort();
  return out;
}

void SleepSeconds(int seconds) {
  for (int i = 0; i < seconds * 10; ++i) ::usleep(100 * 1000);
}

int Run(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string mode = argv[1];
  ::signal(SIGPIPE, SIG_IGN);
  if (mode == "fork-exit") {
    pid_t pid = ::fork();
    if (pid < 0) return Bad("fork");
    if (pid == 0) {
      SleepSeconds(60);
      ::_exit(0);
    }
    Say(absl::StrCat("grandchild ", pid, " pgid ", ::getpgid(pid),
                     " parent pgid ", ::getpgrp()));
    return 0;
  }
  if (mode == "setsid-exit") {
    int seconds = 5;
    if (argc > 2 && !absl::SimpleAtoi(argv[2], &seconds)) return 2;
    int ready[2];
    if (::pipe(ready) != 0) return Bad("pipe");
    pid_t pid = ::fork();
    if (pid < 0) return Bad("fork");
    if (pid == 0) {
      ::close(ready[0]);
      pid_t sid = ::setsid();
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ssize_t n = ::write(ready[1], &sid, sizeof(sid));
      (void)n;
      ::close(ready[1]);
      SleepSeconds(seconds);
      ::_exit(0);
    }
    ::close(ready[1]);
    pid_t sid = -1;
    if (::read(ready[0], &sid, sizeof(sid)) !=
        static_cast<ssize_t>(sizeof(sid))) {
      return Bad("the grandchild did not report");
    }
    if (sid < 0) return Bad("setsid failed in the grandchild");
    Say(absl::StrCat("grandchild ", pid, " escaped sid ", sid));
    return 0;
  }
  // (Over shm, a bridge thread carries the rings to a socketpair, so every
  // mode below works on plain descriptors.)
  if (!ParseChannelOrBridge()) {
    return Bad("TAO_CHANNEL is missing or malformed");
  }
  if (mode == "slow-seal") {
    std::string frame = SealFrame(1 << 20);
    const size_t half = frame.size() / 2;
    const size_t piece = 32 * 1024;
    for (size_t done = 0; done < half; done += piece) {
      if (!WriteAll(absl::string_view(frame).substr(
              done, std::min(piece, half - done)))) {
        return Bad("write");
      }
      ::usleep(5 * 1000);
    }
    Say("half");
    SleepSeconds(60);
    return 0;
  }
  if (mode == "no-read") {
    if (!WriteAll(SealFrame(1 << 20))) return Bad("write");
    Say("sent");
    SleepSeconds(60);
    return 0;
  }
  if (mode == "close-channel") {
    ::close(read_fd);
    if (write_fd != read_fd) ::close(write_fd);
    Say("closed");
    SleepSeconds(60);
    return 0;
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
