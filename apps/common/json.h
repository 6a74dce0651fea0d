// JSON for the tools' --json output: one object a line, every field present
// (zero values included), 64-bit ids and counters as numbers (not the
// strings of protobuf's own JSON mapping), times as RFC 3339 in UTC.
#ifndef TAO_APPS_COMMON_JSON_H_
#define TAO_APPS_COMMON_JSON_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"

namespace tao {

// `text` as a JSON string literal, quotes included. Bytes that are not valid
// UTF-8 become U+FFFD, so the output always parses.
std::string JsonQuote(absl::string_view text);

// `t` as an RFC 3339 UTC JSON string ("2026-01-02T03:04:05.678Z"), or null
// for absl::InfinitePast() / InfiniteFuture() / the Unix epoch (unset).
std::string JsonTime(absl::Time t);

// Builds one JSON object in insertion order. Not thread-safe.
class JsonObject {
 public:
  JsonObject& Add(absl::string_view key, absl::string_view value);
  JsonObject& Add(absl::string_view key, const char* value) {
    return Add(key, absl::string_view(value));
  }
  JsonObject& Add(absl::string_view key, const std::string& value) {
    return Add(key, absl::string_view(value));
  }
  JsonObject& Add(absl::string_view key, int64_t value);
  JsonObject& Add(absl::string_view key, uint64_t value);
  JsonObject& Add(absl::string_view key, int value) {
    return Add(key, static_cast<int64_t>(value));
  }
  JsonObject& Add(absl::string_view key, bool value);
  // `json` must already be JSON (an object, array, null, ...).
  JsonObject& AddRaw(absl::string_view key, absl::string_view json);
  JsonObject& AddTime(absl::string_view key, absl::Time t) {
    return AddRaw(key, JsonTime(t));
  }
  // The object, "{...}".
  std::string ToString() const { return "{" + body_ + "}"; }

 private:
  void Key(absl::string_view key);
  std::string body_;
};

// `message` as a JSON object: every field of its descriptor, set or not,
// under its proto field name; 64-bit integers as numbers; enums by name;
// bytes in base64; repeated fields as arrays. A field named X_unix_ms (a
// time in Unix milliseconds) is kept, and X is added beside it as RFC 3339.
std::string ProtoToJson(const google::protobuf::Message& message);

}  // namespace tao

#endif  // TAO_APPS_COMMON_JSON_H_
