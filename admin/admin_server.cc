#include "admin/admin_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
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
  std::unique_ptr<AdminServer> admin(
      new AdminServer(options.socket_path, *std::move(listen_fd),
                      std::move(wake_fd), std::move(server), peers));
  admin->acceptor_ = std::thread([raw = admin.get()] { raw->AcceptLoop(); });
  return admin;
}

void AdminServer::AcceptLoop() {
  struct pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0},
                          {wake_fd_.get(), POLLIN, 0}};
  while (true) {
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      PLOG(ERROR) << "poll on the admin socket";
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr,
                       SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        PLOG(WARNING) << "accept on the admin socket";
      }
      continue;
    }
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      PLOG(WARNING) << "SO_PEERCRED";
      ::close(fd);
      continue;
    }
    PeerCredentials credentials;
    credentials.pid = cred.pid;
    credentials.uid = cred.uid;
    credentials.gid = cred.gid;
    credentials.groups = GroupsOfProcess(cred.pid, cred.gid);
    peers_->Register(fd, std::move(credentials));
    VLOG(1) << "admin connection from uid " << cred.uid << " pid " << cred.pid;
    // gRPC owns the descriptor from here on.
    grpc::AddInsecureChannelFromFd(server_.get(), fd);
  }
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
