// Principal names: parsing never crashes, and whatever parses prints back to
// the same text (the canonical form) and parses again to an equal name.
// Principal::ParseFromOwnHost accepts a superset of Parse, with equal names.
// The presentation for people (tao/name_presentation.h) never crashes either,
// keeps its bound and the key's short form, and shortening is idempotent.
#include <cstdint>
#include <cstdlib>

#include "fuzz/fuzz_support.h"
#include "tao/name_presentation.h"
#include "tao/principal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tao::fuzz::QuietProtobufLogs();
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto name = tao::Principal::Parse(text);
  // ParseFromOwnHost has the same grammar and checks less of a key: it
  // accepts all that Parse accepts, as the same name.
  auto from_host = tao::Principal::ParseFromOwnHost(text);
  if (name.ok() && (!from_host.ok() || *from_host != *name)) std::abort();
  if (from_host.ok() && from_host->text() != text) std::abort();
  if (name.ok()) {
    if (name->text() != text) std::abort();
    auto again = tao::Principal::Parse(name->text());
    if (!again.ok() || *again != *name) std::abort();
    if (!name->IsSelfOrSubprincipalOf(name->RootKey())) std::abort();
    std::string shown = tao::ShortName(*name);
    if (shown.size() > tao::kShortNameMaxLength) std::abort();
    if (shown.rfind(tao::ShortRootName(*name), 0) != 0) std::abort();
    if (tao::ShortenNamesIn(text) != shown) std::abort();
  }
  std::string shortened = tao::ShortenNamesIn(text);
  if (tao::ShortenNamesIn(shortened) != shortened) std::abort();
  auto sub = tao::Subprincipal::Parse(text);
  if (sub.ok()) {
    auto again = tao::Subprincipal::Parse(sub->ToString());
    if (!again.ok() || *again != *sub) std::abort();
  }
  return 0;
}
