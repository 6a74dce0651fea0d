#include "admin/admin_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_posix.h"

namespace tao {
namespace {

absl::StatusOr<UniqueFd> BindUnixSocket(const AdminServerOptions& options) {
  struct sockaddr_un addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (options.socket_path.empty() ||
      options.socket_path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "admin socket path '", options.socket_path,
        "' is empty or longer than ", sizeof(addr.sun_path) - 1, " bytes"));
  }
  std::memcpy(addr.sun_path, options.socket_path.c_str(),
              options.socket_path.size());
  // A socket file already there: if something answers, another host is
  // running; otherwise it is stale and goes.
  struct stat st;
  if (::lstat(options.socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(options.socket_path,
                       " exists and is not a socket; refusing to replace it"));
    }
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe.valid() &&
        ::connect(probe.get(), reinterpret_cast<struct sockaddr*>(&addr),
                  sizeof(addr)) == 0) {
      return absl::AlreadyExistsError(absl::StrCat(
          "another host is already serving ", options.socket_path));
    }
    ::unlink(options.socket_path.c_str());
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, "socket");
  // Bind with a umask that leaves no window where the socket is wider open
  // than asked.
  mode_t old_umask = ::umask(0777 & ~options.socket_mode);
  int bound =
      ::bind(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr));
  int bind_errno = errno;
  ::umask(old_umask);
  if (bound != 0) {
    return absl::ErrnoToStatus(bind_errno,
                               absl::StrCat("bind ", options.socket_path));
  }
  if (::chmod(options.socket_path.c_str(), options.socket_mode) != 0) {
    return absl::ErrnoToStatus(errno,
                               absl::StrCat("chmod ", options.socket_path));
  }
  if (options.socket_group != static_cast<gid_t>(-1) &&
      ::chown(options.socket_path.c_str(), static_cast<uid_t>(-1),
              options.socket_group) != 0) {
    return absl::ErrnoToStatus(errno,
                               absl::StrCat("chown ", options.socket_path));
  }
  if (::listen(fd.get(), 128) != 0) return absl::ErrnoToStatus(errno, "listen");
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(
    const AdminServerOptions& options, grpc::Service* service,
    PeerCredentialRegistry* peers) {
  auto listen_fd = BindUnixSocket(options);
  if (!listen_fd.ok()) return listen_fd.status();
  UniqueFd wake_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd.valid()) return absl::ErrnoToStatus(errno, "eventfd");
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    ::unlink(options.socket_path.c_str());
    return absl::InternalError("the gRPC server did not start");
  }
  AdminServerOptions effective = options;
  // Leave room under the descriptor limit for everything else the host
  // opens (programs' pipes, logs, the audit trail).
  struct rlimit nofile;
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
      nofile.rlim_cur != RLIM_INFINITY) {
    size_t fit = nofile.rlim_cur > 512 ? (nofile.rlim_cur - 256) / 2
                                       : nofile.rlim_cur / 4;
    if (effective.max_connections > fit) {
      LOG(WARNING) << "admin connections limited to " << fit
                   << " by the descriptor limit (" << nofile.rlim_cur << ")";
      effective.max_connections = fit;
    }
  }
  if (effective.root_reserved_connections > effective.max_connections / 2) {
    effective.root_reserved_connections = effective.max_connections / 2;
  }
  std::unique_ptr<AdminServer> admin(
      new AdminServer(effective, *std::move(listen_fd), std::move(wake_fd),
                      std::move(server), peers));
  admin->acceptor_ = std::thread([raw = admin.get()] { raw->AcceptLoop(); });
  return admin;
}

void AdminServer::AcceptLoop() {
  struct pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0},
                          {wake_fd_.get(), POLLIN, 0}};
  const int backoff_ms =
      static_cast<int>(absl::ToInt64Milliseconds(options_.accept_backoff));
  bool backing_off = false;
  while (true) {
    // While backing off, only the wake-up is watched: a listener whose
    // backlog we cannot drain would otherwise make poll return at once.
    fds[0].events = backing_off ? 0 : POLLIN;
    int n = ::poll(fds, 2, backing_off ? backoff_ms : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      PLOG(ERROR) << "poll on the admin socket";
      return;
    }
    if (fds[1].revents != 0) return;
    if (backing_off) {
      backing_off = false;
      continue;
    }
    if ((fds[0].revents & POLLIN) == 0) continue;
    backing_off = !AcceptOne();
  }
}

void AdminServer::LogRateLimited(absl::Time* last, int* suppressed,
                                 const std::string& message) {
  absl::Time now = absl::Now();
  if (now - *last < absl::Seconds(1)) {
    ++*suppressed;
    return;
  }
  LOG(WARNING) << message
               << (*suppressed > 0
                       ? absl::StrCat(" (and ", *suppressed,
                                      " more since the last such line)")
                       : std::string());
  *last = now;
  *suppressed = 0;
}

void AdminServer::ForgetClosedConnections() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    struct stat st;
    if (::fstat(it->first, &st) == 0 && st.st_dev == it->second.dev &&
        st.st_ino == it->second.ino) {
      ++it;
      continue;
    }
    if (--per_uid_[it->second.uid] == 0) per_uid_.erase(it->second.uid);
    it = connections_.erase(it);
  }
}

bool AdminServer::Admit(uid_t uid) {
  auto fits = [this, uid] {
    size_t total = connections_.size();
    if (uid == 0) return total < options_.max_connections;
    auto it = per_uid_.find(uid);
    size_t mine = it == per_uid_.end() ? 0 : it->second;
    return mine < options_.max_connections_per_uid &&
           total + options_.root_reserved_connections <
               options_.max_connections;
  };
  if (fits()) return true;
  ForgetClosedConnections();
  return fits();
}

bool AdminServer::AcceptOne() {
  int fd = ::accept4(listen_fd_.get(), nullptr, nullptr,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
      LogRateLimited(
          &last_accept_log_, &accept_suppressed_,
          absl::StrCat("accept on the admin socket: ", std::strerror(err),
                       "; backing off ",
                       absl::FormatDuration(options_.accept_backoff)));
      return false;
    }
    if (err != EAGAIN && err != EINTR && err != ECONNABORTED) {
      LogRateLimited(
          &last_accept_log_, &accept_suppressed_,
          absl::StrCat("accept on the admin socket: ", std::strerror(err)));
    }
    return true;
  }
  struct ucred cred;
  socklen_t len = sizeof(cred);
  struct stat st;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      ::fstat(fd, &st) != 0) {
    LogRateLimited(&last_accept_log_, &accept_suppressed_,
                   absl::StrCat("SO_PEERCRED: ", std::strerror(errno)));
    ::close(fd);
    return true;
  }
  // The number is ours again: whatever was tracked under it is closed.
  auto stale = connections_.find(fd);
  if (stale != connections_.end()) {
    if (--per_uid_[stale->second.uid] == 0) per_uid_.erase(stale->second.uid);
    connections_.erase(stale);
  }
  if (!Admit(cred.uid)) {
    ::close(fd);
    LogRateLimited(
        &last_limit_log_, &limit_suppressed_,
        absl::StrCat("admin connection from uid ", cred.uid, " pid ", cred.pid,
                     " closed: over the limit (",
                     options_.max_connections_per_uid, " per uid, ",
                     options_.max_connections, " in all, ",
                     options_.root_reserved_connections, " kept for root; ",
                     connections_.size(), " open)"));
    return true;
  }
  connections_[fd] = Tracked{cred.uid, st.st_dev, st.st_ino};
  ++per_uid_[cred.uid];
  PeerCredentials credentials;
  credentials.pid = cred.pid;
  credentials.uid = cred.uid;
  credentials.gid = cred.gid;
  credentials.groups = GroupsOfPeer(fd, cred.pid, cred.gid);
  peers_->Register(fd, std::move(credentials));
  VLOG(1) << "admin connection from uid " << cred.uid << " pid " << cred.pid;
  // gRPC owns the descriptor from here on.
  grpc::AddInsecureChannelFromFd(server_.get(), fd);
  return true;
}

void AdminServer::Shutdown(absl::Duration deadline) {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_.get(), &one, sizeof(one));
  (void)ignored;
  if (acceptor_.joinable()) acceptor_.join();
  ::unlink(path_.c_str());
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(deadline));
  server_->Wait();
}

AdminServer::~AdminServer() { Shutdown(absl::Seconds(1)); }

}  // namespace tao
