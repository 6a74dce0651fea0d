#include "tao/principal.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/p256_spki.h"
#include "tao/principal_grammar.h"

namespace tao {
namespace {

constexpr absl::string_view kKeyPrefix = "key(ecdsa-p256:";
constexpr absl::string_view kTpm2Prefix = "tpm2(ecdsa-p256:";
constexpr absl::string_view kSha256Prefix = "sha256:";

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool IsExtValueChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == ':' || c == '=' || c == '+' || c == '/' || c == ',' ||
         c == '@' || c == '-';
}

bool IsExtLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

absl::Status CheckDigestArgument(absl::string_view kind,
                                 absl::string_view arg) {
  if (!absl::StartsWith(arg, kSha256Prefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kind, "(...) must hold sha256:<64 lowercase hex digits>"));
  }
  absl::string_view hex = arg.substr(kSha256Prefix.size());
  if (hex.size() != 2 * kSha256Size) {
    return absl::InvalidArgumentError(absl::StrCat(
        kind, "(...) digest has ", hex.size(), " hex digits, expected 64"));
  }
  for (size_t i = 0; i < hex.size(); ++i) {
    if (!IsLowerHex(hex[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          kind, "(...) digest character ", i, " '",
          absl::CHexEscape(hex.substr(i, 1)), "' is not lowercase hex"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckExtArgument(absl::string_view arg) {
  size_t colon = arg.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError("Ext(...) must hold <label>:<value>");
  }
  absl::string_view label = arg.substr(0, colon);
  absl::string_view value = arg.substr(colon + 1);
  if (label.empty() || label.size() > 64 ||
      !((label[0] >= 'a' && label[0] <= 'z') ||
        (label[0] >= '0' && label[0] <= '9'))) {
    return absl::InvalidArgumentError(
        "Ext(...) label must be 1-64 characters starting with [a-z0-9]");
  }
  for (char c : label) {
    if (!IsExtLabelChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("Ext(...) label character '",
                       absl::CHexEscape(absl::string_view(&c, 1)),
                       "' is not in [a-z0-9_-]"));
    }
  }
  if (value.empty() || value.size() > 1024) {
    return absl::InvalidArgumentError(
        "Ext(...) value must be 1-1024 characters");
  }
  for (char c : value) {
    if (!IsExtValueChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("Ext(...) value character '",
                       absl::CHexEscape(absl::string_view(&c, 1)),
                       "' is not in [A-Za-z0-9._:=+/,@-]"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<PublisherClaim> ParsePublisherArgument(absl::string_view arg,
                                                      SpkiCheck check) {
  constexpr absl::string_view kKeyPrefix = "ecdsa-p256:";
  std::vector<absl::string_view> parts = absl::StrSplit(arg, ',');
  if (parts.size() != 3 || !absl::StartsWith(parts[0], kKeyPrefix)) {
    return absl::InvalidArgumentError(
        "Publisher(...) must hold ecdsa-p256:<base64url "
        "SPKI>,<product>,<version>");
  }
  auto spki = Base64UrlDecode(parts[0].substr(kKeyPrefix.size()));
  if (!spki.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Publisher(...) key: ", spki.status().message()));
  }
  absl::Status key = check(*spki);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Publisher(...) key: ", key.message()));
  }
  absl::string_view product = parts[1];
  if (!IsValidProductName(product)) {
    return absl::InvalidArgumentError(
        "Publisher(...) product must be 1-128 characters of [A-Za-z0-9._-]");
  }
  uint64_t version = 0;
  if (!ParseCanonicalDecimal(parts[2], &version)) {
    return absl::InvalidArgumentError(
        "Publisher(...) version must be a decimal integer without leading "
        "zeros");
  }
  return PublisherClaim{std::move(spki).value(), std::string(product), version};
}

absl::StatusOr<Subprincipal> ParseError(size_t offset, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("principal name at offset ", offset, ": ", why));
}

}  // namespace

namespace principal_internal {

absl::StatusOr<Subprincipal> Grammar::CreateSub(absl::string_view kind,
                                                absl::string_view argument,
                                                SpkiCheck check) {
  absl::Status valid;
  if (kind == "Program" || kind == "Args" || kind == "VM" ||
      kind == "Enclave") {
    valid = CheckDigestArgument(kind, argument);
  } else if (kind == "Ext") {
    valid = CheckExtArgument(argument);
  } else if (kind == "Publisher") {
    valid = ParsePublisherArgument(argument, check).status();
  } else {
    valid = absl::InvalidArgumentError(
        absl::StrCat("unknown subprincipal kind '", absl::CHexEscape(kind),
                     "' (known: Program, Args, VM, Enclave, Publisher, Ext)"));
  }
  if (!valid.ok()) return valid;
  return Subprincipal(std::string(kind), std::string(argument));
}

}  // namespace principal_internal

namespace {

using principal_internal::Grammar;

// A subprincipal made here from values the caller holds: a digest, an Ext
// pair, or a VerifyingKey, which was checked whole when it was made. The
// key check of a parse is therefore the encoding's alone.
absl::StatusOr<Subprincipal> CreateFromValues(absl::string_view kind,
                                              absl::string_view argument) {
  return Grammar::CreateSub(kind, argument, &CheckP256SpkiEncoding);
}

absl::StatusOr<Subprincipal> DigestSub(absl::string_view kind,
                                       absl::string_view digest) {
  if (digest.size() != kSha256Size) {
    return absl::InvalidArgumentError(absl::StrCat(
        kind, " digest must be 32 bytes of SHA-256, got ", digest.size()));
  }
  return CreateFromValues(kind, absl::StrCat(kSha256Prefix, HexEncode(digest)));
}

}  // namespace

absl::StatusOr<Subprincipal> Subprincipal::Program(absl::string_view digest) {
  return DigestSub("Program", digest);
}
absl::StatusOr<Subprincipal> Subprincipal::Args(absl::string_view digest) {
  return DigestSub("Args", digest);
}
absl::StatusOr<Subprincipal> Subprincipal::Vm(absl::string_view digest) {
  return DigestSub("VM", digest);
}
absl::StatusOr<Subprincipal> Subprincipal::Enclave(absl::string_view digest) {
  return DigestSub("Enclave", digest);
}
absl::StatusOr<Subprincipal> Subprincipal::Ext(absl::string_view label,
                                               absl::string_view value) {
  return CreateFromValues("Ext", absl::StrCat(label, ":", value));
}

absl::StatusOr<Subprincipal> Subprincipal::Publisher(
    const VerifyingKey& publisher, absl::string_view product,
    uint64_t version) {
  return CreateFromValues(
      "Publisher",
      absl::StrCat("ecdsa-p256:", Base64UrlEncode(publisher.spki()), ",",
                   product, ",", version));
}

absl::StatusOr<PublisherClaim> ParsePublisher(const Subprincipal& sub) {
  if (sub.kind() != "Publisher") {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a Publisher subprincipal, got ", sub.kind()));
  }
  // The key was checked when `sub` was made, by the parse that made it
  // (PublisherClaim says how); here its parts are only read.
  return ParsePublisherArgument(sub.argument(), &CheckP256SpkiEncoding);
}

bool ParseCanonicalDecimal(absl::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) {
    return false;
  }
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *value = v;
  return true;
}

bool IsValidProductName(absl::string_view product) {
  return !product.empty() && product.size() <= 128 &&
         std::all_of(product.begin(), product.end(), [](char c) {
           return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                  c == '.' || c == '_' || c == '-';
         });
}

bool IsMeasurementKind(const Subprincipal& sub) {
  return sub.kind() == "Program" || sub.kind() == "VM" ||
         sub.kind() == "Enclave";
}

std::string Subprincipal::ToString() const {
  return absl::StrCat(kind_, "(", argument_, ")");
}

namespace {

// Parses `Kind(argument)` at text[pos...], advancing pos past ')'.
absl::StatusOr<Subprincipal> ParseOneSub(absl::string_view text, size_t& pos,
                                         size_t base_offset, SpkiCheck check) {
  size_t start = pos;
  if (pos >= text.size() || !(text[pos] >= 'A' && text[pos] <= 'Z')) {
    return ParseError(base_offset + pos,
                      "expected a subprincipal kind starting with A-Z");
  }
  while (pos < text.size() &&
         absl::ascii_isalnum(static_cast<unsigned char>(text[pos]))) {
    ++pos;
  }
  absl::string_view kind = text.substr(start, pos - start);
  if (pos >= text.size() || text[pos] != '(') {
    return ParseError(
        base_offset + pos,
        absl::StrCat("expected '(' after subprincipal kind '", kind, "'"));
  }
  size_t arg_start = ++pos;
  while (pos < text.size() && text[pos] != ')' && text[pos] != '(') ++pos;
  if (pos >= text.size()) {
    return ParseError(base_offset + arg_start,
                      absl::StrCat("unterminated argument of ", kind, "(...)"));
  }
  if (text[pos] == '(') {
    return ParseError(base_offset + pos, "'(' inside a subprincipal argument");
  }
  absl::string_view arg = text.substr(arg_start, pos - arg_start);
  ++pos;  // ')'
  auto sub = Grammar::CreateSub(kind, arg, check);
  if (!sub.ok()) return ParseError(base_offset + start, sub.status().message());
  return sub;
}

}  // namespace

absl::StatusOr<Subprincipal> principal_internal::Grammar::ParseSub(
    absl::string_view text, SpkiCheck check) {
  size_t pos = 0;
  if (!text.empty() && text[0] == '.') pos = 1;
  auto sub = ParseOneSub(text, pos, 0, check);
  if (!sub.ok()) return sub;
  if (pos != text.size()) {
    return ParseError(pos, "trailing characters after the subprincipal");
  }
  return sub;
}

Principal Principal::ForKey(const VerifyingKey& key) {
  Principal p;
  p.key_spki_ = key.spki();
  p.text_ = absl::StrCat(kKeyPrefix, Base64UrlEncode(key.spki()), ")");
  return p;
}

Principal Principal::ForTpm2(const VerifyingKey& ak) {
  Principal p;
  p.key_spki_ = ak.spki();
  p.tpm2_ = true;
  p.text_ = absl::StrCat(kTpm2Prefix, Base64UrlEncode(ak.spki()), ")");
  return p;
}

Principal Principal::RootKey() const {
  Principal p;
  p.key_spki_ = key_spki_;
  p.tpm2_ = tpm2_;
  p.text_ = absl::StrCat(tpm2_ ? kTpm2Prefix : kKeyPrefix,
                         Base64UrlEncode(key_spki_), ")");
  return p;
}

absl::StatusOr<Principal> Principal::ParseFromOwnHost(absl::string_view text) {
  return Grammar::ParseName(text, &CheckP256SpkiEncoding);
}

absl::StatusOr<Principal> principal_internal::Grammar::ParseName(
    absl::string_view text, SpkiCheck check) {
  if (text.size() > kMaxPrincipalTextSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "principal name at offset ", kMaxPrincipalTextSize, ": the name is ",
        text.size(), " bytes, over the limit of ", kMaxPrincipalTextSize));
  }
  const bool tpm2 = absl::StartsWith(text, kTpm2Prefix);
  if (!tpm2 && !absl::StartsWith(text, kKeyPrefix)) {
    absl::string_view prefix =
        absl::StartsWith(text, "t") ? kTpm2Prefix : kKeyPrefix;
    size_t i = 0;
    while (i < text.size() && i < prefix.size() && text[i] == prefix[i]) ++i;
    return absl::InvalidArgumentError(absl::StrCat(
        "principal name at offset ", i, ": a name must start with '",
        kKeyPrefix, "<base64url SPKI>)' or '", kTpm2Prefix,
        "<base64url SPKI>)'"));
  }
  size_t key_start = tpm2 ? kTpm2Prefix.size() : kKeyPrefix.size();
  size_t close = text.find(')', key_start);
  if (close == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "principal name at offset ", key_start, ": unterminated key(...)"));
  }
  auto spki = Base64UrlDecode(text.substr(key_start, close - key_start));
  if (!spki.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "principal name at offset ", key_start, ": ", spki.status().message()));
  }
  absl::Status key = check(*spki);
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "principal name at offset ", key_start, ": ", key.message()));
  }
  Principal p;
  p.key_spki_ = std::move(spki).value();
  p.tpm2_ = tpm2;
  size_t pos = close + 1;
  while (pos < text.size()) {
    if (text[pos] != '.') {
      return absl::InvalidArgumentError(
          absl::StrCat("principal name at offset ", pos,
                       ": expected '.' before a subprincipal"));
    }
    ++pos;
    if (p.subs_.size() >= kMaxSubprincipals) {
      return absl::InvalidArgumentError(
          absl::StrCat("principal name at offset ", pos, ": more than ",
                       kMaxSubprincipals, " subprincipals"));
    }
    auto sub = ParseOneSub(text, pos, 0, check);
    if (!sub.ok()) return sub.status();
    p.subs_.push_back(std::move(sub).value());
  }
  p.text_ = std::string(text);
  return p;
}

absl::StatusOr<Principal> Principal::Extend(const Subprincipal& sub) const {
  if (subs_.size() >= kMaxSubprincipals) {
    return absl::InvalidArgumentError(
        absl::StrCat("name already has ", kMaxSubprincipals, " subprincipals"));
  }
  std::string text = absl::StrCat(text_, ".", sub.ToString());
  if (text.size() > kMaxPrincipalTextSize) {
    return absl::InvalidArgumentError(
        "extended name would exceed the size limit");
  }
  Principal p = *this;
  p.subs_.push_back(sub);
  p.text_ = std::move(text);
  return p;
}

bool Principal::IsSelfOrSubprincipalOf(const Principal& parent) const {
  if (key_spki_ != parent.key_spki_ || tpm2_ != parent.tpm2_ ||
      subs_.size() < parent.subs_.size()) {
    return false;
  }
  for (size_t i = 0; i < parent.subs_.size(); ++i) {
    if (subs_[i] != parent.subs_[i]) return false;
  }
  return true;
}

}  // namespace tao
