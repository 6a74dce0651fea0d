// The admin server: a gRPC server whose only listener is a unix socket that
// we accept on ourselves, so that each connection's SO_PEERCRED is known
// before gRPC sees a byte of it.
#ifndef TAO_ADMIN_ADMIN_SERVER_H_
#define TAO_ADMIN_ADMIN_SERVER_H_

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
  AdminServer(std::string path, UniqueFd listen_fd, UniqueFd wake_fd,
              std::unique_ptr<grpc::Server> server,
              PeerCredentialRegistry* peers)
      : path_(std::move(path)),
        listen_fd_(std::move(listen_fd)),
        wake_fd_(std::move(wake_fd)),
        server_(std::move(server)),
        peers_(peers) {}
  void AcceptLoop();

  std::string path_;
  UniqueFd listen_fd_;
  UniqueFd wake_fd_;
  std::unique_ptr<grpc::Server> server_;
  PeerCredentialRegistry* peers_;
  std::thread acceptor_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tao

#endif  // TAO_ADMIN_ADMIN_SERVER_H_
