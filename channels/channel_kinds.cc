#include "channels/channel_kinds.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "channels/shm_transport.h"

namespace tao {
namespace {

constexpr size_t kMaxKindName = 32;

class Registry {
 public:
  Registry() {
    makers_.emplace("pipe", [] { return MakePipeTransport(); });
    makers_.emplace("socketpair", [] { return MakeSocketpairTransport(); });
    makers_.emplace("shm", [] { return MakeShmTransport(); });
  }

  absl::Status Register(std::string name, ChannelMaker maker) {
    absl::MutexLock lock(&mu_);
    if (!makers_.emplace(std::move(name), std::move(maker)).second) {
      return absl::AlreadyExistsError("the channel kind is registered already");
    }
    return absl::OkStatus();
  }

  // Puts `maker` in place of the maker of `name`, or adds it.
  void Replace(const std::string& name, ChannelMaker maker) {
    absl::MutexLock lock(&mu_);
    makers_[name] = std::move(maker);
  }

  std::vector<std::string> Names() const {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> names;
    for (const auto& [name, maker] : makers_) names.push_back(name);
    return names;
  }

  // The maker of `name`, or null.
  ChannelMaker Find(absl::string_view name) const {
    absl::MutexLock lock(&mu_);
    auto it = makers_.find(std::string(name));
    return it == makers_.end() ? ChannelMaker() : it->second;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, ChannelMaker> makers_ ABSL_GUARDED_BY(mu_);
};

Registry& TheRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

// "a, b or c".
std::string Alternatives(const std::vector<std::string>& names) {
  if (names.size() <= 1) return absl::StrJoin(names, "");
  return absl::StrCat(absl::StrJoin(names.begin(), names.end() - 1, ", "),
                      " or ", names.back());
}

absl::Status Unknown(absl::string_view name) {
  // The name may come from anyone: quoted, escaped and cut short.
  return absl::InvalidArgumentError(
      absl::StrCat("unknown channel '", absl::CEscape(name.substr(0, 64)),
                   "' (", Alternatives(ChannelKindNames()), ")"));
}

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxKindName) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace

absl::Status RegisterChannelKind(std::string name, ChannelMaker maker) {
  if (!ValidName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("channel kind name '", absl::CEscape(name),
                     "' must be 1-32 characters of [a-z0-9-]"));
  }
  if (!maker) {
    return absl::InvalidArgumentError(
        absl::StrCat("channel kind ", name, " needs a maker"));
  }
  absl::Status registered = TheRegistry().Register(name, std::move(maker));
  if (!registered.ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat("channel kind ", name, " is registered already"));
  }
  return absl::OkStatus();
}

absl::Status ConfigureShmChannels(const ShmTransportOptions& options) {
  absl::Status checked = CheckShmTransportOptions(options);
  if (!checked.ok()) return checked;
  TheRegistry().Replace("shm", [options] { return MakeShmTransport(options); });
  return absl::OkStatus();
}

std::vector<std::string> ChannelKindNames() { return TheRegistry().Names(); }

absl::StatusOr<std::string> ParseChannelKind(absl::string_view name) {
  if (name.empty()) return std::string(kDefaultChannelKind);
  if (!TheRegistry().Find(name)) return Unknown(name);
  return std::string(name);
}

absl::StatusOr<TransportPair> MakeChannel(absl::string_view name) {
  ChannelMaker maker =
      TheRegistry().Find(name.empty() ? kDefaultChannelKind : name);
  if (!maker) return Unknown(name);
  return maker();
}

absl::Status CheckChannelPairing(absl::string_view factory,
                                 const std::vector<std::string>& kinds,
                                 const std::vector<std::string>& accepted) {
  for (const std::string& kind : kinds) {
    if (!TheRegistry().Find(kind)) return Unknown(kind);
    if (std::find(accepted.begin(), accepted.end(), kind) == accepted.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "factory '", factory, "' cannot serve channel kind ", kind));
    }
  }
  return absl::OkStatus();
}

}  // namespace tao
