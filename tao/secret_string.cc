#include "tao/secret_string.h"

#include <openssl/crypto.h>

#include <utility>

namespace tao {

SecretString::SecretString(SecretString&& other) noexcept
    : value_(std::move(other.value_)) {
  other.Wipe();
}

SecretString& SecretString::operator=(SecretString&& other) noexcept {
  if (this != &other) {
    Wipe();
    value_ = std::move(other.value_);
    other.Wipe();
  }
  return *this;
}

void SecretString::Wipe() {
  // Wipe the whole capacity: a moved-from or shrunk string may keep old bytes
  // beyond size().
  if (value_.capacity() > 0) {
    value_.resize(value_.capacity());
    OPENSSL_cleanse(value_.data(), value_.size());
  }
  value_.clear();
}

void SecretString::Truncate(size_t size) {
  if (size >= value_.size()) return;
  OPENSSL_cleanse(value_.data() + size, value_.size() - size);
  value_.resize(size);
}

}  // namespace tao
