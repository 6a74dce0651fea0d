// The admin server: a gRPC server whose only listener is a unix socket that
// we accept on ourselves, so that each connection's SO_PEERCRED is known
// before gRPC sees a byte of it.
#ifndef TAO_ADMIN_ADMIN_SERVER_H_
#define TAO_ADMIN_ADMIN_SERVER_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "admin/peer_credentials.h"
#include "grpcpp/server.h"
#include "tao/unique_fd.h"

namespace grpc {
class Service;
}

namespace tao {

struct AdminServerOptions {
  std::string socket_path;  // replaced if a stale socket is there
  mode_t socket_mode = 0660;
  // gid to own the socket (so a group can reach it); -1 keeps ours.
  gid_t socket_group = static_cast<gid_t>(-1);
  // Connections open at once. A connection over a limit is closed as soon
  // as it is accepted (one log line per second at most says so). Root
  // (uid 0) is limited by max_connections only; every other uid by
  // max_connections_per_uid and by max_connections minus
  // root_reserved_connections, so no flood from another uid locks root out.
  // max_connections is lowered to fit the descriptor limit if need be.
  size_t max_connections_per_uid = 64;
  size_t max_connections = 1024;
  size_t root_reserved_connections = 64;
  // When accept fails for want of descriptors (EMFILE, ENFILE, ENOBUFS,
  // ENOMEM), the listener is left alone this long before the next try.
  absl::Duration accept_backoff = absl::Milliseconds(100);
};

// Owns the gRPC server and the acceptor thread. Thread-safe.
class AdminServer {
 public:
  // Binds the socket (mode options.socket_mode, close-on-exec, so hosted
  // programs never inherit it), starts gRPC with `service` and starts
  // accepting. `service` and `peers` must outlive the server. kAlreadyExists
  // if a live server answers on the path.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(
      const AdminServerOptions& options, grpc::Service* service,
      PeerCredentialRegistry* peers);

  // Stops accepting, shuts gRPC down (in-flight calls get `deadline` to
  // finish) and removes the socket.
  ~AdminServer();
  void Shutdown(absl::Duration deadline);

  const std::string& socket_path() const { return path_; }

 private:
  AdminServer(const AdminServerOptions& options, UniqueFd listen_fd,
              UniqueFd wake_fd, std::unique_ptr<grpc::Server> server,
              PeerCredentialRegistry* peers)
      : options_(options),
        path_(options.socket_path),
        listen_fd_(std::move(listen_fd)),
        wake_fd_(std::move(wake_fd)),
        server_(std::move(server)),
        peers_(peers) {}
  void AcceptLoop();
  // Accepts one connection; false when the listener should be left alone
  // for a while (no descriptors left).
  bool AcceptOne();
  // True if a connection from `uid` fits under the limits; forgets the
  // connections gRPC has closed before saying no.
  bool Admit(uid_t uid);
  // Drops the tracked connections whose descriptor no longer refers to the
  // socket we accepted (gRPC closed it; the number may have been reused).
  void ForgetClosedConnections();
  // Logs `message` unless a line was logged under `last` within a second.
  void LogRateLimited(absl::Time* last, int* suppressed,
                      const std::string& message);

  // A connection handed to gRPC: who, and which socket (st_dev, st_ino).
  struct Tracked {
    uid_t uid;
    dev_t dev;
    ino_t ino;
  };

  const AdminServerOptions options_;

  std::string path_;
  UniqueFd listen_fd_;
  UniqueFd wake_fd_;
  std::unique_ptr<grpc::Server> server_;
  PeerCredentialRegistry* peers_;
  std::thread acceptor_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  // The acceptor thread's own state.
  std::map<int, Tracked> connections_;
  std::map<uid_t, size_t> per_uid_;
  absl::Time last_limit_log_ = absl::InfinitePast();
  int limit_suppressed_ = 0;
  absl::Time last_accept_log_ = absl::InfinitePast();
  int accept_suppressed_ = 0;
};

}  // namespace tao

#endif  // TAO_ADMIN_ADMIN_SERVER_H_
