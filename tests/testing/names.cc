#include "tests/testing/names.h"

#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tao/crypto.h"
#include "tao/encoding.h"

namespace tao {
namespace test {

std::string Digest(char c) { return std::string(kSha256Size, c); }

std::string DigestArg(char c) {
  return absl::StrCat("sha256:", HexEncode(Digest(c)));
}

Principal Sub(const Principal& p, const absl::StatusOr<Subprincipal>& sub) {
  EXPECT_TRUE(sub.ok()) << sub.status();
  if (!sub.ok()) return p;
  auto extended = p.Extend(*sub);
  EXPECT_TRUE(extended.ok()) << extended.status();
  return extended.ok() ? *extended : p;
}

Principal Program(const Principal& p, char c) {
  return Sub(p, Subprincipal::Program(Digest(c)));
}

Principal Args(const Principal& p, char c) {
  return Sub(p, Subprincipal::Args(Digest(c)));
}

Principal Ext(const Principal& p, absl::string_view label,
              absl::string_view value) {
  return Sub(p, Subprincipal::Ext(label, value));
}

Principal Published(const Principal& p, const SigningKey& publisher,
                    absl::string_view product, uint64_t version) {
  return Sub(
      p, Subprincipal::Publisher(publisher.verifying_key(), product, version));
}

Principal KeyName(const SigningKey& key) {
  return Principal::ForKey(key.verifying_key());
}

SigningKey NewKey() {
  auto key = SigningKey::Generate();
  if (!key.ok()) std::abort();
  return *std::move(key);
}

std::unique_ptr<TaoHost> NewTestHost() {
  auto keys = HostKeys::Generate();
  if (!keys.ok()) std::abort();
  Principal name = Principal::ForKey(keys->signing_key.verifying_key());
  auto host = TaoHost::Create(*std::move(keys), name, std::nullopt);
  if (!host.ok()) std::abort();
  return *std::move(host);
}

}  // namespace test
}  // namespace tao
