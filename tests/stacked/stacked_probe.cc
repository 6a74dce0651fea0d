// stacked-probe: a helper of the stacked-host tests and benchmark.
//
//   stacked-probe attest-for SPEAKER DELEGATOR   (a hosted program) asks its
//       host to attest "SPEAKER says key(fresh) speaksfor DELEGATOR"; an
//       empty SPEAKER ("") is the caller, DELEGATOR "self" its name. Prints
//       "attested" or "refused: ..".
//   stacked-probe tamper IN OUT DEPTH PART       flips the last byte of link
//       DEPTH's (0: the leaf) PART, statement or signature, of IN into OUT.
//   stacked-probe seal-loop N                    (a hosted program) seals 32
//       bytes N times, prints "seal_ns_per_call <median of 5 rounds>".
//
// Exit codes: 0 done, 1 refused, 2 usage, 3 other failure.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "channels/rpc_tao.h"
#include "tao/file_util.h"
#include "tao/keys.h"

namespace {

int AttestFor(const std::string& speaker, const std::string& delegator) {
  auto tao = tao::TaoFromEnvironment();
  if (!tao.ok()) {
    std::cout << "error: " << tao.status() << "\n";
    return 3;
  }
  auto key = tao::SigningKey::Generate();
  if (!key.ok()) return 3;
  std::string whom = delegator;
  if (whom == "self") {
    auto name = (*tao)->GetTaoName();
    if (!name.ok()) return 3;
    whom = name->text();
  }
  tao::Statement s;
  if (!speaker.empty()) s.set_speaker(speaker);
  s.mutable_delegation()->set_delegate(
      tao::Principal::ForKey(key->verifying_key()).text());
  s.mutable_delegation()->set_delegator(whom);
  auto a = (*tao)->Attest(s);
  if (!a.ok()) {
    std::cout << "refused: " << a.status() << "\n";
    return a.status().code() == absl::StatusCode::kPermissionDenied ? 1 : 3;
  }
  std::cout << "attested\n";
  return 0;
}

int Tamper(const std::string& in, const std::string& out, int depth,
           const std::string& part) {
  auto bytes = tao::ReadFileToString(in);
  tao::Attestation a;
  if (!bytes.ok() || !a.ParseFromString(*bytes)) return 3;
  tao::Attestation* link = &a;
  for (int i = 0; i < depth; ++i) {
    if (!link->has_delegation()) {
      std::cerr << "no link " << depth << "\n";
      return 2;
    }
    link = link->mutable_delegation();
  }
  std::string* target = part == "statement"
                            ? link->mutable_serialized_statement()
                            : link->mutable_signature();
  if (target->empty()) return 3;
  (*target)[target->size() - 1] ^= 0x01;
  return tao::WriteFileAtomically(out, a.SerializeAsString(), 0644).ok() ? 0
                                                                         : 3;
}

int SealLoop(int n) {
  auto tao = tao::TaoFromEnvironment();
  if (!tao.ok()) return 3;
  const std::string data(32, 'x');
  std::vector<double> rounds;
  for (int round = 0; round < 5; ++round) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      auto sealed = (*tao)->Seal(data, "");
      if (!sealed.ok()) {
        std::cout << "refused: " << sealed.status() << "\n";
        return 1;
      }
    }
    std::chrono::duration<double, std::nano> took =
        std::chrono::steady_clock::now() - start;
    rounds.push_back(took.count() / n);
  }
  std::sort(rounds.begin(), rounds.end());
  std::cout << "seal_ns_per_call " << rounds[rounds.size() / 2] << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "attest-for") {
    return AttestFor(args[1], args[2]);
  }
  if (args.size() == 5 && args[0] == "tamper") {
    return Tamper(args[1], args[2], std::stoi(args[3]), args[4]);
  }
  if (args.size() == 2 && args[0] == "seal-loop") {
    return SealLoop(std::stoi(args[1]));
  }
  std::cerr << "usage: see the comment at the top of stacked_probe.cc\n";
  return 2;
}
