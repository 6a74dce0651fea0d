// RpcTao: the Tao a hosted program sees, spoken over a channel to its host.
// This and its transport are the client library (target tao_client); a
// hosted program links it and never the host.
#ifndef TAO_CHANNELS_RPC_TAO_H_
#define TAO_CHANNELS_RPC_TAO_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "channels/client_channel.h"
#include "channels/fd_channel.h"
#include "channels/tao_rpc.pb.h"
#include "tao/tao.h"

namespace tao {

// The environment variable through which a host tells a program its channel:
// "pipe:<read fd>,<write fd>", "socket:<fd>" or
// "shm:<memfd>,<eventfd in>,<eventfd out>".
inline constexpr absl::string_view kTaoChannelEnv = "TAO_CHANNEL";

// Thread-safe: calls are serialized, one request in flight at a time.
class RpcTao final : public Tao {
 public:
  explicit RpcTao(std::unique_ptr<ClientChannel> channel)
      : channel_(std::move(channel)) {}

  absl::StatusOr<Principal> GetTaoName() override;
  absl::Status ExtendTaoName(const Subprincipal& sub) override;
  absl::StatusOr<std::string> GetRandomBytes(size_t n) override;
  absl::StatusOr<SecretString> GetSharedSecret(
      size_t n, absl::string_view policy) override;
  absl::StatusOr<Attestation> Attest(const Statement& statement) override;
  absl::StatusOr<std::string> Seal(absl::string_view data,
                                   absl::string_view policy) override;
  absl::StatusOr<Unsealed> Unseal(absl::string_view sealed) override;

 private:
  // Sends `request` with a fresh id and returns the matching response, or
  // the host's status (codes and reasons pass through unchanged).
  absl::StatusOr<TaoResponse> Call(TaoRequest& request);
  // Sends `head(id)` followed by `body` as one frame (wire_format.h), with
  // no copy of `body`, then receives the answer like Call. kInvalidArgument
  // if the frame would exceed the channel's frame cap.
  absl::StatusOr<TaoResponse> CallBulk(
      absl::FunctionRef<std::string(uint64_t)> head, absl::string_view body);
  absl::StatusOr<TaoResponse> ReceiveAnswer(uint64_t id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<ClientChannel> channel_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

// The device of the virtio port named `name` in a VM guest: the
// /dev/<port> whose <sysfs>/<port>/name reads `name`. kNotFound if there is
// none (virtio_console not loaded, or no such port); kInvalidArgument for
// a malformed name.
absl::StatusOr<std::string> FindVirtioPort(
    absl::string_view name,
    const std::string& sysfs = "/sys/class/virtio-ports");

// Parses a TAO_CHANNEL value into a channel: pipe:R,W, socket:FD,
// shm:M,I,O, or (in a VM guest) virtio:NAME, the virtio port of that name.
// kInvalidArgument for a bad value or descriptors that are not open;
// FindVirtioPort's errors.
absl::StatusOr<std::unique_ptr<ClientChannel>> ChannelFromSpec(
    absl::string_view spec);

// The host's Tao for this process, from the TAO_CHANNEL variable.
// kFailedPrecondition if the process was not started by a Tao host.
absl::StatusOr<std::unique_ptr<Tao>> TaoFromEnvironment();

}  // namespace tao

#endif  // TAO_CHANNELS_RPC_TAO_H_
