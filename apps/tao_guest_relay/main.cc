// tao-guest-relay: runs inside a VM guest and joins the virtio port
// "org.tao.admin" (which the host's VM factory gives every VM, and which
// QEMU joins to a unix socket only the host's root may reach) to the guest
// host's own admin socket, one host connection at a time. This is how
// `taoctl tree` on the host draws the programs inside a VM (docs/vm.md).
//
// A host connection is a session: it begins with the first byte the host
// sends while the port is open on the host's side, and ends when the host
// closes (the port reads end-of-file) or the guest host closes its side.
// No byte of one session reaches another. The guest host's admin policy
// decides what the relay's connections (the relay's uid, root unless the
// image runs it otherwise) may do.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "apps/common/cli.h"
#include "gflags/gflags.h"

DEFINE_string(port, "org.tao.admin",
              "The virtio port to serve (its name in "
              "/sys/class/virtio-ports/*/name).");
DEFINE_string(socket, "/run/tao/admin.sock",
              "The guest host's admin socket (its config's admin_socket).");

namespace {

constexpr absl::string_view kUsage =
    R"usage(inside a VM guest: the host's way to the guest host's admin API.

Usage:
  tao-guest-relay [--port=NAME] [--socket=PATH]

Joins the virtio port NAME, which the host's VM factory gives every VM and
relays to a unix socket only the host's root may reach, to the guest host's
admin socket PATH, one host connection at a time. tao-guest-image --relay
puts it in a guest image, and the image's init starts it. It runs until the
guest stops; it exits 6 if the port cannot be opened.)usage";

void Log(const std::string& line) {
  std::cerr << "tao-guest-relay: " << line << std::endl;
}

// /dev/vportNpM of the port named `name`, from /sys/class/virtio-ports, or
// empty while there is none.
std::string FindPort(const std::string& name) {
  DIR* dir = ::opendir("/sys/class/virtio-ports");
  if (dir == nullptr) return "";
  std::string found;
  while (struct dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream file(std::string("/sys/class/virtio-ports/") + e->d_name +
                       "/name");
    std::string line;
    if (std::getline(file, line) && line == name) {
      found = std::string("/dev/") + e->d_name;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

int Connect(const std::string& path) {
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) return -1;
  path.copy(address.sun_path, path.size());
  // The guest host may still be starting: a few tries, 100 ms apart.
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (::connect(fd, reinterpret_cast<struct sockaddr*>(&address),
                  sizeof(address)) == 0) {
      return fd;
    }
    ::close(fd);
    ::usleep(100000);
  }
  return -1;
}

// Reads the port until the host closes its side, dropping what it says.
void DiscardUntilHostCloses(int port) {
  char buf[16 << 10];
  while (true) {
    ssize_t n = ::read(port, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
  }
}

// One session: bytes both ways until either side closes.
void Relay(int port, const std::string& socket_path) {
  int admin = Connect(socket_path);
  if (admin < 0) {
    Log("cannot reach " + socket_path + ": " + std::strerror(errno) +
        "; dropping this host connection");
    DiscardUntilHostCloses(port);
    return;
  }
  char buf[64 << 10];
  struct pollfd fds[2] = {{port, POLLIN, 0}, {admin, POLLIN, 0}};
  bool host_open = true;
  while (true) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(port, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {  // the host closed: the session is over
        host_open = false;
        break;
      }
      if (!WriteAll(admin, buf, static_cast<size_t>(n))) break;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(admin, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the guest host closed
      if (!WriteAll(port, buf, static_cast<size_t>(n))) break;
    }
  }
  ::close(admin);
  if (host_open) DiscardUntilHostCloses(port);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args =
      tao::InitApp(kUsage, "apps/tao_guest_relay/", &argc, &argv);
  if (!args.empty()) {
    std::cerr << "tao-guest-relay: takes no arguments (got '" << args[0]
              << "'); see --help\n";
    return tao::kExitUsage;
  }
  const std::string port_name = FLAGS_port;
  const std::string socket_path = FLAGS_socket;
  ::signal(SIGPIPE, SIG_IGN);
  std::string device;
  for (int waited = 0; (device = FindPort(port_name)).empty(); ++waited) {
    if (waited == 100) Log("waiting for the virtio port " + port_name);
    ::usleep(100000);
  }
  int port = ::open(device.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (port < 0) {
    Log("open " + device + ": " + std::strerror(errno));
    return tao::kExitOther;
  }
  Log("relaying " + device + " (" + port_name + ") to " + socket_path);
  while (true) {
    // While no host is connected the port polls as readable and hung up,
    // and reads end-of-file: look again every 100 ms. A host that connects
    // clears the hang-up; its first bytes begin the session.
    struct pollfd p = {port, POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) {
      Log(std::string("poll the port: ") + std::strerror(errno));
      return tao::kExitOther;
    }
    if ((p.revents & POLLHUP) != 0 || (p.revents & POLLIN) == 0) {
      ::usleep(100000);
      continue;
    }
    Relay(port, socket_path);
  }
}
