// SecretString: a move-only byte string that wipes its contents with
// OPENSSL_cleanse when destroyed or moved from. Holds keys, sealing secrets
// and plaintext. Thread-compatible.
#ifndef TAO_TAO_SECRET_STRING_H_
#define TAO_TAO_SECRET_STRING_H_

#include <cstddef>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace tao {

class SecretString {
 public:
  SecretString() = default;
  // Takes `value` by value and wipes nothing of the caller's copy: callers
  // that had the bytes in a std::string should move it in.
  explicit SecretString(std::string value) : value_(std::move(value)) {}
  // A string of `size` zero bytes, to be filled through data().
  explicit SecretString(size_t size) : value_(size, '\0') {}
  ~SecretString() { Wipe(); }

  SecretString(SecretString&& other) noexcept;
  SecretString& operator=(SecretString&& other) noexcept;
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;

  // Wipes and empties the string.
  void Wipe();

  char* data() { return value_.data(); }
  const char* data() const { return value_.data(); }
  size_t size() const { return value_.size(); }
  bool empty() const { return value_.empty(); }
  // Shrinks to `size` bytes after wiping the tail. `size` <= size().
  void Truncate(size_t size);
  absl::string_view view() const { return value_; }
  // A copy the caller must protect; prefer view().
  std::string Copy() const { return value_; }

 private:
  std::string value_;
};

}  // namespace tao

#endif  // TAO_TAO_SECRET_STRING_H_
