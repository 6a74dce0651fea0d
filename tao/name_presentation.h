// How principal names are shown to people: in tables, log lines, denial
// reasons and events. The canonical text (Principal::text()) stays the one
// form that machines read and compare; these functions only present it, and
// their output never parses as a name. The short forms are specified in
// docs/names.md ("Showing names to people"). All functions are pure and
// thread-safe.
#ifndef TAO_TAO_NAME_PRESENTATION_H_
#define TAO_TAO_NAME_PRESENTATION_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "tao/principal.h"

namespace tao {

// The default bound of ShortName: a name fits one line of a log or a table.
inline constexpr size_t kShortNameMaxLength = 320;

// The fingerprint of a key, as `ssh-keygen -l -E sha256` prints one:
// "SHA256:" followed by the unpadded standard base64 (RFC 4648 section 4) of
// the SHA-256 of `spki`, the key's DER SubjectPublicKeyInfo. Always 50
// characters. Defined for any bytes; it does not check that they are a key.
std::string KeyFingerprint(absl::string_view spki);

// A key for people: `key(ecdsa-p256:SHA256:<43 characters>)`, 66 characters.
std::string ShortKeyName(absl::string_view spki);
// The root of `name` for people: ShortKeyName for a key(...) root,
// `tpm2(ecdsa-p256:SHA256:<43 characters>)` for a tpm2(...) one.
std::string ShortRootName(const Principal& name);

// One subprincipal for people, always with its kind:
//  - `Program`, `VM`, `Enclave`: the whole digest if `whole_digest`, else
//    `Kind(sha256:<first 12 hex digits>...)`;
//  - `Args`: `Args(sha256:<first 8 hex digits>...)`;
//  - `Publisher`: `Publisher(SHA256:<fingerprint>,<product>,<version>)`, a
//    product over 32 characters cut to its first 32 and "...";
//  - `Ext`: an argument over 40 characters cut to its first 32 and "...".
std::string ShortSubprincipal(const Subprincipal& sub, bool whole_digest);

// A whole name for people: ShortRootName of the root, then every subprincipal
// as ShortSubprincipal shows it, where the last measurement (the last
// Program, VM or Enclave) keeps its whole digest and every other digest is
// cut. If that is longer than `max_length`, runs of subprincipals are
// replaced by `.[+N more]`, from the middle out: the key and the last
// measurement always stay, the Publisher right after it next, then as many
// subprincipals from both ends as fit. The result is at most
// max(max_length, 171) characters (171: the key, the longest measurement and
// two marks).
std::string ShortName(const Principal& name,
                      size_t max_length = kShortNameMaxLength);

// `text` with every canonical name in it (a valid `key(ecdsa-p256:...)`
// with the longest run of valid subprincipals after it) replaced by its
// ShortName; everything else is copied unchanged. For messages that carry
// names: denial reasons, event details, statements. Idempotent, since no
// short form contains a canonical name.
std::string ShortenNamesIn(absl::string_view text,
                           size_t max_length = kShortNameMaxLength);

}  // namespace tao

#endif  // TAO_TAO_NAME_PRESENTATION_H_
