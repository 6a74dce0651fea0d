// Principal names: who speaks. A name is a root key extended by a list of
// subprincipals, and has exactly one canonical text:
//
//   key(ecdsa-p256:<base64url DER SPKI>).Program(sha256:<hex>)
//       .Args(sha256:<hex>)                     (one line, no spaces)
//
// The root is `key(...)` (whatever the key signs) or `tpm2(...)` (what a
// TPM's attestation key says in its quotes, docs/tpm2-root.md): the same
// key under two names that never match each other.
//
// parse(print(x)) == x, and two names are equal exactly when their texts are.
// The grammar and the rules for every subprincipal kind are in docs/names.md.
// Values are immutable and thread-safe.
#ifndef TAO_TAO_PRINCIPAL_H_
#define TAO_TAO_PRINCIPAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tao/keys.h"

namespace tao {

// Longest principal text accepted, and most subprincipals in one name.
inline constexpr size_t kMaxPrincipalTextSize = 32 * 1024;
inline constexpr size_t kMaxSubprincipals = 128;

namespace principal_internal {
// The grammar with the key check as a parameter (tao/principal_grammar.h, not
// installed): the parsers below are its only users.
struct Grammar;
}  // namespace principal_internal

// One extension of a name, `Kind(argument)`. Always valid: made only by the
// factories below or by parsing.
class Subprincipal {
 public:
  // `Program(sha256:<hex>)`: the SHA-256 of the exact bytes executed.
  // `digest` is the 32 raw bytes. kInvalidArgument for another size.
  static absl::StatusOr<Subprincipal> Program(absl::string_view digest);
  // `Args(sha256:<hex>)`: the digest of the program's args and environment.
  static absl::StatusOr<Subprincipal> Args(absl::string_view digest);
  // `VM(sha256:<hex>)`: the combined digest of a VM's kernel, initrd, cmdline.
  static absl::StatusOr<Subprincipal> Vm(absl::string_view digest);
  // `Enclave(sha256:<hex>)`: the digest of an enclave manifest.
  static absl::StatusOr<Subprincipal> Enclave(absl::string_view digest);
  // `Publisher(ecdsa-p256:<base64url SPKI>,<product>,<version>)`: the program
  // carries a valid signature by `publisher` naming it `product` at
  // `version` (tao/program_signature.h). product: 1 to 128 characters of
  // [A-Za-z0-9._-]. kInvalidArgument otherwise.
  static absl::StatusOr<Subprincipal> Publisher(const VerifyingKey& publisher,
                                                absl::string_view product,
                                                uint64_t version);
  // `Ext(<label>:<value>)`: a program-chosen extension (a role, a config hash).
  // label: [a-z0-9][a-z0-9_-]{0,63}; value: 1 to 1024 characters of
  // [A-Za-z0-9._:=+/,@-]. kInvalidArgument otherwise.
  static absl::StatusOr<Subprincipal> Ext(absl::string_view label,
                                          absl::string_view value);
  // Parses one `Kind(argument)` (a leading '.' is allowed). kInvalidArgument
  // with the offset and the reason if it is malformed.
  static absl::StatusOr<Subprincipal> Parse(absl::string_view text);

  // Validates `kind` and `argument` against the rules of docs/names.md.
  // Returns kInvalidArgument with the reason.
  static absl::StatusOr<Subprincipal> Create(absl::string_view kind,
                                             absl::string_view argument);

  const std::string& kind() const { return kind_; }
  const std::string& argument() const { return argument_; }
  // `Kind(argument)`.
  std::string ToString() const;

  bool operator==(const Subprincipal& o) const {
    return kind_ == o.kind_ && argument_ == o.argument_;
  }
  bool operator!=(const Subprincipal& o) const { return !(*this == o); }

 private:
  friend struct principal_internal::Grammar;
  Subprincipal(std::string kind, std::string argument)
      : kind_(std::move(kind)), argument_(std::move(argument)) {}

  std::string kind_;
  std::string argument_;
};

// The parts of a `Publisher(...)` subprincipal.
struct PublisherClaim {
  // The key's DER SPKI, in its canonical encoding. Parse also checked the
  // point; a name from Principal::ParseFromOwnHost did not. Make it a key
  // with VerifyingKey::FromSpki, which checks it, before using it as one.
  std::string publisher_spki;
  std::string product;
  uint64_t version;
};

// Reads a Publisher subprincipal (the key checked as `sub` was when it was
// made: see PublisherClaim). kInvalidArgument for any other kind.
absl::StatusOr<PublisherClaim> ParsePublisher(const Subprincipal& sub);

// Parses a canonical decimal uint64: digits only, no sign, no leading zeros
// (except "0"), no overflow. The one spelling of a version number.
bool ParseCanonicalDecimal(absl::string_view text, uint64_t* value);

// True for a product name: 1 to 128 characters of [A-Za-z0-9._-].
bool IsValidProductName(absl::string_view product);

// True for the kinds that say which code runs: Program, VM, Enclave.
bool IsMeasurementKind(const Subprincipal& sub);

class Principal {
 public:
  // The name of a key: `key(ecdsa-p256:<base64url SPKI>)`.
  static Principal ForKey(const VerifyingKey& key);
  // The name of a TPM's attestation key `ak`, as its quotes speak:
  // `tpm2(ecdsa-p256:<base64url SPKI>)`.
  static Principal ForTpm2(const VerifyingKey& ak);
  // Parses canonical text. Returns kInvalidArgument naming the offset and
  // the reason for anything else. Every key is checked as
  // VerifyingKey::CheckSpki checks it: its canonical encoding, and a point
  // on the curve. For names from anyone.
  static absl::StatusOr<Principal> Parse(absl::string_view text);
  // Parses a name that this program's own host sent it (its own name, the
  // sealer of a bundle it unsealed). The grammar and the canonical-text
  // rules are Parse's, but keys are checked by their bytes only
  // (CheckP256SpkiEncoding), not for being a point of the curve. The client
  // library parses with it: a hosted program trusts its host in any case
  // (the host started it and can read its memory), and so it links no
  // OpenSSL. Never for a name from anyone else. kInvalidArgument as Parse.
  static absl::StatusOr<Principal> ParseFromOwnHost(absl::string_view text);

  // This name with `sub` appended. kInvalidArgument if the result would
  // exceed kMaxSubprincipals or kMaxPrincipalTextSize.
  absl::StatusOr<Principal> Extend(const Subprincipal& sub) const;

  // The root key's canonical DER SPKI.
  const std::string& key_spki() const { return key_spki_; }
  // True for a `tpm2(...)` root, false for `key(...)`.
  bool is_tpm2() const { return tpm2_; }
  // The root alone (of the same kind), as a principal.
  Principal RootKey() const;
  const std::vector<Subprincipal>& subprincipals() const { return subs_; }
  // The canonical text.
  const std::string& text() const { return text_; }

  // True if this name equals `parent` or extends it with subprincipals.
  bool IsSelfOrSubprincipalOf(const Principal& parent) const;

  bool operator==(const Principal& o) const { return text_ == o.text_; }
  bool operator!=(const Principal& o) const { return text_ != o.text_; }
  bool operator<(const Principal& o) const { return text_ < o.text_; }

 private:
  friend struct principal_internal::Grammar;
  Principal() = default;

  std::string key_spki_;
  bool tpm2_ = false;
  std::vector<Subprincipal> subs_;
  std::string text_;
};

}  // namespace tao

#endif  // TAO_TAO_PRINCIPAL_H_
