#include "tao/soft_root.h"

#include <openssl/crypto.h>

#include "tao/status_macros.h"

namespace tao {

SoftRoot::~SoftRoot() {
  OPENSSL_cleanse(options_.passphrase.data(), options_.passphrase.size());
}

absl::Status SoftRoot::Open() {
  if (tao_ != nullptr) {
    return absl::FailedPreconditionError("the soft root is already open");
  }
  auto opened = SoftTao::Create(options_);
  OPENSSL_cleanse(options_.passphrase.data(), options_.passphrase.size());
  options_.passphrase.clear();
  TAO_RETURN_IF_ERROR(opened.status());
  tao_ = *std::move(opened);
  return absl::OkStatus();
}

}  // namespace tao
