// vm-bench-probe: the guest side of bench/vm (README.md), timed with the
// guest's own monotonic clock; results go to /dev/console (the VM's log).
//   vm-bench-probe tao N   first Tao reply (GetTaoName), then N Seals of
//                          32 B through the guest's host
//   vm-bench-probe raw N   N round trips of 32 B over the virtio port named
//                          "tao" with whatever echoes on the host's side
// Prints "bench: <what> median_us=<m> n=<N>" lines; exits 0 on success.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "channels/rpc_tao.h"

namespace {

double NowUs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

FILE* Console() {
  FILE* f = std::fopen("/dev/console", "w");
  return f != nullptr ? f : stdout;
}

int Tao(int n) {
  FILE* out = Console();
  auto tao = tao::TaoFromEnvironment();
  if (!tao.ok()) return 3;
  auto name = (*tao)->GetTaoName();
  if (!name.ok()) return 3;
  std::fprintf(out, "bench: first tao reply\n");
  std::fflush(out);
  std::string data(32, 'x');
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    double t = NowUs();
    auto sealed = (*tao)->Seal(data, "");
    if (!sealed.ok()) {
      std::fprintf(out, "bench: seal failed: %s\n",
                   std::string(sealed.status().message()).c_str());
      return 1;
    }
    us.push_back(NowUs() - t);
  }
  std::fprintf(out, "bench: seal32 median_us=%.1f n=%d\n", Median(us), n);
  std::fflush(out);
  return 0;
}

int Raw(int n) {
  FILE* out = Console();
  auto device = tao::FindVirtioPort("tao");
  if (!device.ok()) return 3;
  int fd = ::open(device->c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return 3;
  char buf[32] = {0};
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    double t = NowUs();
    if (::write(fd, buf, sizeof(buf)) != sizeof(buf)) return 3;
    size_t got = 0;
    while (got < sizeof(buf)) {
      ssize_t r = ::read(fd, buf + got, sizeof(buf) - got);
      if (r <= 0) return 3;
      got += static_cast<size_t>(r);
    }
    us.push_back(NowUs() - t);
  }
  std::fprintf(out, "bench: echo32 median_us=%.1f n=%d\n", Median(us), n);
  std::fflush(out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: vm-bench-probe tao|raw N\n");
    return 2;
  }
  int n = std::atoi(argv[2]);
  std::string mode = argv[1];
  if (mode == "tao") return Tao(n);
  if (mode == "raw") return Raw(n);
  return 2;
}
