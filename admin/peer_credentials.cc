#include "admin/peer_credentials.h"

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

}  // namespace tao
