// RunAs: the OS identity a hosted program asks to run under. Shared
// vocabulary of program_factory/ (which applies it) and tao_domain/ (which
// decides whether a program may have it); it decides nothing itself.
#ifndef TAO_TAO_RUN_AS_H_
#define TAO_TAO_RUN_AS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"

namespace tao {

// Either dynamic (the default: the factory allocates a uid and gid of the
// program's own for as long as it runs) or an explicit uid with an optional
// gid. A plain value; thread-compatible.
struct RunAs {
  std::optional<uint32_t> uid;  // nullopt: dynamic
  std::optional<uint32_t> gid;  // meaningful only with uid

  static RunAs Dynamic() { return RunAs(); }
  static RunAs User(uint32_t uid, std::optional<uint32_t> gid = std::nullopt) {
    RunAs r;
    r.uid = uid;
    r.gid = gid;
    return r;
  }
  bool dynamic() const { return !uid.has_value(); }

  // "dynamic", "uid 1000" or "uid 1000 gid 100": the text that is measured
  // (docs/program-measurement.md) and shown in decisions.
  std::string ToString() const {
    if (!uid.has_value()) return "dynamic";
    if (!gid.has_value()) return absl::StrCat("uid ", *uid);
    return absl::StrCat("uid ", *uid, " gid ", *gid);
  }

  bool operator==(const RunAs& other) const {
    return uid == other.uid && gid == other.gid;
  }
  bool operator!=(const RunAs& other) const { return !(*this == other); }
};

}  // namespace tao

#endif  // TAO_TAO_RUN_AS_H_
