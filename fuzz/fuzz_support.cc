#include "fuzz/fuzz_support.h"

#include <cstdlib>
#include <iostream>

#include "absl/strings/escaping.h"
#include "google/protobuf/stubs/logging.h"
#include "tao/clock.h"
#include "tao/crypto.h"
#include "tao/key_store.h"
#include "tao_domain/policy_io.h"

namespace tao {
namespace fuzz {
namespace {

constexpr char kHostKeyHex[] =
    "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b02010104205f"
    "1b7d0a7d84d9b72a85a48086c27cd495bc9eb7eca6774663219810895832faa14403420004"
    "7de2477894fab59d773ff8ceea56891f99fbce419009e384721f81156c28f0d6cb901d482a"
    "c5b50606815bc45ca41f13bf6af954c46d5d005c6bd8ed53c79e42";
constexpr char kPolicyKeyHex[] =
    "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b020101042059"
    "ed16252afaed1d86701ab1ced6678b9959c336fbfce6e4a9dc4d360bc76429a14403420004"
    "78d71a71c1a24808e5a3c3e297d1f5ad2ff253f2fa5861a440c2340584f97c256d2c59e62a"
    "4a0ff213148c9921aba1778d6795f4bb8829379e84e8160e184211";
constexpr char kPublisherKeyHex[] =
    "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b02010104207d"
    "7cdcb1ef21fdcd3d0c97881899026ee24837550432a95844689f1b2cd6246fa14403420004"
    "ebba780f4b41a7a2b1e7e6d598924bd7ed2aee4ae56d9b637aef3c53cca9b97e8ce1d15622"
    "690643e68d1c77427eb9853740a04197cf39b99a758fa4fe41181e";

template <typename T>
T Must(absl::StatusOr<T> value) {
  if (!value.ok()) {
    std::cerr << "fuzz setup failed: " << value.status() << "\n";
    std::abort();
  }
  return *std::move(value);
}

SigningKey KeyFromHex(const char* hex) {
  return Must(SigningKey::FromPkcs8(absl::HexStringToBytes(hex)));
}

}  // namespace

void QuietProtobufLogs() {
  static bool done = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)done;
}

const SigningKey& HostKey() {
  static const SigningKey* key = new SigningKey(KeyFromHex(kHostKeyHex));
  return *key;
}

const SigningKey& PolicyKey() {
  static const SigningKey* key = new SigningKey(KeyFromHex(kPolicyKeyHex));
  return *key;
}

const SigningKey& PublisherKey() {
  static const SigningKey* key = new SigningKey(KeyFromHex(kPublisherKeyHex));
  return *key;
}

const TaoHost& Host() {
  static const TaoHost* host = [] {
    HostKeys keys{KeyFromHex(kHostKeyHex),
                  SecretString(std::string(32, '\x5a'))};
    Principal name = Principal::ForKey(keys.signing_key.verifying_key());
    return Must(TaoHost::Create(std::move(keys), name, std::nullopt)).release();
  }();
  return *host;
}

const std::string& SignedAllowAllPolicy() {
  static const std::string* policy = [] {
    DomainPolicy p;
    p.set_domain_name("fuzz");
    Rule* rule = p.add_rules();
    rule->set_id("everything");
    for (const char* op :
         {"Execute", "Seal", "Unseal", "Attest", "GetSharedSecret"}) {
      rule->add_operations(op);
    }
    rule->add_labels("*");
    rule->add_principals()->set_name_prefix(Host().name().text());
    Rule* plain = p.add_rules();
    plain->set_id("plain-seal");
    plain->add_operations("Seal");
    plain->add_operations("Unseal");
    plain->add_principals()->set_name_prefix(Host().name().text());
    return new std::string(Must(SignDomainPolicy(p, PolicyKey())));
  }();
  return *policy;
}

TaoDomain& Domain() {
  static RealClock* clock = new RealClock;
  static TaoDomain* domain =
      Must(TaoDomain::Create(PolicyKey().verifying_key(),
                             SignedAllowAllPolicy(), nullptr, *clock))
          .release();
  return *domain;
}

const std::string& Measurement() {
  static const std::string* m = new std::string(Sha256("fuzz"));
  return *m;
}

const Principal& ProgramName() {
  static const Principal* name = [] {
    Principal p =
        Must(Host().name().Extend(Must(Subprincipal::Program(Measurement()))));
    p = Must(p.Extend(Must(Subprincipal::Args(Sha256("args")))));
    return new Principal(std::move(p));
  }();
  return *name;
}

}  // namespace fuzz
}  // namespace tao
