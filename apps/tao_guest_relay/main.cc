// tao-guest-relay: runs inside a VM guest and joins the virtio port
// "org.tao.admin" (which the host's VM factory gives every VM, and which
// QEMU joins to the host's admin bridge for that VM) to the guest host's
// own admin socket. This is how `taoctl tree` on the host draws the
// programs inside a VM (docs/vm.md).
//
// The port carries frames (program_factory/vm/admin_port/admin_frame.h):
// the host opens a session for each of its admin clients, sends its bytes,
// and closes it. For each session the relay connects to the guest host's
// admin socket and copies bytes both ways, its answers framed with the
// session's number, so no byte of one session reaches another. The guest
// host's admin policy decides what the relay's connections (the relay's
// uid, root unless the image runs it otherwise) may do.
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
#include "program_factory/vm/admin_port/admin_frame.h"

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
serves on a unix socket only the host's root may reach, to the guest host's
admin socket PATH, one host session at a time. tao-guest-image --relay
puts it in a guest image, and the image's init starts it. It runs until the
guest stops; it exits 6 if the port cannot be opened or the host sends
what is not a frame.)usage";

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

// The relay's one session at a time: the host's session number and the
// connection to the guest host's admin socket that serves it.
class Sessions {
 public:
  Sessions(int port, std::string socket_path)
      : port_(port), socket_path_(std::move(socket_path)) {}
  ~Sessions() { End(); }

  int admin() const { return admin_; }
  uint32_t session() const { return session_; }

  // A frame from the host. False when the port cannot be written.
  bool OnFrame(const tao::AdminFrame& frame) {
    switch (frame.type) {
      case tao::AdminFrameType::kOpen:
        End();  // a new session replaces any other
        admin_ = Connect(socket_path_);
        if (admin_ < 0) {
          Log("cannot reach " + socket_path_ + ": " + std::strerror(errno) +
              "; closing host session " + std::to_string(frame.session));
          return SendClose(frame.session);
        }
        session_ = frame.session;
        return true;
      case tao::AdminFrameType::kData:
        if (frame.session != session_ || admin_ < 0) return true;  // late
        if (!WriteAll(admin_, frame.payload.data(), frame.payload.size())) {
          const uint32_t ended = session_;
          End();
          return SendClose(ended);
        }
        return true;
      case tao::AdminFrameType::kClose:
        if (frame.session == session_) End();
        return true;
    }
    return true;
  }

  // The guest host's side is readable: its bytes go to the host, framed.
  // False when the port cannot be written.
  bool OnAdminReadable() {
    // At most 32 KiB a frame, header included: the kernel's virtio console
    // takes at most that in one write, so each frame goes out whole.
    char buf[(32 << 10) - tao::kAdminFrameHeader];
    ssize_t n;
    do {
      n = ::read(admin_, buf, sizeof(buf));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {  // the guest host closed
      const uint32_t ended = session_;
      End();
      return SendClose(ended);
    }
    std::string frames;
    tao::AppendAdminData(session_, absl::string_view(buf, n), &frames);
    return WriteAll(port_, frames.data(), frames.size());
  }

  // Ends the current session, if any: closes its connection to the guest
  // host (the host closed the session, replaced it, or left the port).
  void End() {
    if (admin_ >= 0) ::close(admin_);
    admin_ = -1;
    session_ = 0;
  }

 private:
  bool SendClose(uint32_t session) {
    std::string frame;
    tao::AppendAdminFrame(tao::AdminFrameType::kClose, session, "", &frame);
    return WriteAll(port_, frame.data(), frame.size());
  }

  const int port_;
  const std::string socket_path_;
  int admin_ = -1;
  uint32_t session_ = 0;
};

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
  Sessions sessions(port, socket_path);
  tao::AdminFrameReader reader(/*allow_open=*/true);
  std::vector<char> buf(tao::kMaxAdminPayload);
  while (true) {
    struct pollfd fds[2] = {{port, POLLIN, 0}, {sessions.admin(), POLLIN, 0}};
    const uint32_t polled = sessions.session();
    if (::poll(fds, sessions.admin() >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      Log(std::string("poll: ") + std::strerror(errno));
      return tao::kExitOther;
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      ssize_t n = ::read(port, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // No host on the port (before QEMU joins it, or after the host's
        // bridge stopped): it polls as hung up and reads end-of-file.
        // Look again every 100 ms.
        sessions.End();
        reader = tao::AdminFrameReader(/*allow_open=*/true);
        ::usleep(100000);
        continue;
      }
      reader.Feed(absl::string_view(buf.data(), static_cast<size_t>(n)));
      while (true) {
        auto frame = reader.Next();
        if (!frame.ok()) {
          Log("the host sent " + std::string(frame.status().message()));
          return tao::kExitOther;
        }
        if (!frame->has_value()) break;
        if (!sessions.OnFrame(**frame)) {
          Log(std::string("write to the port: ") + std::strerror(errno));
          return tao::kExitOther;
        }
      }
    }
    // (Only for the session polled: the port's frames may have ended it.)
    if (sessions.admin() >= 0 && sessions.session() == polled &&
        (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
        !sessions.OnAdminReadable()) {
      Log(std::string("write to the port: ") + std::strerror(errno));
      return tao::kExitOther;
    }
  }
}
