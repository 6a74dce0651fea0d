// In-process benchmark of the tao core (seal, unseal, attest, verify) against
// raw OpenSSL EVP baselines doing the same cryptographic work, in one binary
// and one run. After Google Benchmark's normal output it prints a table of the
// median real time of each tao operation beside its raw baseline and the
// ratio, with the goals of the performance issue: the core within 1.3x of raw
// OpenSSL for sealing 1 MiB and for signing. bench/README.md explains the rows.
//
// Usage:
//   tao_core_bench [--breakdown] [benchmark flags...]
//   taskset -c 1 tao_core_bench        # pinned to one CPU
// --benchmark_repetitions defaults to 5 here; --breakdown adds micro-benchmarks
// of the pieces inside Seal/Unseal/Attest/Verify (not part of the table).

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "tao/attestation.h"
#include "tao/attestation.pb.h"
#include "tao/clock.h"
#include "tao/crypto.h"
#include "tao/key_store.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao/sealed_bundle.h"
#include "tao/secret_string.h"
#include "tao/tao_host.h"

namespace {

constexpr size_t kSmall = 32;
constexpr size_t kLarge = size_t{1} << 20;
constexpr size_t kGcmKeySize = 32;
constexpr size_t kGcmIvSize = 12;
constexpr size_t kGcmTagSize = 16;
constexpr size_t kSignMessageSize = 100;
constexpr int kDefaultRepetitions = 5;
// Repetitions spreading more than this (coefficient of variation) are flagged.
constexpr double kNoisyCv = 0.05;

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "tao_core_bench: setup failed: " << what << std::endl;
  std::exit(1);
}

void CheckOk(const absl::Status& status, const char* what) {
  if (!status.ok()) Die(std::string(what) + ": " + status.ToString());
}

// SkipWithError takes a C string; keep the text alive for the whole run.
void Fail(benchmark::State& state, const absl::Status& status) {
  static std::string message;
  message = status.ToString();
  state.SkipWithError(message.c_str());
}

// ---------------------------------------------------------------------------
// Shared inputs, made once before any benchmark runs.

struct Inputs {
  std::string plaintext;  // kLarge random bytes; the small cases use a prefix
};

struct TaoEnv {
  std::unique_ptr<tao::TaoHost> host;
  // The sealer and attesting speaker: a hosted program under the host, as the
  // listen loop would pass (host name + Program(sha256:...)).
  std::optional<tao::Principal> program;
  std::string policy;
  tao::Statement statement;  // a predicate with a validity window
  tao::Attestation attestation;
  tao::RealClock clock;
  std::unique_ptr<tao::AttestationVerifier> verifier;
  std::string bundle_small;
  std::string bundle_large;
};

struct RawEnv {
  EVP_CIPHER* gcm = nullptr;  // fetched once
  unsigned char key[kGcmKeySize];
  // Fixed ciphertexts for the decrypt baselines.
  struct Sealed {
    unsigned char iv[kGcmIvSize];
    std::vector<unsigned char> ciphertext;
    unsigned char tag[kGcmTagSize];
  };
  Sealed small;
  Sealed large;
  EVP_PKEY* ec_key = nullptr;  // P-256
  unsigned char message[kSignMessageSize];
  std::vector<unsigned char> signature;
  size_t max_signature_size = 0;
};

Inputs* g_inputs = nullptr;
TaoEnv* g_tao = nullptr;
RawEnv* g_raw = nullptr;

// ---------------------------------------------------------------------------
// Raw OpenSSL baselines: the careful, direct EVP use a program would write
// without tao. Fresh context per operation, cipher fetched once.

bool RawGcmEncrypt(const EVP_CIPHER* cipher, const unsigned char* key,
                   const unsigned char* in, size_t len, unsigned char* iv,
                   unsigned char* out, unsigned char* tag) {
  if (RAND_bytes(iv, kGcmIvSize) != 1) return false;  // fresh IV per message
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return false;
  int outl = 0;
  int finl = 0;
  bool ok =
      EVP_EncryptInit_ex2(ctx, cipher, key, iv, nullptr) == 1 &&
      EVP_EncryptUpdate(ctx, out, &outl, in, static_cast<int>(len)) == 1 &&
      EVP_EncryptFinal_ex(ctx, out + outl, &finl) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
                          static_cast<int>(kGcmTagSize), tag) == 1;
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

bool RawGcmDecrypt(const EVP_CIPHER* cipher, const unsigned char* key,
                   const unsigned char* iv, const unsigned char* in, size_t len,
                   const unsigned char* tag, unsigned char* out) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return false;
  int outl = 0;
  int finl = 0;
  bool ok =
      EVP_DecryptInit_ex2(ctx, cipher, key, iv, nullptr) == 1 &&
      EVP_DecryptUpdate(ctx, out, &outl, in, static_cast<int>(len)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
                          static_cast<int>(kGcmTagSize),
                          const_cast<unsigned char*>(tag)) == 1 &&
      EVP_DecryptFinal_ex(ctx, out + outl, &finl) == 1;
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

bool RawEcdsaSign(EVP_PKEY* key, const unsigned char* msg, size_t len,
                  unsigned char* sig, size_t* sig_len) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestSign(ctx, sig, sig_len, msg, len) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

bool RawEcdsaVerify(EVP_PKEY* key, const unsigned char* msg, size_t len,
                    const unsigned char* sig, size_t sig_len) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// ---------------------------------------------------------------------------
// Setup

void SetUp() {
  g_inputs = new Inputs;
  g_inputs->plaintext.resize(kLarge);
  CheckOk(tao::FillRandom(g_inputs->plaintext.data(), kLarge), "plaintext");

  // Tao host, as the brief's callers make it.
  g_tao = new TaoEnv;
  TaoEnv& t = *g_tao;
  auto keys = tao::HostKeys::Generate();
  CheckOk(keys.status(), "HostKeys::Generate");
  tao::Principal host_name =
      tao::Principal::ForKey(keys->signing_key.verifying_key());
  auto host = tao::TaoHost::Create(*std::move(keys), host_name, std::nullopt);
  CheckOk(host.status(), "TaoHost::Create");
  t.host = *std::move(host);

  auto program =
      tao::Subprincipal::Program(tao::Sha256("hosted program binary"));
  CheckOk(program.status(), "Subprincipal::Program");
  auto program_name = t.host->name().Extend(*program);
  CheckOk(program_name.status(), "Principal::Extend");
  t.program = *std::move(program_name);
  t.policy = "same-program";

  int64_t now = absl::ToUnixSeconds(absl::Now());
  t.statement.set_not_before(now - 60);
  t.statement.set_not_after(now + 24 * 3600);
  t.statement.mutable_predicate()->set_name("BenchmarkPredicate");
  t.statement.mutable_predicate()->add_args("arg-one");
  t.statement.mutable_predicate()->add_args("arg-two");

  auto attestation = t.host->Attest(*t.program, t.statement);
  CheckOk(attestation.status(), "TaoHost::Attest");
  t.attestation = *std::move(attestation);
  t.verifier = std::make_unique<tao::AttestationVerifier>(
      std::vector<tao::VerifyingKey>{t.host->signing_public_key()}, t.clock);
  CheckOk(t.verifier->Verify(t.attestation).status(),
          "AttestationVerifier::Verify");

  absl::string_view pt(g_inputs->plaintext);
  auto small = t.host->Encrypt(pt.substr(0, kSmall), t.policy, *t.program);
  CheckOk(small.status(), "TaoHost::Encrypt 32 B");
  t.bundle_small = *std::move(small);
  auto large = t.host->Encrypt(pt, t.policy, *t.program);
  CheckOk(large.status(), "TaoHost::Encrypt 1 MiB");
  t.bundle_large = *std::move(large);
  auto opened = t.host->Decrypt(t.bundle_large);
  CheckOk(opened.status(), "TaoHost::Decrypt");
  if (opened->data.view() != pt) Die("TaoHost::Decrypt returned other bytes");

  // Raw OpenSSL.
  g_raw = new RawEnv;
  RawEnv& r = *g_raw;
  r.gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (r.gcm == nullptr) Die("EVP_CIPHER_fetch AES-256-GCM");
  if (RAND_bytes(r.key, sizeof(r.key)) != 1) Die("RAND_bytes key");
  const auto* in =
      reinterpret_cast<const unsigned char*>(g_inputs->plaintext.data());
  for (auto [sealed, len] :
       {std::pair{&r.small, kSmall}, std::pair{&r.large, kLarge}}) {
    sealed->ciphertext.resize(len);
    if (!RawGcmEncrypt(r.gcm, r.key, in, len, sealed->iv,
                       sealed->ciphertext.data(), sealed->tag)) {
      Die("raw AES-256-GCM encrypt");
    }
    std::vector<unsigned char> back(len);
    if (!RawGcmDecrypt(r.gcm, r.key, sealed->iv, sealed->ciphertext.data(), len,
                       sealed->tag, back.data()) ||
        std::memcmp(back.data(), in, len) != 0) {
      Die("raw AES-256-GCM decrypt");
    }
  }
  r.ec_key = EVP_EC_gen("P-256");
  if (r.ec_key == nullptr) Die("EVP_EC_gen");
  if (RAND_bytes(r.message, sizeof(r.message)) != 1) Die("RAND_bytes message");
  r.max_signature_size = static_cast<size_t>(EVP_PKEY_get_size(r.ec_key));
  r.signature.resize(r.max_signature_size);
  size_t sig_len = r.signature.size();
  if (!RawEcdsaSign(r.ec_key, r.message, sizeof(r.message), r.signature.data(),
                    &sig_len)) {
    Die("raw ECDSA sign");
  }
  r.signature.resize(sig_len);
  if (!RawEcdsaVerify(r.ec_key, r.message, sizeof(r.message),
                      r.signature.data(), r.signature.size())) {
    Die("raw ECDSA verify");
  }
}

// ---------------------------------------------------------------------------
// Tao core benchmarks

void BM_TaoSeal(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const TaoEnv& t = *g_tao;
  absl::string_view data(g_inputs->plaintext.data(), n);
  for (auto _ : state) {
    absl::StatusOr<std::string> sealed =
        t.host->Encrypt(data, t.policy, *t.program);
    if (!sealed.ok()) {
      Fail(state, sealed.status());
      break;
    }
    benchmark::DoNotOptimize(sealed->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(n));
}
BENCHMARK(BM_TaoSeal)->Arg(kSmall)->Arg(kLarge);

void BM_TaoUnseal(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const TaoEnv& t = *g_tao;
  const std::string& bundle = n == kSmall ? t.bundle_small : t.bundle_large;
  for (auto _ : state) {
    // The Unsealed (and the wipe of its SecretString) dies inside the loop,
    // as it would in a caller.
    absl::StatusOr<tao::Unsealed> opened = t.host->Decrypt(bundle);
    if (!opened.ok()) {
      Fail(state, opened.status());
      break;
    }
    benchmark::DoNotOptimize(opened->data.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(n));
}
BENCHMARK(BM_TaoUnseal)->Arg(kSmall)->Arg(kLarge);

void BM_TaoAttest(benchmark::State& state) {
  const TaoEnv& t = *g_tao;
  for (auto _ : state) {
    absl::StatusOr<tao::Attestation> att =
        t.host->Attest(*t.program, t.statement);
    if (!att.ok()) {
      Fail(state, att.status());
      break;
    }
    benchmark::DoNotOptimize(att->signature().data());
  }
}
BENCHMARK(BM_TaoAttest);

void BM_TaoVerify(benchmark::State& state) {
  const TaoEnv& t = *g_tao;
  for (auto _ : state) {
    absl::StatusOr<tao::VerifiedStatement> v =
        t.verifier->Verify(t.attestation);
    if (!v.ok()) {
      Fail(state, v.status());
      break;
    }
    benchmark::DoNotOptimize(v->delegations);
  }
}
BENCHMARK(BM_TaoVerify);

// ---------------------------------------------------------------------------
// Raw OpenSSL baselines

void BM_RawGcmEncrypt(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const RawEnv& r = *g_raw;
  const auto* in =
      reinterpret_cast<const unsigned char*>(g_inputs->plaintext.data());
  std::vector<unsigned char> out(n);  // the caller's buffer, reused
  unsigned char iv[kGcmIvSize];
  unsigned char tag[kGcmTagSize];
  for (auto _ : state) {
    if (!RawGcmEncrypt(r.gcm, r.key, in, n, iv, out.data(), tag)) {
      state.SkipWithError("raw AES-256-GCM encrypt failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(tag);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(n));
}
BENCHMARK(BM_RawGcmEncrypt)->Arg(kSmall)->Arg(kLarge);

void BM_RawGcmDecrypt(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const RawEnv& r = *g_raw;
  const RawEnv::Sealed& sealed = n == kSmall ? r.small : r.large;
  std::vector<unsigned char> out(n);
  for (auto _ : state) {
    if (!RawGcmDecrypt(r.gcm, r.key, sealed.iv, sealed.ciphertext.data(), n,
                       sealed.tag, out.data())) {
      state.SkipWithError("raw AES-256-GCM decrypt failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(n));
}
BENCHMARK(BM_RawGcmDecrypt)->Arg(kSmall)->Arg(kLarge);

void BM_RawEcdsaSign(benchmark::State& state) {
  const RawEnv& r = *g_raw;
  std::vector<unsigned char> sig(r.max_signature_size);
  for (auto _ : state) {
    size_t sig_len = sig.size();
    if (!RawEcdsaSign(r.ec_key, r.message, sizeof(r.message), sig.data(),
                      &sig_len)) {
      state.SkipWithError("raw ECDSA sign failed");
      break;
    }
    benchmark::DoNotOptimize(sig_len);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_RawEcdsaSign);

void BM_RawEcdsaVerify(benchmark::State& state) {
  const RawEnv& r = *g_raw;
  for (auto _ : state) {
    if (!RawEcdsaVerify(r.ec_key, r.message, sizeof(r.message),
                        r.signature.data(), r.signature.size())) {
      state.SkipWithError("raw ECDSA verify failed");
      break;
    }
  }
}
BENCHMARK(BM_RawEcdsaVerify);

// ---------------------------------------------------------------------------
// --breakdown: the pieces inside the tao operations, to explain the ratios.

template <typename T>
bool KeepOk(benchmark::State& state, const absl::StatusOr<T>& v) {
  if (!v.ok()) {
    Fail(state, v.status());
    return false;
  }
  benchmark::DoNotOptimize(&*v);
  return true;
}

void RegisterBreakdown() {
  using benchmark::RegisterBenchmark;
  using benchmark::State;

  // Seal: nonce + HKDF(key, iv) + header + output allocation + AES-GCM w/ AAD.
  RegisterBenchmark("breakdown/FillRandom_nonce32", [](State& state) {
    char nonce[tao::kSealNonceSize];
    for (auto _ : state) {
      absl::Status s = tao::FillRandom(nonce, sizeof(nonce));
      if (!s.ok()) {
        Fail(state, s);
        break;
      }
      benchmark::DoNotOptimize(nonce);
    }
  });
  RegisterBenchmark("breakdown/HkdfSha256_key_iv", [](State& state) {
    const std::string secret(32, 's');
    const std::string salt(tao::kSealNonceSize, 'n');
    for (auto _ : state) {
      if (!KeepOk(state, tao::HkdfSha256(secret, salt, tao::kSealKdfInfo,
                                         kGcmKeySize + kGcmIvSize))) {
        break;
      }
    }
  });
  RegisterBenchmark("breakdown/ParseSealedBundle", [](State& state) {
    for (auto _ : state) {
      if (!KeepOk(state, tao::ParseSealedBundle(g_tao->bundle_small))) break;
    }
  });
  for (size_t n : {kSmall, kLarge}) {
    // tao's own AES-GCM wrapper with the real bundle header as AAD, into a
    // reused buffer: the encryption Seal does minus HKDF and allocation.
    RegisterBenchmark("breakdown/tao_AesGcmEncrypt_headerAAD", [](State&
                                                                      state) {
      const size_t len = static_cast<size_t>(state.range(0));
      auto view = tao::ParseSealedBundle(g_tao->bundle_small);
      const std::string aad(view->associated_data);
      const std::string key(kGcmKeySize, 'k');
      const std::string iv(kGcmIvSize, 'i');
      std::string out(len, '\0');
      char tag[kGcmTagSize];
      for (auto _ : state) {
        absl::Status s = tao::AesGcmEncrypt(
            key, iv, aad, g_inputs->plaintext.data(), len, out.data(), tag);
        if (!s.ok()) {
          Fail(state, s);
          break;
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
      }
      state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                              static_cast<int64_t>(len));
    })->Arg(static_cast<int64_t>(n));
    // The output allocation pattern of Seal: reserve + resize (zero fill).
    RegisterBenchmark("breakdown/string_reserve_resize", [](State& state) {
      const size_t len = static_cast<size_t>(state.range(0));
      for (auto _ : state) {
        std::string out;
        out.reserve(len + 400);
        out.resize(len + 300);
        benchmark::DoNotOptimize(out.data());
      }
    })->Arg(static_cast<int64_t>(n));
    // Unseal's plaintext buffer: SecretString(n) zero fill + wipe on destroy.
    RegisterBenchmark("breakdown/SecretString_alloc_wipe", [](State& state) {
      const size_t len = static_cast<size_t>(state.range(0));
      for (auto _ : state) {
        tao::SecretString s(len);
        benchmark::DoNotOptimize(s.data());
      }
    })->Arg(static_cast<int64_t>(n));
  }

  // Attest / Verify / Unseal: name parsing, key decoding, signing.
  RegisterBenchmark("breakdown/Principal_Parse_program", [](State& state) {
    const std::string text = g_tao->program->text();
    for (auto _ : state) {
      if (!KeepOk(state, tao::Principal::Parse(text))) break;
    }
  });
  RegisterBenchmark("breakdown/VerifyingKey_FromSpki", [](State& state) {
    const std::string spki = g_tao->host->signing_public_key().spki();
    for (auto _ : state) {
      if (!KeepOk(state, tao::VerifyingKey::FromSpki(spki))) break;
    }
  });
  RegisterBenchmark("breakdown/raw_d2i_PUBKEY", [](State& state) {
    const std::string spki = g_tao->host->signing_public_key().spki();
    for (auto _ : state) {
      const auto* p = reinterpret_cast<const unsigned char*>(spki.data());
      EVP_PKEY* key =
          d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));  // NOLINT
      if (key == nullptr) {
        state.SkipWithError("d2i_PUBKEY");
        break;
      }
      EVP_PKEY_free(key);
    }
  });
  RegisterBenchmark("breakdown/raw_i2d_PUBKEY", [](State& state) {
    for (auto _ : state) {
      unsigned char* buf = nullptr;
      int len = i2d_PUBKEY(g_raw->ec_key, &buf);
      if (len <= 0) {
        state.SkipWithError("i2d_PUBKEY");
        break;
      }
      OPENSSL_free(buf);
    }
  });
  RegisterBenchmark("breakdown/Principal_ForKey", [](State& state) {
    const tao::VerifyingKey& key = g_tao->host->signing_public_key();
    for (auto _ : state) {
      tao::Principal p = tao::Principal::ForKey(key);
      benchmark::DoNotOptimize(p.text().data());
    }
  });
  RegisterBenchmark("breakdown/Statement_copy_serialize", [](State& state) {
    for (auto _ : state) {
      tao::Statement s = g_tao->statement;
      s.set_speaker(g_tao->program->text());
      std::string bytes;
      s.SerializeToString(&bytes);
      benchmark::DoNotOptimize(bytes.data());
    }
  });
  RegisterBenchmark("breakdown/SigningKey_Sign_statement", [](State& state) {
    static auto key = tao::SigningKey::Generate();
    const std::string& bytes = g_tao->attestation.serialized_statement();
    for (auto _ : state) {
      if (!KeepOk(state, key->Sign(tao::kAttestationContext, bytes))) break;
    }
  });
  RegisterBenchmark(
      "breakdown/VerifyingKey_Verify_statement", [](State& state) {
        const tao::Attestation& a = g_tao->attestation;
        const tao::VerifyingKey& key = g_tao->host->signing_public_key();
        for (auto _ : state) {
          absl::Status s = key.Verify(tao::kAttestationContext,
                                      a.serialized_statement(), a.signature());
          if (!s.ok()) {
            Fail(state, s);
            break;
          }
        }
      });
}

// ---------------------------------------------------------------------------
// Reporting

// Prints the usual console output and keeps the median real time (in ns) of
// each benchmark, or its only run when there is one repetition.
class MedianReporter : public benchmark::ConsoleReporter {
 public:
  explicit MedianReporter(OutputOptions options) : ConsoleReporter(options) {}

  void ReportRuns(const std::vector<Run>& reports) override {
    ConsoleReporter::ReportRuns(reports);
    for (const Run& run : reports) {
      if (run.error_occurred) continue;
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "cv") {
        // Coefficient of variation across repetitions, as a fraction.
        cvs_[KeyOf(run)] = run.real_accumulated_time;
        continue;
      }
      bool keep = run.run_type == Run::RT_Aggregate
                      ? run.aggregate_name == "median"
                      : run.repetitions <= 1;
      if (!keep) continue;
      const std::string key = KeyOf(run);
      double ns = run.GetAdjustedRealTime() /
                  benchmark::GetTimeUnitMultiplier(run.time_unit) * 1e9;
      medians_[key] = ns;
      repetitions_ = std::max<int64_t>(repetitions_, run.repetitions);
    }
  }

  std::optional<double> MedianNs(const std::string& key) const {
    auto it = medians_.find(key);
    if (it == medians_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<double> Cv(const std::string& key) const {
    auto it = cvs_.find(key);
    if (it == cvs_.end()) return std::nullopt;
    return it->second;
  }
  int64_t repetitions() const { return repetitions_; }

 private:
  static std::string KeyOf(const Run& run) {
    std::string key = run.run_name.function_name;
    if (!run.run_name.args.empty()) key += "/" + run.run_name.args;
    return key;
  }

  std::map<std::string, double> medians_;
  std::map<std::string, double> cvs_;
  int64_t repetitions_ = 0;
};

std::string FormatTime(double ns) {
  char buf[32];
  if (ns < 1e3) {
    std::snprintf(buf, sizeof(buf), "%.1f ns", ns);
  } else if (ns < 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2f us", ns / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.3f ms", ns / 1e6);
  }
  return buf;
}

std::string AffinityText() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    return std::string("CPU affinity: unknown (sched_getaffinity: ") +
           std::strerror(errno) + ")";
  }
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  std::vector<int> cpus;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) cpus.push_back(i);
  }
  const std::string of =
      std::to_string(cpus.size()) + " of " + std::to_string(online);
  if (cpus.size() == 1) {
    return "CPU affinity: pinned to CPU " + std::to_string(cpus[0]) + " (" +
           of + " online CPUs)";
  }
  if (online > 0 && static_cast<long>(cpus.size()) < online) {
    std::string list;
    for (int c : cpus) list += (list.empty() ? "" : ",") + std::to_string(c);
    return "CPU affinity: pinned to CPUs " + list + " (" + of + " online CPUs)";
  }
  return "CPU affinity: " + of + " CPUs (not pinned)";
}

void PrintSummary(const MedianReporter& reporter) {
  const std::string small = "/" + std::to_string(kSmall);
  const std::string large = "/" + std::to_string(kLarge);
  // operation, tao benchmark, raw benchmark, bytes (nonzero: print
  // throughput), goal ratio (nonzero: the goal).
  const std::vector<
      std::tuple<std::string, std::string, std::string, size_t, double>>
      rows = {
          {"Seal 32 B vs GCM encrypt 32 B", "BM_TaoSeal" + small,
           "BM_RawGcmEncrypt" + small, 0, 0},
          {"Seal 1 MiB vs GCM encrypt 1 MiB", "BM_TaoSeal" + large,
           "BM_RawGcmEncrypt" + large, kLarge, 1.3},
          {"Unseal 32 B vs GCM decrypt 32 B", "BM_TaoUnseal" + small,
           "BM_RawGcmDecrypt" + small, 0, 0},
          {"Unseal 1 MiB vs GCM decrypt 1 MiB", "BM_TaoUnseal" + large,
           "BM_RawGcmDecrypt" + large, kLarge, 0},
          {"Attest vs ECDSA P-256 sign", "BM_TaoAttest", "BM_RawEcdsaSign", 0,
           1.3},
          {"Verify vs ECDSA P-256 verify", "BM_TaoVerify", "BM_RawEcdsaVerify",
           0, 0},
      };

  std::ostream& out = std::cout;
  out << "\n=== tao core vs raw OpenSSL: median real time of "
      << reporter.repetitions() << " repetition(s) ===\n";
  out << OpenSSL_version(OPENSSL_VERSION) << "\n";
  out << AffinityText() << "\n\n";

  char line[512];
  const char* fmt = "%-35s | %12s | %18s | %15s | %-16s | %10s | %10s\n";
  std::snprintf(line, sizeof(line), fmt, "operation", "tao median",
                "raw openssl median", "ratio (tao/raw)", "goal", "tao MB/s",
                "raw MB/s");
  out << line;
  out << std::string(std::strlen(line) - 1, '-') << "\n";
  std::vector<std::string> misses;
  std::vector<std::string>
      unevaluated;  // a goal row whose benchmarks did not run
  bool any_noisy = false;
  for (const auto& [operation, tao_key, raw_key, bytes, goal] : rows) {
    std::optional<double> tao_ns = reporter.MedianNs(tao_key);
    std::optional<double> raw_ns = reporter.MedianNs(raw_key);
    // A '*' marks a median whose repetitions spread by more than kNoisyCv.
    auto noisy = [&reporter, &any_noisy](const std::string& key) {
      std::optional<double> cv = reporter.Cv(key);
      bool is_noisy = cv.has_value() && *cv > kNoisyCv;
      any_noisy = any_noisy || is_noisy;
      return is_noisy ? "*" : "";
    };
    std::string tao_text =
        tao_ns ? FormatTime(*tao_ns) + noisy(tao_key) : "n/a";
    std::string raw_text =
        raw_ns ? FormatTime(*raw_ns) + noisy(raw_key) : "n/a";
    std::string ratio_text = "n/a";
    std::string goal_text = "-";
    if (tao_ns && raw_ns && *raw_ns > 0) {
      double ratio = *tao_ns / *raw_ns;
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.2fx", ratio);
      ratio_text = buf;
      if (goal > 0) {
        bool met = ratio <= goal;
        std::snprintf(buf, sizeof(buf), "<= %.1fx (%s)", goal,
                      met ? "met" : "MISSED");
        goal_text = buf;
        if (!met) misses.push_back(operation);
      }
    } else if (goal > 0) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "<= %.1fx (n/a)", goal);
      goal_text = buf;
      unevaluated.push_back(operation);
    }
    std::string tao_mbs = "-";
    std::string raw_mbs = "-";
    if (bytes > 0) {
      char buf[32];
      if (tao_ns) {
        std::snprintf(buf, sizeof(buf), "%.0f",
                      static_cast<double>(bytes) / *tao_ns * 1e3);
        tao_mbs = buf;
      }
      if (raw_ns) {
        std::snprintf(buf, sizeof(buf), "%.0f",
                      static_cast<double>(bytes) / *raw_ns * 1e3);
        raw_mbs = buf;
      }
    }
    std::snprintf(line, sizeof(line), fmt, operation.c_str(), tao_text.c_str(),
                  raw_text.c_str(), ratio_text.c_str(), goal_text.c_str(),
                  tao_mbs.c_str(), raw_mbs.c_str());
    out << line;
  }
  out << "\nMB/s = 10^6 bytes of plaintext per second, from the median time.\n";
  if (any_noisy) {
    out << "* repetitions of this benchmark varied by more than "
        << static_cast<int>(kNoisyCv * 100)
        << "% (coefficient of variation): the machine was busy; rerun, pinned "
           "with taskset -c N on an idle CPU.\n";
  }
  auto print_list = [&out](const char* title,
                           const std::vector<std::string>& list) {
    out << title;
    for (size_t i = 0; i < list.size(); ++i) out << (i ? "; " : "") << list[i];
    out << "\n";
  };
  if (!misses.empty()) print_list("Goals MISSED: ", misses);
  if (!unevaluated.empty()) {
    print_list("Goals not evaluated (a benchmark was filtered out or failed): ",
               unevaluated);
  }
  if (misses.empty() && unevaluated.empty()) out << "Goals: all met.\n";
  out << std::flush;
}

}  // namespace

int main(int argc, char** argv) {
  // Default --benchmark_repetitions=5 unless given; take our own --breakdown.
  std::vector<char*> args;
  bool has_repetitions = false;
  bool breakdown = false;
  for (int i = 0; i < argc; ++i) {
    absl::string_view arg(argv[i]);
    if (i > 0 && arg == "--breakdown") {
      breakdown = true;
      continue;
    }
    if (arg.substr(0, 24) == "--benchmark_repetitions=" ||
        arg == "--benchmark_repetitions") {
      has_repetitions = true;
    }
    args.push_back(argv[i]);
  }
  static char default_repetitions[64];
  std::snprintf(default_repetitions, sizeof(default_repetitions),
                "--benchmark_repetitions=%d", kDefaultRepetitions);
  if (!has_repetitions) args.insert(args.begin() + 1, default_repetitions);
  int new_argc = static_cast<int>(args.size());
  args.push_back(nullptr);

  benchmark::Initialize(&new_argc, args.data());
  if (benchmark::ReportUnrecognizedArguments(new_argc, args.data())) return 1;

  SetUp();
  if (breakdown) RegisterBreakdown();

  auto options = benchmark::ConsoleReporter::OO_Tabular;
  if (isatty(STDOUT_FILENO))
    options = benchmark::ConsoleReporter::OO_ColorTabular;
  MedianReporter reporter(options);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  PrintSummary(reporter);
  benchmark::Shutdown();
  return 0;
}
