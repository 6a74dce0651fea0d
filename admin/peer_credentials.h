// Who is on the other end of each admin connection. The admin socket's
// acceptor reads SO_PEERCRED when it accepts a connection and records it
// under the peer name gRPC gives that connection ("fd:<n>"), so each call
// can be authorized against the caller's OS uid and gid. Thread-safe.
#ifndef TAO_ADMIN_PEER_CREDENTIALS_H_
#define TAO_ADMIN_PEER_CREDENTIALS_H_

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace tao {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  // gid, then the supplementary groups the peer had when it connected
  // (SO_PEERGROUPS; /proc/<pid>/status on kernels without it).
  std::vector<gid_t> groups;
};

class PeerCredentialRegistry {
 public:
  // Records the credentials of the connection on `fd`, replacing whatever an
  // earlier connection with the same descriptor number left.
  void Register(int fd, PeerCredentials credentials);
  // The credentials for a gRPC peer string, if it names a registered fd.
  std::optional<PeerCredentials> Lookup(const std::string& peer) const;

 private:
  mutable absl::Mutex mu_;
  std::map<int, PeerCredentials> by_fd_ ABSL_GUARDED_BY(mu_);
};

// The supplementary groups of process `pid` (from /proc/<pid>/status), or
// just `gid` if they cannot be read.
std::vector<gid_t> GroupsOfProcess(pid_t pid, gid_t gid);

// `gid` and the supplementary groups of the peer of unix socket `fd`, as
// the kernel recorded them at connect time (SO_PEERGROUPS, Linux 4.13);
// falls back to GroupsOfProcess(pid, gid) only if the kernel lacks it.
std::vector<gid_t> GroupsOfPeer(int fd, pid_t pid, gid_t gid);

}  // namespace tao

#endif  // TAO_ADMIN_PEER_CREDENTIALS_H_
