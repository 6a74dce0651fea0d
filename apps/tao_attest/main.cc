// tao-attest: verify and show attestations. The verifier is the same library
// (tao/attestation.h) that hosted programs and remote peers use.
#include <gflags/gflags.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "apps/common/cli.h"
#include "apps/common/json.h"
#include "tao/attestation.h"
#include "tao/clock.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
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
DEFINE_bool(json, false,
            "Print the result (verify) or the chain (show) as one JSON "
            "object, and errors as JSON on stderr.");
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
validity window. Chains of any length (up to 8 delegations: one per stacked
host, docs/stacking.md) are followed. It prints the verified statement, or
the reason it fails and the link that fails ("attestation" for the leaf,
"delegation N" for the Nth link up): malformed, bad-signature,
untrusted-signer, speaker-not-signer, bad-delegation, expired,
not-yet-valid, chain-too-deep, bad-quote (a TPM quote fails a check:
magic, type, qualifying data, PCR selection or digest, signature).

show draws the chain without verifying, as a tree, root first (the link
whose signer must be trusted at the top, the attestation at the bottom), for
people: names short (a key as its fingerprint, key(ecdsa-p256:SHA256:..),
the last measurement whole; see docs/names.md), or whole with --full. verify
prints whole names: its output is the verified statement itself.

--json prints verify's result (verified or rejected, with the failure's
name) or show's chain (a "links" array, outermost first) as one JSON object.
verify exits 0 when verified and 1 when rejected.)usage";

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

std::string LinkKind(int depth) {
  return depth == 0 ? std::string("attestation")
                    : absl::StrCat("delegation ", depth);
}

// The lines of one link: what it says, who signed it, with what.
std::vector<std::string> LinkLines(const Attestation& link) {
  std::vector<std::string> lines;
  Statement statement;
  if (statement.ParseFromString(link.serialized_statement())) {
    lines.push_back(
        absl::StrCat("statement: ", Names(DescribeStatement(statement))));
  } else {
    lines.push_back(absl::StrCat("statement: (unparsable, ",
                                 link.serialized_statement().size(),
                                 " bytes)"));
  }
  auto signer = VerifyingKey::FromSpki(link.signer_key());
  const bool tpm2 = link.has_tpm2_quote();
  std::string key =
      !signer.ok()
          ? absl::StrCat("(invalid key: ", signer.status().message(), ")")
      : tpm2       ? (FLAGS_full ? Principal::ForTpm2(*signer).text()
                                 : ShortRootName(Principal::ForTpm2(*signer)))
      : FLAGS_full ? Principal::ForKey(*signer).text()
                   : ShortKeyName(signer->spki());
  lines.push_back(absl::StrCat("signer: ", key));
  if (tpm2) {
    lines.push_back(absl::StrCat(
        "tpm2 quote: ", link.tpm2_quote().pcrs_size(), " PCRs, attest ",
        link.tpm2_quote().attest().size(), " bytes, signature ",
        link.tpm2_quote().signature().size(), " bytes"));
  } else {
    lines.push_back(
        absl::StrCat("signature: ", link.signature().size(), " bytes, sha256 ",
                     HexEncode(Sha256(link.signature())).substr(0, 16), "..."));
  }
  return lines;
}

// The chain as a tree, root first: the innermost delegation (signed by the
// key a verifier must trust) at the top, each link under the one that
// delegates to its signer, the attestation itself at the bottom.
void ShowChain(const Attestation& attestation) {
  std::vector<const Attestation*> links;  // outermost (depth 0) first
  for (const Attestation* link = &attestation;; link = &link->delegation()) {
    links.push_back(link);
    if (!link->has_delegation()) break;
    if (links.size() > static_cast<size_t>(kMaxDelegationDepth)) break;
  }
  const bool cut = links.back()->has_delegation();
  std::cout << "chain of " << links.size()
            << (links.size() == 1 ? " link" : " links")
            << ", root first (the top link's signer must be a trusted root):\n";
  if (cut) {
    std::cout << "(deeper than " << kMaxDelegationDepth
              << " delegations: the links nearer the root are not shown)\n";
  }
  std::string indent;
  for (size_t i = links.size(); i-- > 0;) {
    const int depth = static_cast<int>(i);
    std::cout << indent << (i + 1 == links.size() ? "" : "└── ")
              << LinkKind(depth) << "\n";
    if (i + 1 != links.size()) indent += "    ";
    std::vector<std::string> lines = LinkLines(*links[i]);
    const bool more = i > 0;  // a child link follows
    for (size_t k = 0; k < lines.size(); ++k) {
      const bool last = k + 1 == lines.size() && !more;
      std::cout << indent << (last ? "└── " : "├── ") << lines[k] << "\n";
    }
  }
}

// The chain from `attestation` down, outermost first, as JSON objects.
void LinksJson(const Attestation& attestation, int depth,
               std::vector<std::string>* links) {
  Statement statement;
  bool parsed = statement.ParseFromString(attestation.serialized_statement());
  auto signer = VerifyingKey::FromSpki(attestation.signer_key());
  JsonObject link;
  link.Add("depth", depth)
      .Add("kind", depth == 0 ? "attestation" : "delegation")
      .Add("statement", parsed ? Names(DescribeStatement(statement)) : "")
      .Add("statement_bytes",
           static_cast<uint64_t>(attestation.serialized_statement().size()))
      .Add("signer", signer.ok()
                         ? (FLAGS_full ? Principal::ForKey(*signer).text()
                                       : ShortKeyName(signer->spki()))
                         : "")
      .Add("signer_valid", signer.ok())
      .Add("signature_bytes",
           static_cast<uint64_t>(attestation.signature().size()))
      .Add("signature_sha256", HexEncode(Sha256(attestation.signature())));
  links->push_back(link.ToString());
  if (attestation.has_delegation() && depth < kMaxDelegationDepth) {
    LinksJson(attestation.delegation(), depth + 1, links);
  }
}

int Fail(const absl::Status& status, int exit_code) {
  return ReportError("tao-attest", status, FLAGS_json, exit_code);
}

int Verify(const std::vector<std::string>& args) {
  if (args.size() != 2 || FLAGS_root.empty()) {
    return UsageError("usage: tao-attest verify --root=ROOT_FILE ATTESTATION",
                      FLAGS_json);
  }
  std::vector<VerifyingKey> roots;
  for (absl::string_view path :
       absl::StrSplit(FLAGS_root, ',', absl::SkipEmpty())) {
    auto root = LoadRoot(std::string(path));
    if (!root.ok()) {
      return Fail(root.status(),
                  absl::IsNotFound(root.status()) ? kExitNotFound : kExitUsage);
    }
    roots.push_back(*std::move(root));
  }
  FixedClock at_clock(absl::Now());
  if (!FLAGS_at.empty()) {
    absl::Time at;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, FLAGS_at, &at, &err)) {
      return UsageError(absl::StrCat("tao-attest: --at: ", err), FLAGS_json);
    }
    at_clock.Set(at);
  }
  auto bytes = ReadInput(args[1]);
  if (!bytes.ok()) {
    return Fail(bytes.status(), ExitCodeFor(bytes.status()));
  }
  AttestationVerifier verifier(std::move(roots), at_clock);
  auto verified = verifier.VerifySerialized(*bytes);
  if (!verified.ok()) {
    auto failure = GetAttestationFailure(verified.status());
    if (FLAGS_json) {
      std::cout << JsonObject()
                       .Add("verified", false)
                       .Add("failure", failure.has_value()
                                           ? AttestationFailureName(*failure)
                                           : "")
                       .Add("reason", verified.status().message())
                       .ToString()
                << "\n";
    } else {
      std::cout << "rejected: " << verified.status().message() << "\n";
    }
    return failure.has_value() ? kExitRejected : kExitOther;
  }
  if (FLAGS_json) {
    std::cout << JsonObject()
                     .Add("verified", true)
                     .Add("statement", DescribeStatement(verified->statement))
                     .Add("speaker", verified->speaker.text())
                     .Add("root", verified->root.text())
                     .Add("delegations", verified->delegations)
                     .AddTime("not_before", verified->not_before)
                     .AddTime("not_after", verified->not_after)
                     .ToString()
              << "\n";
    return kExitOk;
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
    return UsageError("usage: tao-attest show ATTESTATION", FLAGS_json);
  }
  auto attestation = LoadAttestation(args[1]);
  if (!attestation.ok()) {
    return Fail(attestation.status(), ExitCodeFor(attestation.status()));
  }
  if (FLAGS_json) {
    std::vector<std::string> links;
    LinksJson(*attestation, 0, &links);
    std::cout << JsonObject()
                     .AddRaw("links",
                             absl::StrCat("[", absl::StrJoin(links, ","), "]"))
                     .ToString()
              << "\n";
    return kExitOk;
  }
  ShowChain(*attestation);
  return kExitOk;
}

}  // namespace
}  // namespace tao

int main(int argc, char** argv) {
  std::vector<std::string> args =
      tao::InitApp(tao::kUsage, "apps/tao_attest/", &argc, &argv);
  if (args.empty()) {
    return tao::UsageError(
        "tao-attest: missing command (verify or show); see --help", FLAGS_json);
  }
  if (args[0] == "verify") return tao::Verify(args);
  if (args[0] == "show") return tao::Show(args);
  return tao::UsageError(
      absl::StrCat("tao-attest: unknown command '", args[0], "'; see --help"),
      FLAGS_json);
}
