// tao-attest: verify and show attestations. The verifier is the same library
// (tao/attestation.h) that hosted programs and remote peers use.
#include <gflags/gflags.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "apps/common/cli.h"
#include "tao/attestation.h"
#include "tao/clock.h"
#include "tao/crypto.h"
#include "tao/file_util.h"
#include "tao/name_presentation.h"
#include "tao/principal.h"

DEFINE_string(root, "",
              "Comma-separated files, each holding a trusted root: a key "
              "principal 'key(ecdsa-p256:...)' (such as a host's host_name "
              "file) or a PEM public key. Required by verify.");
DEFINE_string(at, "",
              "Verify as of this time (RFC 3339, e.g. 2026-01-02T03:04:05Z) "
              "instead of now.");
DEFINE_bool(full, false,
            "show: print whole names (their canonical text) instead of the "
            "short form of docs/names.md.");

namespace tao {
namespace {

constexpr absl::string_view kUsage = R"usage(verify and show Tao attestations.

Usage:
  tao-attest verify --root=ROOT_FILE[,ROOT_FILE...] [--at=TIME] ATTESTATION
  tao-attest show [--full] ATTESTATION

ATTESTATION is a file holding a serialized tao.Attestation, or - for stdin.

verify checks every signature over the exact bytes received, that each speaker
is its signer or under it (or under a delegator that delegated to the signer),
that the chain ends in a trusted root, and that the time lies in every
validity window. It prints the verified statement, or the reason it fails:
malformed, bad-signature, untrusted-signer, speaker-not-signer,
bad-delegation, expired, not-yet-valid, chain-too-deep.

show prints the statement and every link of the chain without verifying,
for people: names short (a key as its fingerprint, key(ecdsa-p256:SHA256:..),
the last measurement whole; see docs/names.md), or whole with --full. verify
prints whole names: its output is the verified statement itself.

Exit codes: 0 verified (or shown), 1 rejected, 2 usage error, 3 other failure.)usage";

absl::StatusOr<VerifyingKey> LoadRoot(const std::string& path) {
  auto contents = ReadFileToString(path, 1 << 16);
  if (!contents.ok()) return contents.status();
  if (absl::StrContains(*contents, "-----BEGIN PUBLIC KEY-----")) {
    return VerifyingKey::FromPem(*contents);
  }
  absl::string_view text = absl::StripAsciiWhitespace(*contents);
  auto principal = Principal::Parse(text);
  if (!principal.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": not a PEM key nor a principal: ", principal.status().message()));
  }
  if (!principal->subprincipals().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": a root must be a bare key principal, not ",
                     principal->text()));
  }
  return VerifyingKey::FromSpki(principal->key_spki());
}

absl::StatusOr<Attestation> LoadAttestation(const std::string& path) {
  auto bytes = ReadInput(path);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() > kMaxAttestationSize) {
    return absl::InvalidArgumentError("attestation file is too large");
  }
  Attestation attestation;
  if (!attestation.ParseFromString(*bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " does not hold a serialized tao.Attestation"));
  }
  return attestation;
}

std::string TimeText(absl::Time t) {
  if (t == absl::InfinitePast()) return "-inf";
  if (t == absl::InfiniteFuture()) return "+inf";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// A message that holds names, as show prints it.
std::string Names(absl::string_view text) {
  return FLAGS_full ? std::string(text) : ShortenNamesIn(text);
}

void ShowLink(const Attestation& attestation, int depth) {
  std::string indent(static_cast<size_t>(2 * depth), ' ');
  std::cout << indent << (depth == 0 ? "attestation" : "delegation") << ":\n";
  Statement statement;
  if (statement.ParseFromString(attestation.serialized_statement())) {
    std::cout << indent
              << "  statement: " << Names(DescribeStatement(statement)) << "\n";
  } else {
    std::cout << indent << "  statement: (unparsable, "
              << attestation.serialized_statement().size() << " bytes)\n";
  }
  auto signer = VerifyingKey::FromSpki(attestation.signer_key());
  std::cout << indent << "  signer: "
            << (signer.ok()
                    ? (FLAGS_full ? Principal::ForKey(*signer).text()
                                  : ShortKeyName(signer->spki()))
                    : absl::StrCat("(invalid key: ", signer.status().message(),
                                   ")"))
            << "\n";
  std::cout << indent << "  signature: " << attestation.signature().size()
            << " bytes, sha256 "
            << HexEncode(Sha256(attestation.signature())).substr(0, 16)
            << "...\n";
  if (attestation.has_delegation()) {
    if (depth >= kMaxDelegationDepth) {
      std::cout << indent << "  (chain deeper than " << kMaxDelegationDepth
                << " not shown)\n";
      return;
    }
    ShowLink(attestation.delegation(), depth + 1);
  }
}

int Verify(const std::vector<std::string>& args) {
  if (args.size() != 2 || FLAGS_root.empty()) {
    std::cerr << "usage: tao-attest verify --root=ROOT_FILE ATTESTATION\n";
    return kExitUsage;
  }
  std::vector<VerifyingKey> roots;
  for (absl::string_view path :
       absl::StrSplit(FLAGS_root, ',', absl::SkipEmpty())) {
    auto root = LoadRoot(std::string(path));
    if (!root.ok()) {
      PrintError("tao-attest", root.status());
      return kExitUsage;
    }
    roots.push_back(*std::move(root));
  }
  FixedClock at_clock(absl::Now());
  if (!FLAGS_at.empty()) {
    absl::Time at;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, FLAGS_at, &at, &err)) {
      std::cerr << "tao-attest: --at: " << err << "\n";
      return kExitUsage;
    }
    at_clock.Set(at);
  }
  auto bytes = ReadInput(args[1]);
  if (!bytes.ok()) {
    PrintError("tao-attest", bytes.status());
    return kExitFailure;
  }
  AttestationVerifier verifier(std::move(roots), at_clock);
  auto verified = verifier.VerifySerialized(*bytes);
  if (!verified.ok()) {
    auto failure = GetAttestationFailure(verified.status());
    std::cout << "rejected: " << verified.status().message() << "\n";
    return failure.has_value() ? kExitRejected : kExitFailure;
  }
  std::cout << "verified: " << DescribeStatement(verified->statement) << "\n"
            << "  speaker:     " << verified->speaker.text() << "\n"
            << "  root:        " << verified->root.text() << "\n"
            << "  delegations: " << verified->delegations << "\n"
            << "  valid:       [" << TimeText(verified->not_before) << ", "
            << TimeText(verified->not_after) << "]\n";
  return kExitOk;
}

int Show(const std::vector<std::string>& args) {
  if (args.size() != 2) {
    std::cerr << "usage: tao-attest show ATTESTATION\n";
    return kExitUsage;
  }
  auto attestation = LoadAttestation(args[1]);
  if (!attestation.ok()) {
    PrintError("tao-attest", attestation.status());
    return kExitFailure;
  }
  ShowLink(*attestation, 0);
  return kExitOk;
}

}  // namespace
}  // namespace tao

int main(int argc, char** argv) {
  std::vector<std::string> args =
      tao::InitApp(tao::kUsage, "apps/tao_attest/", &argc, &argv);
  if (args.empty()) {
    std::cerr << "tao-attest: missing command (verify or show); see --help\n";
    return tao::kExitUsage;
  }
  if (args[0] == "verify") return tao::Verify(args);
  if (args[0] == "show") return tao::Show(args);
  std::cerr << "tao-attest: unknown command '" << args[0] << "'; see --help\n";
  return tao::kExitUsage;
}
