#include "apps/common/json.h"

#include <cstdio>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace tao {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The length of the UTF-8 sequence at `s[i]`, or 0 if it is not valid.
size_t Utf8Length(absl::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80         ? 1
             : (c >> 5) == 6  ? 2
             : (c >> 4) == 14 ? 3
             : (c >> 3) == 30 ? 4
                              : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return 0;
  }
  return n;
}

std::string Number(double d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", d);
  return buf;
}

constexpr int kMaxDepth = 16;

std::string FieldValue(const Message& m, const Reflection& r,
                       const FieldDescriptor& f, int index, int depth);

std::string MessageJson(const Message& m, int depth) {
  if (depth > kMaxDepth) return "null";
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  JsonObject object;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor& f = *d->field(i);
    if (f.is_repeated()) {
      std::string array = "[";
      int n = r->FieldSize(m, &f);
      for (int k = 0; k < n; ++k) {
        if (k > 0) array += ",";
        array += FieldValue(m, *r, f, k, depth);
      }
      object.AddRaw(f.name(), array + "]");
      continue;
    }
    object.AddRaw(f.name(), FieldValue(m, *r, f, -1, depth));
    if (absl::EndsWith(f.name(), "_unix_ms") &&
        f.cpp_type() == FieldDescriptor::CPPTYPE_INT64) {
      absl::string_view base(f.name());
      base.remove_suffix(8);
      object.AddTime(base, absl::FromUnixMillis(r->GetInt64(m, &f)));
    }
  }
  return object.ToString();
}

std::string FieldValue(const Message& m, const Reflection& r,
                       const FieldDescriptor& f, int index, int depth) {
  const bool rep = index >= 0;
  switch (f.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r.GetRepeatedInt32(m, &f, index)
                              : r.GetInt32(m, &f));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r.GetRepeatedInt64(m, &f, index)
                              : r.GetInt64(m, &f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r.GetRepeatedUInt32(m, &f, index)
                              : r.GetUInt32(m, &f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r.GetRepeatedUInt64(m, &f, index)
                              : r.GetUInt64(m, &f));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return Number(rep ? r.GetRepeatedDouble(m, &f, index)
                        : r.GetDouble(m, &f));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return Number(rep ? r.GetRepeatedFloat(m, &f, index) : r.GetFloat(m, &f));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r.GetRepeatedBool(m, &f, index) : r.GetBool(m, &f))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_ENUM: {
      const google::protobuf::EnumValueDescriptor* e =
          rep ? r.GetRepeatedEnum(m, &f, index) : r.GetEnum(m, &f);
      return JsonQuote(e->name());
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s =
          rep ? r.GetRepeatedString(m, &f, index) : r.GetString(m, &f);
      if (f.type() == FieldDescriptor::TYPE_BYTES) {
        return JsonQuote(absl::Base64Escape(s));
      }
      return JsonQuote(s);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return MessageJson(
          rep ? r.GetRepeatedMessage(m, &f, index) : r.GetMessage(m, &f),
          depth + 1);
  }
  return "null";
}

}  // namespace

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = Utf8Length(text, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(text.data() + i, n);
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
    i += n;
  }
  return out + "\"";
}

std::string JsonTime(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture() ||
      t == absl::UnixEpoch()) {
    return "null";
  }
  return JsonQuote(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()));
}

void JsonObject::Key(absl::string_view key) {
  if (!body_.empty()) body_ += ",";
  body_ += JsonQuote(key);
  body_ += ":";
}

JsonObject& JsonObject::Add(absl::string_view key, absl::string_view value) {
  return AddRaw(key, JsonQuote(value));
}

JsonObject& JsonObject::Add(absl::string_view key, int64_t value) {
  return AddRaw(key, absl::StrCat(value));
}

JsonObject& JsonObject::Add(absl::string_view key, uint64_t value) {
  return AddRaw(key, absl::StrCat(value));
}

JsonObject& JsonObject::Add(absl::string_view key, bool value) {
  return AddRaw(key, value ? "true" : "false");
}

JsonObject& JsonObject::AddRaw(absl::string_view key, absl::string_view json) {
  Key(key);
  body_.append(json.data(), json.size());
  return *this;
}

std::string ProtoToJson(const google::protobuf::Message& message) {
  return MessageJson(message, 0);
}

}  // namespace tao
