// Writes the seed corpus of every fuzz target under the given directory
// (fuzz/corpus/<target>/). Run once after a format changes:
//   build/fuzz/tao_fuzz_make_seeds fuzz/corpus
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "channels/framing.h"
#include "channels/tao_rpc.pb.h"
#include "fuzz/fuzz_support.h"
#include "seal_policy/codec.h"
#include "tao/attestation.h"
#include "tao/crypto.h"
#include "tao/program_signature.h"
#include "tao_domain/policy_io.h"

namespace {

template <typename T>
T Must(absl::StatusOr<T> value) {
  if (!value.ok()) {
    std::cerr << value.status() << "\n";
    std::exit(1);
  }
  return *std::move(value);
}

std::string root;

void Write(const std::string& target, const std::string& name,
           const std::string& bytes) {
  std::string dir = absl::StrCat(root, "/", target);
  ::mkdir(root.c_str(), 0755);
  ::mkdir(dir.c_str(), 0755);
  std::ofstream(absl::StrCat(dir, "/", name), std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: tao_fuzz_make_seeds CORPUS_DIR\n";
    return 2;
  }
  root = argv[1];
  using namespace tao;  // NOLINT
  const Principal& program = fuzz::ProgramName();
  const Principal host = fuzz::Host().name();
  std::string publisher_text =
      Principal::ForKey(fuzz::PublisherKey().verifying_key()).text();

  // Names.
  Write("principal", "host", host.text());
  Write("principal", "program", program.text());
  Write("principal", "ext",
        Must(program.Extend(Must(Subprincipal::Ext("role", "a:b")))).text());
  Write("principal", "publisher",
        Must(program.Extend(Must(Subprincipal::Publisher(
                 fuzz::PublisherKey().verifying_key(), "prod", 7))))
            .text());
  Write("principal", "sub", "Program(sha256:" + std::string(64, 'a') + ")");

  // Seal policies, canonical and as protobuf text.
  std::vector<SealPolicy> policies = {
      SameProgramPolicy(), SameMeasurementPolicy(), SameHostPolicy(),
      DomainRulePolicy("db:creds"),
      SameSignerPolicy(publisher_text, "prod", 2)};
  SealPolicy all;
  *all.mutable_all_of()->add_policies() = SameProgramPolicy();
  *all.mutable_all_of()->add_policies() = DomainRulePolicy("x");
  policies.push_back(all);
  SealPolicy any;
  *any.mutable_any_of()->add_policies() = all;
  *any.mutable_any_of()->add_policies() =
      SameSignerPolicy(publisher_text, "prod", 0);
  policies.push_back(any);
  for (size_t i = 0; i < policies.size(); ++i) {
    Write("seal_policy", absl::StrCat("p", i),
          Must(EncodeSealPolicy(policies[i])));
    Write("seal_policy_text", absl::StrCat("p", i), policies[i].DebugString());
  }

  // Domain policies.
  auto signed_policy = fuzz::SignedAllowAllPolicy();
  Write("domain_policy", "signed", signed_policy);
  DomainPolicy text_policy = Must(VerifySignedDomainPolicy(
      signed_policy, fuzz::PolicyKey().verifying_key()));
  Rule* admin = text_policy.add_rules();
  admin->set_id("admins");
  admin->add_operations("Admin:*");
  admin->add_principals()->set_uid(0);
  admin->add_principals()->set_gid(27);
  Rule* signer = text_policy.add_rules();
  signer->set_id("signed");
  signer->add_operations("Execute");
  signer->mutable_principals()->Add()->mutable_signer()->set_signer(
      publisher_text);
  signer->mutable_principals(0)->mutable_signer()->set_product("prod");
  signer->mutable_principals(0)->mutable_signer()->set_min_version(2);
  Write("domain_policy", "text", DomainPolicyToText(text_policy));

  // Attestations: one by the host, one by a delegated key.
  Statement statement;
  statement.set_speaker(program.text());
  statement.set_not_before(1700000000);
  statement.set_not_after(1900000000);
  statement.mutable_predicate()->set_name("ready");
  statement.mutable_predicate()->add_args("port=1");
  Attestation direct = Must(SignStatement(statement, fuzz::HostKey()));
  Write("attestation", "direct", direct.SerializeAsString());
  Statement delegation;
  delegation.set_speaker(program.text());
  delegation.mutable_delegation()->set_delegate(
      Principal::ForKey(fuzz::PublisherKey().verifying_key()).text());
  delegation.mutable_delegation()->set_delegator(program.text());
  Attestation delegated = Must(SignStatement(delegation, fuzz::HostKey()));
  Attestation chained =
      Must(SignStatement(statement, fuzz::PublisherKey(), &delegated));
  Write("attestation", "chained", chained.SerializeAsString());

  // Sealed bundles.
  for (size_t i = 0; i < 3; ++i) {
    std::string data(i * 150, static_cast<char>('a' + i));
    Write("sealed_bundle", absl::StrCat("b", i),
          Must(fuzz::Host().Encrypt(data, Must(EncodeSealPolicy(policies[i])),
                                    program)));
  }

  // Program signatures.
  Write(
      "program_signature", "valid",
      Must(SignProgram(fuzz::PublisherKey(), fuzz::Measurement(), "prod", 3)));
  Write("program_signature", "other",
        Must(SignProgram(fuzz::PublisherKey(), Sha256("other"), "prod", 3)));

  // taohost configs.
  Write("taohost_config", "minimal",
        "keys_dir: \"/var/lib/tao/keys\"\ndomain_dir: \"/etc/tao/domain\"\n");
  Write("taohost_config", "programs",
        "keys_dir: \"/k\"\ndomain_dir: \"/d\"\nruntime_dir: \"/run/tao\"\n"
        "admin_socket_mode: 0660\nfactories: \"process\"\n"
        "programs { path: \"/bin/x\" args: \"a\" env { name: \"A\" value: "
        "\"1\" } "
        "restart: RESTART_ON_FAILURE max_restarts: 3 channel: \"socketpair\" "
        "}\n");

  // A stream of frames: every method once.
  std::string stream;
  auto add = [&stream](TaoRequest request) {
    if (!AppendFrame(request, 1 << 20, &stream).ok()) std::exit(1);
  };
  TaoRequest r;
  r.set_id(1);
  r.mutable_get_tao_name();
  add(r);
  r.Clear();
  r.set_id(2);
  r.mutable_extend_tao_name()->set_subprincipal("Ext(role:worker)");
  add(r);
  r.Clear();
  r.set_id(3);
  r.mutable_get_random_bytes()->set_size(16);
  add(r);
  r.Clear();
  r.set_id(4);
  r.mutable_seal()->set_data("hello");
  add(r);
  r.Clear();
  r.set_id(5);
  r.mutable_unseal()->set_bundle(
      Must(fuzz::Host().Encrypt("hello", "SameProgram", program)));
  add(r);
  r.Clear();
  r.set_id(6);
  *r.mutable_attest() = statement;
  r.mutable_attest()->clear_speaker();
  add(r);
  r.Clear();
  r.set_id(7);
  r.mutable_get_shared_secret()->set_size(16);
  r.mutable_get_shared_secret()->set_policy("SameHost");
  add(r);
  Write("frame", "all_methods", stream);
  std::cout << "seeds written under " << root << "\n";
  return 0;
}
