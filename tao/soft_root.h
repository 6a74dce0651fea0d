// SoftRoot: the soft root behind the HostRoot interface. The keys live in a
// directory, encrypted under a passphrase (SoftTao, docs/keys-at-rest.md);
// the host's name is its signing key's principal and it has no delegation.
#ifndef TAO_TAO_SOFT_ROOT_H_
#define TAO_TAO_SOFT_ROOT_H_

#include <memory>

#include "tao/host_root.h"
#include "tao/soft_tao.h"

namespace tao {

// Thread-safe after Open.
class SoftRoot final : public HostRoot {
 public:
  // Takes the options (the passphrase is wiped after Open).
  explicit SoftRoot(SoftTaoOptions options) : options_(std::move(options)) {}
  ~SoftRoot() override;

  absl::string_view kind() const override { return "soft"; }
  // SoftTao::Create's statuses: kPermissionDenied for a wrong passphrase,
  // kDataLoss for an altered keys file, kNotFound with creation off.
  absl::Status Open() override;
  const TaoHost& host() const override { return tao_->host(); }
  bool created_keys() const override { return tao_->created_keys(); }

 private:
  SoftTaoOptions options_;
  std::unique_ptr<SoftTao> tao_;
};

}  // namespace tao

#endif  // TAO_TAO_SOFT_ROOT_H_
