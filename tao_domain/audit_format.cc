#include "tao_domain/audit_format.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/unique_fd.h"

namespace tao {
namespace internal {

std::string EscapeBounded(absl::string_view text, size_t max) {
  std::string escaped = absl::CEscape(text);
  if (escaped.size() <= max) return escaped;
  // Escape character by character until the next one would not fit beside
  // the longest possible suffix.
  const size_t room = max - 32;
  std::string out;
  size_t used = 0;
  for (; used < text.size(); ++used) {
    std::string one = absl::CEscape(text.substr(used, 1));
    if (out.size() + one.size() > room) break;
    out += one;
  }
  absl::StrAppend(&out, "...[cut ", text.size() - used, " bytes]");
  return out;
}

std::string AuditNameDigest(absl::string_view text) {
  return absl::StrCat("sha256:", HexEncode(Sha256(text)));
}

std::string FormatAuditTime(absl::Time time) {
  // 1970-01-01T00:00:00 up to, not including, 10000-01-01T00:00:00, in us.
  constexpr int64_t kEndMicros = int64_t{253402300800} * 1000000;
  // absl::ToUnixMicros rounds down, as FormatTime's %E6S truncates.
  const int64_t us = absl::ToUnixMicros(time);
  if (time < absl::UnixEpoch() || us >= kEndMicros) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", time, absl::UTCTimeZone());
  }
  const int64_t secs = us / 1000000;
  const int64_t micros = us % 1000000;
  const int64_t sod = secs % 86400;
  // Days since 1970-01-01 to a civil date (H. Hinnant's days_from_civil
  // inverse; the era arithmetic needs no negative case here).
  const int64_t z = secs / 86400 + 719468;
  const int64_t era = z / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  std::string out(27, '\0');  // YYYY-MM-DDTHH:MM:SS.ffffffZ
  auto digits = [&out](size_t at, int64_t value, int count) {
    for (int i = count - 1; i >= 0; --i) {
      out[at + static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  digits(0, year, 4);
  out[4] = '-';
  digits(5, month, 2);
  out[7] = '-';
  digits(8, day, 2);
  out[10] = 'T';
  digits(11, sod / 3600, 2);
  out[13] = ':';
  digits(14, sod / 60 % 60, 2);
  out[16] = ':';
  digits(17, sod % 60, 2);
  out[19] = '.';
  digits(20, micros, 6);
  out[26] = 'Z';
  return out;
}

std::string FormatAuditLine(uint64_t seq, absl::Time time,
                            absl::string_view caller,
                            absl::string_view operation,
                            absl::string_view label, absl::string_view verdict,
                            absl::string_view reason, const std::string& prev,
                            std::string* hash) {
  std::string line = absl::StrCat(
      seq, "\t", FormatAuditTime(time), "\t", caller, "\t", operation, "\t",
      label, "\t", verdict, "\t", reason, "\t", HexEncode(prev), "\t");
  *hash = Sha256(absl::StrCat(prev, line));
  absl::StrAppend(&line, HexEncode(*hash), "\n");
  return line;
}

}  // namespace internal

namespace {

constexpr size_t kFields = 9;
constexpr size_t kChunk = 1 << 20;

absl::Status Broken(absl::string_view where, absl::string_view why) {
  return absl::DataLossError(
      absl::StrCat(where, ": ", why, "; the trail was altered"));
}

// Checks one line (no newline). `expect_seq`/`expect_prev` unset: the first
// line of a file. Sets `*hash` to its hash.
absl::Status CheckLine(absl::string_view line, absl::string_view where,
                       const std::optional<uint64_t>& expect_seq,
                       const std::optional<std::string>& expect_prev,
                       uint64_t* seq, std::string* hash) {
  std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
  if (fields.size() != kFields) {
    return Broken(
        where, absl::StrCat("has ", fields.size(), " fields, not ", kFields));
  }
  // A file's first record may continue an older file (Rotate), and a scan
  // from a checkpoint starts at a record whose prev it does not know.
  const bool continues = (!expect_seq.has_value() && fields[3] == "Rotate") ||
                         (expect_seq.has_value() && !expect_prev.has_value());
  const uint64_t want = expect_seq.value_or(1);
  if (!absl::SimpleAtoi(fields[0], seq) || *seq == 0 ||
      (!continues && *seq != want)) {
    return Broken(where, absl::StrCat("sequence number '",
                                      absl::CHexEscape(fields[0].substr(0, 24)),
                                      "' is not ", want));
  }
  std::string prev;
  if (continues) {
    if (fields[7].size() != 2 * kSha256Size) {
      return Broken(where, "does not link to the previous record");
    }
    prev = absl::HexStringToBytes(fields[7]);
  } else {
    prev = expect_prev.value_or(std::string(kSha256Size, '\0'));
  }
  if (fields[7] != HexEncode(prev)) {
    return Broken(where, "does not link to the previous record");
  }
  absl::string_view hashed = line.substr(0, line.size() - fields[8].size());
  *hash = Sha256(absl::StrCat(prev, hashed));
  if (fields[8] != HexEncode(*hash)) {
    return Broken(where, "its hash does not match its contents");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AuditFileScan> ScanAuditFile(int fd, const AuditScanStart& start,
                                            bool allow_torn) {
  AuditFileScan scan;
  scan.end = start.offset;
  scan.last_offset = start.offset;
  std::optional<uint64_t> seq = start.seq;
  std::optional<std::string> prev = start.prev;
  if (prev.has_value()) scan.last_hash = *prev;
  std::string buf;
  size_t consumed = 0;          // of buf
  uint64_t pos = start.offset;  // file offset of buf[0]
  uint64_t line_no = 0;
  bool eof = false;
  while (true) {
    size_t nl = buf.find('\n', consumed);
    if (nl == std::string::npos) {
      if (eof) break;
      buf.erase(0, consumed);
      pos += consumed;
      consumed = 0;
      if (buf.size() > kAuditMaxLine) {
        return Broken(absl::StrCat("audit log line ", line_no + 1),
                      absl::StrCat("is longer than ", kAuditMaxLine, " bytes"));
      }
      size_t have = buf.size();
      buf.resize(have + kChunk);
      ssize_t n;
      do {
        n = ::pread(fd, buf.data() + have, kChunk,
                    static_cast<off_t>(pos + have));
      } while (n < 0 && errno == EINTR);
      if (n < 0) return absl::ErrnoToStatus(errno, "read the audit log");
      buf.resize(have + static_cast<size_t>(n));
      if (n == 0) eof = true;
      continue;
    }
    ++line_no;
    absl::string_view line(buf.data() + consumed, nl - consumed);
    uint64_t got_seq = 0;
    std::string hash;
    absl::Status ok = CheckLine(line, absl::StrCat("audit log line ", line_no),
                                seq, prev, &got_seq, &hash);
    if (!ok.ok()) return ok;
    if (scan.records == 0 && start.first_hash.has_value() &&
        hash != *start.first_hash) {
      return absl::DataLossError(absl::StrCat(
          "record ", got_seq, " is not the checkpointed record (hash ",
          HexEncode(hash), ", the checkpoint remembers ",
          HexEncode(*start.first_hash), "): another or a rewritten chain"));
    }
    if (scan.records == 0) {
      scan.first_seq = got_seq;
      scan.first_hash = hash;
    }
    ++scan.records;
    scan.last_seq = got_seq;
    scan.last_offset = pos + consumed;
    scan.end = pos + nl + 1;
    scan.last_hash = hash;
    seq = got_seq + 1;
    prev = std::move(hash);
    consumed = nl + 1;
  }
  if (consumed < buf.size()) {
    if (!allow_torn) {
      return Broken(absl::StrCat("audit log line ", line_no + 1),
                    "the last record is incomplete (no newline)");
    }
    scan.torn_bytes = buf.size() - consumed;
  }
  if (!prev.has_value() && scan.records == 0) {
    scan.last_hash = std::string(kSha256Size, '\0');
  }
  return scan;
}

absl::StatusOr<uint64_t> FirstSeqOfAuditFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid())
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  char buf[32];
  ssize_t n;
  do {
    n = ::pread(fd.get(), buf, sizeof(buf), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return absl::ErrnoToStatus(errno, absl::StrCat("read ", path));
  absl::string_view head(buf, static_cast<size_t>(n));
  uint64_t seq = 0;
  size_t tab = head.find('\t');
  if (tab == absl::string_view::npos ||
      !absl::SimpleAtoi(head.substr(0, tab), &seq)) {
    return absl::DataLossError(
        absl::StrCat(path, ": the first record has no sequence number"));
  }
  return seq;
}

std::string AuditFilePath(const std::string& path, int index) {
  return index == 0 ? path : absl::StrCat(path, ".", index);
}

}  // namespace tao
