// demo-attest: a hosted program that gets its own key attested. It makes a
// fresh P-256 key, asks its host to attest "<my name> says key(K) speaksfor
// <my name>", signs a statement of its own with K (attaching the host's
// attestation as the delegation), verifies the whole chain with the
// verifier library against its host's root key, and writes the attestation
// for anyone to check with `tao-attest verify`.
//
//   demo-attest OUT_FILE
//
// Exit codes: 0 verified, 1 refused or rejected, 2 usage, 3 other failure.
#include <iostream>
#include <string>

#include "absl/time/clock.h"
#include "channels/rpc_tao.h"
#include "tao/attestation.h"
#include "tao/file_util.h"

namespace {

int Fail(absl::string_view what, const absl::Status& status) {
  std::cerr << "demo-attest: " << what << ": " << status << "\n";
  return status.code() == absl::StatusCode::kPermissionDenied ? 1 : 3;
}

int Run(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: demo-attest OUT_FILE\n";
    return 2;
  }
  auto tao = tao::TaoFromEnvironment();
  if (!tao.ok()) return Fail("connect to the host", tao.status());
  auto name = (*tao)->GetTaoName();
  if (!name.ok()) return Fail("get my name", name.status());
  auto key = tao::SigningKey::Generate();
  if (!key.ok()) return Fail("make a key", key.status());
  tao::Principal key_name = tao::Principal::ForKey(key->verifying_key());

  int64_t now = absl::ToUnixSeconds(absl::Now());
  tao::Statement delegation;
  delegation.set_not_before(now);
  delegation.set_not_after(now + 24 * 3600);
  delegation.mutable_delegation()->set_delegate(key_name.text());
  delegation.mutable_delegation()->set_delegator(name->text());
  auto delegated = (*tao)->Attest(delegation);
  if (!delegated.ok()) return Fail("have my key attested", delegated.status());

  tao::Statement claim;
  claim.set_speaker(name->text());
  claim.set_not_before(now);
  claim.set_not_after(now + 3600);
  claim.mutable_predicate()->set_name("hello");
  claim.mutable_predicate()->add_args("from demo-attest");
  auto attestation = tao::SignStatement(claim, *key, &*delegated);
  if (!attestation.ok()) return Fail("sign my statement", attestation.status());

  auto root = tao::VerifyingKey::FromSpki(name->key_spki());
  if (!root.ok()) return Fail("read my host's root key", root.status());
  tao::RealClock clock;
  tao::AttestationVerifier verifier({*root}, clock);
  auto verified = verifier.Verify(*attestation);
  if (!verified.ok()) {
    std::cerr << "demo-attest: my own chain does not verify: "
              << verified.status() << "\n";
    return 1;
  }
  absl::Status written =
      tao::WriteFileAtomically(argv[1], attestation->SerializeAsString(), 0644);
  if (!written.ok()) return Fail("write the attestation", written);
  std::cout << "verified: " << tao::DescribeStatement(verified->statement)
            << "\n"
            << "  signed by my key " << key_name.text() << "\n"
            << "  delegated by my host, root " << verified->root.text() << "\n"
            << "  written to " << argv[1] << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
