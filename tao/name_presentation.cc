#include "tao/name_presentation.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tao/crypto.h"

namespace tao {
namespace {

constexpr absl::string_view kKeyPrefix = "key(ecdsa-p256:";
constexpr absl::string_view kTpm2Prefix = "tpm2(ecdsa-p256:";

// Finds `key(` and `tpm2(` name starts in increasing order. Each prefix is
// searched again only once the scan passes its last hit, so a whole scan
// is linear in the text's length.
class RootFinder {
 public:
  explicit RootFinder(absl::string_view text) : text_(text) {}
  // The first name start at or after `from`.
  size_t Next(size_t from) {
    if (key_ != absl::string_view::npos && (key_ < from || !key_valid_)) {
      key_ = text_.find(kKeyPrefix, from);
      key_valid_ = true;
    }
    if (tpm2_ != absl::string_view::npos && (tpm2_ < from || !tpm2_valid_)) {
      tpm2_ = text_.find(kTpm2Prefix, from);
      tpm2_valid_ = true;
    }
    return std::min(key_, tpm2_);
  }

 private:
  absl::string_view text_;
  size_t key_ = 0;
  size_t tpm2_ = 0;
  bool key_valid_ = false;
  bool tpm2_valid_ = false;
};
constexpr absl::string_view kEllipsis = "...";
constexpr size_t kMeasurementHexShown = 12;
constexpr size_t kArgsHexShown = 8;
constexpr size_t kProductShown = 32;
constexpr size_t kExtArgumentCut = 40;
constexpr size_t kExtArgumentShown = 32;

// `text` if it has at most `limit` characters, else its first `shown` and
// "...".
std::string Cut(absl::string_view text, size_t limit, size_t shown) {
  if (text.size() <= limit) return std::string(text);
  return absl::StrCat(text.substr(0, shown), kEllipsis);
}

// `sha256:<hex>` cut to `hex_shown` digits.
std::string ShortDigest(absl::string_view argument, size_t hex_shown) {
  constexpr size_t kPrefix = sizeof("sha256:") - 1;
  return Cut(argument, kPrefix + hex_shown, kPrefix + hex_shown);
}

std::string ElisionMark(size_t count) {
  return absl::StrCat(".[+", count, " more]");
}

}  // namespace

std::string KeyFingerprint(absl::string_view spki) {
  std::string b64;
  absl::Base64Escape(Sha256(spki), &b64);
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return absl::StrCat("SHA256:", b64);
}

std::string ShortKeyName(absl::string_view spki) {
  return absl::StrCat("key(ecdsa-p256:", KeyFingerprint(spki), ")");
}

std::string ShortRootName(const Principal& name) {
  if (!name.is_tpm2()) return ShortKeyName(name.key_spki());
  return absl::StrCat("tpm2(ecdsa-p256:", KeyFingerprint(name.key_spki()), ")");
}

std::string ShortSubprincipal(const Subprincipal& sub, bool whole_digest) {
  const std::string& kind = sub.kind();
  const std::string& arg = sub.argument();
  std::string shown;
  if (IsMeasurementKind(sub)) {
    shown = whole_digest ? arg : ShortDigest(arg, kMeasurementHexShown);
  } else if (kind == "Args") {
    shown = ShortDigest(arg, kArgsHexShown);
  } else if (kind == "Publisher") {
    auto claim = ParsePublisher(sub);
    if (claim.ok()) {
      shown = absl::StrCat(KeyFingerprint(claim->publisher_spki), ",",
                           Cut(claim->product, kProductShown, kProductShown),
                           ",", claim->version);
    } else {
      shown = Cut(arg, kExtArgumentCut, kExtArgumentShown);
    }
  } else {
    shown = Cut(arg, kExtArgumentCut, kExtArgumentShown);
  }
  return absl::StrCat(kind, "(", shown, ")");
}

std::string ShortName(const Principal& name, size_t max_length) {
  const std::vector<Subprincipal>& subs = name.subprincipals();
  const int n = static_cast<int>(subs.size());
  int last = -1;
  for (int i = 0; i < n; ++i) {
    if (IsMeasurementKind(subs[i])) last = i;
  }
  const std::string key = ShortRootName(name);
  std::vector<std::string> parts;
  parts.reserve(subs.size());
  size_t total = key.size();
  for (int i = 0; i < n; ++i) {
    parts.push_back(absl::StrCat(".", ShortSubprincipal(subs[i], i == last)));
    total += parts.back().size();
  }
  if (total <= max_length) {
    std::string out = key;
    for (const std::string& part : parts) out += part;
    return out;
  }

  // Too long: keep some subprincipals, and mark each run of the others.
  std::vector<bool> keep(subs.size(), false);
  auto length = [&]() {
    size_t len = key.size();
    size_t run = 0;
    for (int i = 0; i <= n; ++i) {
      if (i < n && !keep[i]) {
        ++run;
        continue;
      }
      if (run > 0) len += ElisionMark(run).size();
      run = 0;
      if (i < n) len += parts[i].size();
    }
    return len;
  };
  // Keeps `i` if the result still fits; the key and the last measurement
  // are kept regardless.
  auto try_keep = [&](int i) {
    keep[i] = true;
    if (length() <= max_length) return true;
    keep[i] = false;
    return false;
  };
  if (last >= 0) {
    keep[last] = true;
    if (last + 1 < n && subs[last + 1].kind() == "Publisher") {
      try_keep(last + 1);
    }
  }
  // From both ends toward the middle, each end stopping at its first
  // subprincipal that does not fit.
  int head = 0, tail = n - 1;
  bool head_open = true, tail_open = true;
  while ((head_open || tail_open) && head <= tail) {
    if (head_open) {
      if (keep[head] || try_keep(head)) {
        ++head;
      } else {
        head_open = false;
      }
    }
    if (tail_open && head <= tail) {
      if (keep[tail] || try_keep(tail)) {
        --tail;
      } else {
        tail_open = false;
      }
    }
  }
  std::string out = key;
  size_t run = 0;
  for (int i = 0; i <= n; ++i) {
    if (i < n && !keep[i]) {
      ++run;
      continue;
    }
    if (run > 0) out += ElisionMark(run);
    run = 0;
    if (i < n) out += parts[i];
  }
  return out;
}

std::string ShortenNamesIn(absl::string_view text, size_t max_length) {
  // The text is untrusted (a statement from a file, a reason quoting a
  // program's name), so every search is bounded by what a valid name can
  // hold: a canonical key is always kKeyText long, and no subprincipal is
  // longer than kMaxSubText (Ext: 4 + 64 + 1 + 1024 + 1). The scan is linear
  // in the text's length.
  constexpr size_t kKeyText = sizeof("key(ecdsa-p256:") - 1 + 122 + 1;
  constexpr size_t kMaxSubText = 1100;
  std::string out;
  size_t copied = 0;  // text[0, copied) is in `out`
  RootFinder roots(text);
  size_t at = roots.Next(0);
  while (at != absl::string_view::npos) {
    size_t end = absl::string_view::npos;  // one past the name, if any
    // A tpm2(...) root is one character longer than a key(...) one.
    const size_t root_text = kKeyText + (text[at] == 't' ? 1 : 0);
    if (at + root_text <= text.size() && text[at + root_text - 1] == ')' &&
        Principal::Parse(text.substr(at, root_text)).ok()) {
      end = at + root_text;
      size_t subs = 0;
      // The longest run of valid `.Kind(argument)` after the key.
      while (subs < kMaxSubprincipals && end + 1 < text.size() &&
             text[end] == '.' &&
             absl::ascii_isupper(static_cast<unsigned char>(text[end + 1]))) {
        size_t sub_close = text.substr(end + 1, kMaxSubText).find(')');
        if (sub_close == absl::string_view::npos ||
            !Subprincipal::Parse(text.substr(end + 1, sub_close + 1)).ok()) {
          break;
        }
        end += 1 + sub_close + 1;
        ++subs;
      }
    }
    auto name = end == absl::string_view::npos
                    ? absl::StatusOr<Principal>(absl::UnknownError(""))
                    : Principal::Parse(text.substr(at, end - at));
    if (!name.ok()) {
      at = roots.Next(at + 1);
      continue;
    }
    absl::StrAppend(&out, text.substr(copied, at - copied),
                    ShortName(*name, max_length));
    copied = end;
    at = roots.Next(end);
  }
  absl::StrAppend(&out, text.substr(copied));
  return out;
}

}  // namespace tao
