// crash-writer: writes the host's kinds of files forever with the project's
// own functions, so that kill_points_test can SIGKILL it at any moment and
// check what it left. Each mode alternates between two known values
// (crash_values.h); the test checks the file holds exactly one of them.
//
//   crash-writer setup MODE TARGET  prepare the known values and the first
//                                   file (A), then exit 0
//   crash-writer file PATH          WriteFileAtomically(PATH, A), then B, ...
//   crash-writer keys DIR           EncryptHostKeys(keys A), then keys B, each
//                                   written with WriteFileAtomically to
//                                   DIR/host_keys (scrypt {2^10,8,1})
//   crash-writer policy DIR         SignDomainPolicy(A), then B, to
//                                   DIR/policy.signed
//   crash-writer audit PATH         AuditLog::Open(PATH), then Append forever
//   crash-writer sealed PATH        TaoHost::Encrypt(A), then B, to PATH, with
//                                   the host keys in dirname(PATH)
//   crash-writer file-unsafe PATH   like file, but rewrites PATH in place
//                                   (O_TRUNC, then 32 KiB writes each
//                                   followed by fdatasync): the negative
//                                   control, which a kill does tear
//   crash-writer create DIR         LoadOrCreateKeyDirectory(DIR, "host") once,
//                                   then exit 0
//
// If CRASH_WRITER_ACK names a file of sizeof(AckBlock) bytes, the writer maps
// it and records there that it entered its loop and how many writes were
// acknowledged (returned OK). Exit codes: 0 (setup, create), 1 a write
// failed (the message on stderr), 2 usage.
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tao/file_util.h"
#include "tao/key_store.h"
#include "tao/principal.h"
#include "tao/tao_host.h"
#include "tao_domain/audit_log.h"
#include "tao_domain/policy_io.h"
#include "tests/faults/crash_values.h"

namespace tao {
namespace faults {
namespace {

AckBlock* ack = nullptr;

void MapAck() {
  const char* path = std::getenv("CRASH_WRITER_ACK");
  if (path == nullptr) return;
  int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return;
  void* mem = ::mmap(nullptr, sizeof(AckBlock), PROT_READ | PROT_WRITE,
                     MAP_SHARED, fd, 0);
  ::close(fd);
  if (mem != MAP_FAILED) ack = static_cast<AckBlock*>(mem);
}

void Ready() {
  if (ack != nullptr) __atomic_store_n(&ack->ready, 1, __ATOMIC_SEQ_CST);
}

void Acknowledge(uint64_t completed) {
  if (ack != nullptr)
    __atomic_store_n(&ack->completed, completed, __ATOMIC_SEQ_CST);
}

int Fail(absl::string_view what, const absl::Status& status) {
  std::cerr << "crash-writer: " << what << ": " << status << std::endl;
  return 1;
}

std::string Dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

KeyDirectoryOptions KeyDir(const std::string& dir, bool create) {
  KeyDirectoryOptions options;
  options.dir = dir;
  options.basename = std::string(kHostBasename);
  options.passphrase = std::string(kPassphrase);
  options.create_if_missing = create;
  options.scrypt = CheapScrypt();
  return options;
}

absl::StatusOr<HostKeys> LoadRef(const std::string& dir,
                                 absl::string_view name) {
  auto file = ReadFileToString(absl::StrCat(dir, "/", name));
  if (!file.ok()) return file.status();
  return DecryptHostKeys(*file, kPassphrase);
}

// ---- setup ------------------------------------------------------------------

int Setup(const std::string& mode, const std::string& target) {
  if (mode == "file" || mode == "file-unsafe") {
    absl::Status s = WriteFileAtomically(target, ValueA());
    return s.ok() ? 0 : Fail("write A", s);
  }
  if (mode == "keys") {
    for (absl::string_view ref : {kRefA, kRefB}) {
      auto keys = HostKeys::Generate();
      if (!keys.ok()) return Fail("generate", keys.status());
      auto encrypted = EncryptHostKeys(*keys, kPassphrase, CheapScrypt());
      if (!encrypted.ok()) return Fail("encrypt", encrypted.status());
      absl::Status s =
          WriteFileAtomically(absl::StrCat(target, "/", ref), *encrypted);
      if (!s.ok()) return Fail("write ref", s);
      if (ref == kRefA) {
        s = WriteFileAtomically(KeysFilePath(target, kHostBasename),
                                *encrypted);
        if (!s.ok()) return Fail("write keys", s);
      }
    }
    return 0;
  }
  if (mode == "policy") {
    auto key = SigningKey::Generate();
    if (!key.ok()) return Fail("generate", key.status());
    auto pkcs8 = key->ToPkcs8();
    if (!pkcs8.ok()) return Fail("pkcs8", pkcs8.status());
    absl::Status s = WriteFileAtomically(absl::StrCat(target, "/", kPolicyKey),
                                         pkcs8->view());
    if (!s.ok()) return Fail("write key", s);
    auto signed_a = SignDomainPolicy(CrashPolicy(kDomainA, kRulesA), *key);
    if (!signed_a.ok()) return Fail("sign", signed_a.status());
    s = WriteFileAtomically(absl::StrCat(target, "/", kPolicyFile), *signed_a);
    return s.ok() ? 0 : Fail("write policy", s);
  }
  if (mode == "sealed") {
    bool created = false;
    auto keys = LoadOrCreateKeyDirectory(KeyDir(Dir(target), true), &created);
    if (!keys.ok()) return Fail("keys", keys.status());
    Principal name = Principal::ForKey(keys->signing_key.verifying_key());
    auto host = TaoHost::Create(*std::move(keys), name, std::nullopt);
    if (!host.ok()) return Fail("host", host.status());
    auto bundle = (*host)->Encrypt(ValueA(), kSealPolicyA, name);
    if (!bundle.ok()) return Fail("seal", bundle.status());
    absl::Status s = WriteFileAtomically(target, *bundle);
    return s.ok() ? 0 : Fail("write bundle", s);
  }
  if (mode == "audit" || mode == "create") return 0;
  return 2;
}

// ---- the loops --------------------------------------------------------------

int FileLoop(const std::string& path) {
  Ready();
  for (uint64_t n = 0;; ++n) {
    absl::Status s =
        WriteFileAtomically(path, n % 2 == 0 ? ValueB() : ValueA());
    if (!s.ok()) return Fail("write", s);
    Acknowledge(n + 1);
  }
}

// Not atomic on purpose: the file is empty or partial while it is rewritten.
// It writes in kUnsafeChunk pieces and syncs after each, so the file spends
// most of every cycle torn (a sync takes far longer than a write), and the
// negative control's kills land in that window whatever the disk's speed.
constexpr size_t kUnsafeChunk = 32 * 1024;

int UnsafeFileLoop(const std::string& path) {
  Ready();
  for (uint64_t n = 0;; ++n) {
    const std::string& value = n % 2 == 0 ? ValueB() : ValueA();
    int fd =
        ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Fail("open", absl::ErrnoToStatus(errno, path));
    for (size_t done = 0; done < value.size();) {
      const size_t want = std::min(kUnsafeChunk, value.size() - done);
      ssize_t k = ::write(fd, value.data() + done, want);
      if (k <= 0) return Fail("write", absl::ErrnoToStatus(errno, path));
      done += static_cast<size_t>(k);
      ::fdatasync(fd);
    }
    ::close(fd);
    Acknowledge(n + 1);
  }
}

int KeysLoop(const std::string& dir) {
  auto a = LoadRef(dir, kRefA);
  if (!a.ok()) return Fail("load ref A", a.status());
  auto b = LoadRef(dir, kRefB);
  if (!b.ok()) return Fail("load ref B", b.status());
  const std::string path = KeysFilePath(dir, kHostBasename);
  Ready();
  for (uint64_t n = 0;; ++n) {
    auto encrypted =
        EncryptHostKeys(n % 2 == 0 ? *b : *a, kPassphrase, CheapScrypt());
    if (!encrypted.ok()) return Fail("encrypt", encrypted.status());
    absl::Status s = WriteFileAtomically(path, *encrypted);
    if (!s.ok()) return Fail("write", s);
    Acknowledge(n + 1);
  }
}

int PolicyLoop(const std::string& dir) {
  auto pkcs8 = ReadFileToString(absl::StrCat(dir, "/", kPolicyKey));
  if (!pkcs8.ok()) return Fail("read key", pkcs8.status());
  auto key = SigningKey::FromPkcs8(*pkcs8);
  if (!key.ok()) return Fail("parse key", key.status());
  const DomainPolicy a = CrashPolicy(kDomainA, kRulesA);
  const DomainPolicy b = CrashPolicy(kDomainB, kRulesB);
  const std::string path = absl::StrCat(dir, "/", kPolicyFile);
  Ready();
  for (uint64_t n = 0;; ++n) {
    auto signed_policy = SignDomainPolicy(n % 2 == 0 ? b : a, *key);
    if (!signed_policy.ok()) return Fail("sign", signed_policy.status());
    absl::Status s = WriteFileAtomically(path, *signed_policy);
    if (!s.ok()) return Fail("write", s);
    Acknowledge(n + 1);
  }
}

int AuditLoop(const std::string& path) {
  auto log = AuditLog::Open(path);
  if (!log.ok()) return Fail("open", log.status());
  Acknowledge((*log)->records());
  Ready();
  for (uint64_t n = 0;; ++n) {
    AuditRecord record;
    record.time = absl::Now();
    record.caller =
        absl::StrCat("key(ecdsa-p256:crash).Program(sha256:", n, ")");
    record.operation =
        n % 3 == 0 ? "Seal" : (n % 3 == 1 ? "Unseal" : "Execute");
    record.label = n % 2 == 0 ? "" : "label\twith\ttabs";
    record.allowed = n % 2 == 0;
    record.reason = absl::StrCat("rule crash-", n, std::string(n % 200, 'r'));
    absl::Status s = (*log)->Append(record);
    if (!s.ok()) return Fail("append", s);
    Acknowledge((*log)->records());
  }
}

int SealedLoop(const std::string& path) {
  bool created = false;
  auto keys = LoadOrCreateKeyDirectory(KeyDir(Dir(path), false), &created);
  if (!keys.ok()) return Fail("keys", keys.status());
  Principal name = Principal::ForKey(keys->signing_key.verifying_key());
  auto host = TaoHost::Create(*std::move(keys), name, std::nullopt);
  if (!host.ok()) return Fail("host", host.status());
  Ready();
  for (uint64_t n = 0;; ++n) {
    bool b = n % 2 == 0;
    auto bundle = (*host)->Encrypt(b ? ValueB() : ValueA(),
                                   b ? kSealPolicyB : kSealPolicyA, name);
    if (!bundle.ok()) return Fail("seal", bundle.status());
    absl::Status s = WriteFileAtomically(path, *bundle);
    if (!s.ok()) return Fail("write", s);
    Acknowledge(n + 1);
  }
}

int Create(const std::string& dir) {
  Ready();
  bool created = false;
  auto keys = LoadOrCreateKeyDirectory(KeyDir(dir, true), &created);
  if (!keys.ok()) return Fail("create", keys.status());
  Acknowledge(1);
  return 0;
}

int Run(int argc, char** argv) {
  if (argc < 3) return 2;
  const std::string mode = argv[1];
  MapAck();
  if (mode == "setup") return argc == 4 ? Setup(argv[2], argv[3]) : 2;
  const std::string target = argv[2];
  if (mode == "file") return FileLoop(target);
  if (mode == "file-unsafe") return UnsafeFileLoop(target);
  if (mode == "keys") return KeysLoop(target);
  if (mode == "policy") return PolicyLoop(target);
  if (mode == "audit") return AuditLoop(target);
  if (mode == "sealed") return SealedLoop(target);
  if (mode == "create") return Create(target);
  return 2;
}

}  // namespace
}  // namespace faults
}  // namespace tao

int main(int argc, char** argv) { return tao::faults::Run(argc, argv); }
