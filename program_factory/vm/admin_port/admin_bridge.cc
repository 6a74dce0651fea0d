#include "program_factory/vm/admin_port/admin_bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "program_factory/vm/admin_port/admin_frame.h"

namespace tao {
namespace {

// Writes what it can of `*out` to `fd` without blocking, drops what was
// written and adds its size to `*written` (if not null). False on an error
// other than "try again".
bool Flush(int fd, std::string* out, uint64_t* written) {
  while (!out->empty()) {
    ssize_t n = ::send(fd, out->data(), out->size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    out->erase(0, static_cast<size_t>(n));
    if (written != nullptr) *written += static_cast<uint64_t>(n);
  }
  return true;
}

// One read of at most `buf->size()` bytes: >0 bytes, 0 at the end, -1 on
// an error, -2 for "try again".
ssize_t ReadSome(int fd, std::vector<char>* buf) {
  while (true) {
    ssize_t n = ::read(fd, buf->data(), buf->size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -2;
    return n;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<VmAdminBridge>> VmAdminBridge::Start(
    UniqueFd listening, UniqueFd link, int notice, Limits limits) {
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) {
    return absl::InternalError(
        absl::StrCat("eventfd for the admin bridge: ", std::strerror(errno)));
  }
  UniqueFd notice_fd;
  if (notice >= 0) {
    // A description of its own: O_NONBLOCK here leaves the caller's alone.
    notice_fd.Reset(::open(absl::StrCat("/proc/self/fd/", notice).c_str(),
                           O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!notice_fd.valid()) {
      return absl::ErrnoToStatus(errno, "reopen the VM's console for notices");
    }
  }
  for (int fd : {listening.get(), link.get()}) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
      return absl::ErrnoToStatus(errno, "make the admin port non-blocking");
    }
  }
  std::unique_ptr<VmAdminBridge> bridge(
      new VmAdminBridge(std::move(listening), std::move(link),
                        std::move(notice_fd), std::move(wake), limits));
  bridge->thread_ = std::thread([b = bridge.get()] { b->Run(); });
  return bridge;
}

VmAdminBridge::VmAdminBridge(UniqueFd listening, UniqueFd link, UniqueFd notice,
                             UniqueFd wake, Limits limits)
    : listening_(std::move(listening)),
      link_(std::move(link)),
      notice_(std::move(notice)),
      wake_(std::move(wake)),
      limits_(limits) {}

VmAdminBridge::~VmAdminBridge() {
  const uint64_t one = 1;
  ssize_t written = ::write(wake_.get(), &one, sizeof(one));
  (void)written;  // an eventfd's counter cannot overflow from one write
  if (thread_.joinable()) thread_.join();
}

absl::Status VmAdminBridge::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

uint32_t VmAdminBridge::sessions() const {
  absl::MutexLock lock(&mu_);
  return sessions_;
}

void VmAdminBridge::Stop(absl::Status why) {
  listening_.Reset();
  link_.Reset();
  // The link's end is QEMU's exit, which the VM's record tells: only a
  // guest's bad frame (or the bridge's own failure) is news.
  if (notice_.valid() && why.code() != absl::StatusCode::kUnavailable) {
    const std::string line = absl::StrCat(
        "\ntaohost: this VM's admin port is closed: ", why.message(), "\n");
    ssize_t n = ::write(notice_.get(), line.data(), line.size());
    (void)n;  // a full console loses the line rather than block the bridge
  }
  absl::MutexLock lock(&mu_);
  status_ = std::move(why);
}

void VmAdminBridge::Run() {
  // A notice written to a console whose reader is gone must not raise
  // SIGPIPE in a process that does not ignore it; blocked, it stays pending
  // on this thread and goes with it.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
  std::vector<char> buf(kMaxAdminPayload);
  AdminFrameReader reader(/*allow_open=*/false);
  std::string link_out;    // frames for the guest
  std::string client_out;  // the current session's bytes for its client
  UniqueFd client;
  uint32_t session = 0;       // the current session; 0: none
  uint32_t last_session = 0;  // sessions are numbered from 1, never 0
  bool guest_closed = false;  // the guest ended it: flush, then close
  // After accept fails for want of descriptors or memory the client stays
  // in the backlog and the socket stays readable: wait before trying again
  // rather than spin.
  absl::Time accept_paused_until = absl::InfinitePast();
  // Bytes of the link written so far, and where the current session's open
  // frame starts in that count: a session that ends before any byte of its
  // open left is taken back whole (everything queued after its open is its
  // own), so a guest that reads late never runs a request whose client
  // gave up before the guest could see it.
  uint64_t link_written = 0, link_open_at = 0;
  auto end_session = [&](bool tell_guest) {
    if (link_open_at >= link_written) {
      link_out.resize(static_cast<size_t>(link_open_at - link_written));
    } else if (tell_guest) {
      AppendAdminFrame(AdminFrameType::kClose, session, "", &link_out);
    }
    client.Reset();
    client_out.clear();
    session = 0;
    guest_closed = false;
  };
  while (true) {
    struct pollfd fds[4] = {};
    fds[0] = {wake_.get(), POLLIN, 0};
    const bool read_link = client_out.size() < limits_.client_out;
    fds[1] = {link_.get(),
              static_cast<short>((read_link ? POLLIN : 0) |
                                 (link_out.empty() ? 0 : POLLOUT)),
              0};
    const bool guest_keeps_up = link_out.size() < limits_.link_out;
    nfds_t count = 2;
    int client_index = -1, listen_index = -1;
    if (client.valid()) {
      client_index = static_cast<int>(count++);
      fds[client_index] = {
          client.get(),
          static_cast<short>((!guest_closed && guest_keeps_up ? POLLIN : 0) |
                             (client_out.empty() ? 0 : POLLOUT)),
          0};
    }
    int timeout_ms = -1;
    if (!client.valid() && guest_keeps_up) {
      const absl::Duration paused = accept_paused_until - absl::Now();
      if (paused <= absl::ZeroDuration()) {
        listen_index = static_cast<int>(count++);
        fds[listen_index] = {listening_.get(), POLLIN, 0};
      } else {
        timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(paused)) + 1;
      }
    }
    if (::poll(fds, count, timeout_ms) < 0) {
      if (errno == EINTR) continue;
      Stop(absl::InternalError(absl::StrCat("poll: ", std::strerror(errno))));
      return;
    }
    if (fds[0].revents != 0) return;  // the destructor

    // The link: what the guest sends, and what it is sent.
    const short link_events = fds[1].revents;
    if ((link_events & POLLOUT) != 0 &&
        !Flush(link_.get(), &link_out, &link_written)) {
      Stop(absl::UnavailableError(
          absl::StrCat("writing to QEMU failed: ", std::strerror(errno))));
      return;
    }
    if ((link_events & (POLLHUP | POLLERR)) != 0 && !read_link) {
      Stop(absl::UnavailableError("QEMU closed the admin link"));
      return;
    }
    if ((link_events & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ReadSome(link_.get(), &buf);
      if (n == 0 || n == -1) {
        Stop(absl::UnavailableError(
            n == 0 ? std::string("QEMU closed the admin link")
                   : absl::StrCat("reading from QEMU failed: ",
                                  std::strerror(errno))));
        return;
      }
      if (n > 0) reader.Feed(absl::string_view(buf.data(), n));
      while (true) {
        absl::StatusOr<std::optional<AdminFrame>> frame = reader.Next();
        if (!frame.ok()) {
          Stop(absl::InvalidArgumentError(
              absl::StrCat("the guest sent a ", frame.status().message())));
          return;
        }
        if (!frame->has_value()) break;
        AdminFrame& f = **frame;
        // Frames of any other session are late answers to a closed one.
        if (session == 0 || f.session != session || guest_closed) continue;
        if (f.type == AdminFrameType::kData) {
          client_out.append(f.payload);
        } else {
          guest_closed = true;
        }
      }
    }

    // The current client.
    if (client_index >= 0) {
      const short events = fds[client_index].revents;
      bool ended = false;
      if ((events & POLLOUT) != 0 &&
          !Flush(client.get(), &client_out, nullptr)) {
        ended = true;
      }
      if (!ended && (fds[client_index].events & POLLIN) != 0 &&
          (events & (POLLIN | POLLHUP | POLLERR)) != 0) {
        const ssize_t n = ReadSome(client.get(), &buf);
        if (n > 0) {
          AppendAdminData(session, absl::string_view(buf.data(), n), &link_out);
        } else if (n != -2) {
          ended = true;  // the client closed, or failed
        }
      } else if (!ended && (events & (POLLHUP | POLLERR)) != 0) {
        ended = true;
      }
      if (ended) {
        end_session(/*tell_guest=*/!guest_closed);
      } else if (guest_closed && client_out.empty()) {
        end_session(/*tell_guest=*/false);
      }
    }

    // A new client, when none is served.
    if (listen_index >= 0 && (fds[listen_index].revents & POLLIN) != 0) {
      UniqueFd accepted(::accept4(listening_.get(), nullptr, nullptr,
                                  SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!accepted.valid() && errno != EAGAIN && errno != EINTR &&
          errno != ECONNABORTED) {
        accept_paused_until = absl::Now() + absl::Milliseconds(100);
      }
      if (accepted.valid()) {
        client = std::move(accepted);
        if (++last_session == 0) last_session = 1;
        session = last_session;
        link_open_at = link_written + link_out.size();
        AppendAdminFrame(AdminFrameType::kOpen, session, "", &link_out);
        absl::MutexLock lock(&mu_);
        ++sessions_;
      }
    }
  }
}

}  // namespace tao
