#include "admin/peer_credentials.h"

#include <errno.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tao {

void PeerCredentialRegistry::Register(int fd, PeerCredentials credentials) {
  absl::MutexLock lock(&mu_);
  by_fd_[fd] = std::move(credentials);
}

std::optional<PeerCredentials> PeerCredentialRegistry::Lookup(
    const std::string& peer) const {
  // gRPC names a connection added from a descriptor "fd:<n>" (some versions
  // prefix a scheme); take the number after the last "fd:".
  size_t at = peer.rfind("fd:");
  if (at == std::string::npos) return std::nullopt;
  int fd = -1;
  if (!absl::SimpleAtoi(peer.substr(at + 3), &fd)) return std::nullopt;
  absl::MutexLock lock(&mu_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return std::nullopt;
  return it->second;
}

std::vector<gid_t> GroupsOfProcess(pid_t pid, gid_t gid) {
  std::vector<gid_t> groups = {gid};
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (!absl::StartsWith(line, "Groups:")) continue;
    for (absl::string_view g : absl::StrSplit(
             line.substr(7), absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
      gid_t value;
      if (absl::SimpleAtoi(g, &value) &&
          std::find(groups.begin(), groups.end(), value) == groups.end()) {
        groups.push_back(value);
      }
    }
  }
  return groups;
}

std::vector<gid_t> GroupsOfPeer(int fd, pid_t pid, gid_t gid) {
#ifdef SO_PEERGROUPS
  std::vector<gid_t> peer(64);
  while (true) {
    socklen_t len = static_cast<socklen_t>(peer.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, peer.data(), &len) == 0) {
      peer.resize(len / sizeof(gid_t));
      std::vector<gid_t> groups = {gid};
      for (gid_t g : peer) {
        if (std::find(groups.begin(), groups.end(), g) == groups.end()) {
          groups.push_back(g);
        }
      }
      return groups;
    }
    // ERANGE: `len` now says how much room the list needs.
    if (errno != ERANGE || len / sizeof(gid_t) <= peer.size() ||
        len / sizeof(gid_t) > 65536) {
      break;
    }
    peer.resize(len / sizeof(gid_t));
  }
  if (errno != ENOPROTOOPT) return {gid};
#endif
  return GroupsOfProcess(pid, gid);
}

}  // namespace tao
