#include "tao_domain/audit_checkpoint.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tao/crypto.h"
#include "tao/encoding.h"

namespace tao {
namespace {

constexpr absl::string_view kHeader = "tao audit checkpoint 1\n";
constexpr absl::string_view kContext = "tao audit checkpoint v1";
constexpr absl::string_view kSignature = "signature ";

absl::Status Bad(absl::string_view why) {
  return absl::DataLossError(absl::StrCat("audit checkpoint: ", why));
}

}  // namespace

std::string DefaultAuditCheckpointPath(const std::string& trail) {
  return absl::StrCat(trail, ".checkpoint");
}

absl::StatusOr<std::string> SignAuditCheckpoint(const AuditCheckpoint& cp,
                                                const SigningKey& key) {
  std::string body = absl::StrCat(
      kHeader, "records ", cp.records, "\nlast_hash ", HexEncode(cp.last_hash),
      "\nchain ", HexEncode(cp.chain), "\nfile_first_seq ", cp.file_first_seq,
      "\noffset ", cp.offset, "\ntime ",
      absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", cp.time, absl::UTCTimeZone()),
      "\n");
  auto signature = key.Sign(kContext, body);
  if (!signature.ok()) return signature.status();
  return absl::StrCat(body, kSignature, Base64UrlEncode(*signature), "\n");
}

absl::StatusOr<AuditCheckpoint> VerifyAuditCheckpoint(absl::string_view text,
                                                      const VerifyingKey& key) {
  if (!absl::StartsWith(text, kHeader)) return Bad("not a checkpoint");
  size_t sig_at = text.rfind(absl::StrCat("\n", kSignature));
  if (sig_at == absl::string_view::npos || text.back() != '\n') {
    return Bad("no signature");
  }
  absl::string_view body = text.substr(0, sig_at + 1);
  absl::string_view sig_text = text.substr(sig_at + 1 + kSignature.size());
  sig_text.remove_suffix(1);
  auto signature = Base64UrlDecode(sig_text);
  if (!signature.ok()) return Bad("the signature is not base64url");
  if (!key.Verify(kContext, body, *signature).ok()) {
    return Bad(
        "its signature does not verify under the host's key (a forged or "
        "altered checkpoint, or another host's)");
  }
  AuditCheckpoint cp;
  std::vector<absl::string_view> lines =
      absl::StrSplit(body.substr(kHeader.size()), '\n', absl::SkipEmpty());
  int seen = 0;
  for (absl::string_view line : lines) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits(' ', 1));
    bool ok = true;
    if (kv.first == "records") {
      ok = absl::SimpleAtoi(kv.second, &cp.records);
    } else if (kv.first == "last_hash" || kv.first == "chain") {
      std::string raw = absl::HexStringToBytes(kv.second);
      ok = raw.size() == kSha256Size && HexEncode(raw) == kv.second;
      (kv.first == "chain" ? cp.chain : cp.last_hash) = raw;
    } else if (kv.first == "file_first_seq") {
      ok = absl::SimpleAtoi(kv.second, &cp.file_first_seq);
    } else if (kv.first == "offset") {
      ok = absl::SimpleAtoi(kv.second, &cp.offset);
    } else if (kv.first == "time") {
      std::string err;
      ok = absl::ParseTime("%Y-%m-%dT%H:%M:%E*SZ", kv.second, &cp.time, &err);
    } else {
      continue;  // a later version's field
    }
    if (!ok) return Bad(absl::StrCat("bad ", kv.first));
    ++seen;
  }
  if (seen < 6) return Bad("a field is missing");
  return cp;
}

}  // namespace tao
