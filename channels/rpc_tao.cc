#include "channels/rpc_tao.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "channels/shm_channel.h"
#include "channels/wire_format.h"
#include "tao/status_macros.h"

namespace tao {

absl::StatusOr<TaoResponse> RpcTao::Call(TaoRequest& request) {
  absl::MutexLock lock(&mu_);
  request.set_id(next_id_++);
  TAO_RETURN_IF_ERROR(channel_->Send(request));
  return ReceiveAnswer(request.id());
}

absl::StatusOr<TaoResponse> RpcTao::CallBulk(
    absl::FunctionRef<std::string(uint64_t)> head, absl::string_view body) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  const std::string head_bytes = head(id);
  const size_t frame_size = head_bytes.size() - kFrameHeaderSize + body.size();
  if (frame_size > channel_->max_frame_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "message of ", frame_size, " bytes exceeds the frame cap of ",
        channel_->max_frame_size()));
  }
  absl::string_view parts[] = {head_bytes, body};
  TAO_RETURN_IF_ERROR(channel_->SendParts(parts));
  return ReceiveAnswer(id);
}

absl::StatusOr<TaoResponse> RpcTao::ReceiveAnswer(uint64_t id) {
  TaoResponse response;
  TAO_RETURN_IF_ERROR(channel_->Receive(&response));
  if (response.id() != id) {
    return absl::InternalError(absl::StrCat("the host answered request ",
                                            response.id(), " to request ", id));
  }
  if (response.code() != 0) {
    auto code = static_cast<absl::StatusCode>(response.code());
    if (response.code() < 0 || response.code() > 16)
      code = absl::StatusCode::kUnknown;
    return absl::Status(code, response.message());
  }
  return response;
}

absl::StatusOr<Principal> RpcTao::GetTaoName() {
  TaoRequest request;
  request.mutable_get_tao_name();
  TAO_ASSIGN_OR_RETURN(TaoResponse response, Call(request));
  return Principal::ParseFromOwnHost(response.name());
}

absl::Status RpcTao::ExtendTaoName(const Subprincipal& sub) {
  TaoRequest request;
  request.mutable_extend_tao_name()->set_subprincipal(sub.ToString());
  return Call(request).status();
}

absl::StatusOr<std::string> RpcTao::GetRandomBytes(size_t n) {
  if (n > (1u << 20)) {
    return absl::InvalidArgumentError("at most 1 MiB of random bytes per call");
  }
  TaoRequest request;
  request.mutable_get_random_bytes()->set_size(static_cast<uint32_t>(n));
  TAO_ASSIGN_OR_RETURN(TaoResponse response, Call(request));
  return std::move(*response.mutable_data());
}

absl::StatusOr<SecretString> RpcTao::GetSharedSecret(size_t n,
                                                     absl::string_view policy) {
  if (n > 8160) return absl::InvalidArgumentError("shared secret too long");
  TaoRequest request;
  request.mutable_get_shared_secret()->set_size(static_cast<uint32_t>(n));
  request.mutable_get_shared_secret()->set_policy(std::string(policy));
  TAO_ASSIGN_OR_RETURN(TaoResponse response, Call(request));
  return SecretString(std::move(*response.mutable_data()));
}

absl::StatusOr<Attestation> RpcTao::Attest(const Statement& statement) {
  TaoRequest request;
  *request.mutable_attest() = statement;
  TAO_ASSIGN_OR_RETURN(TaoResponse response, Call(request));
  return std::move(*response.mutable_attestation());
}

absl::StatusOr<std::string> RpcTao::Seal(absl::string_view data,
                                         absl::string_view policy) {
  TAO_ASSIGN_OR_RETURN(
      TaoResponse response,
      CallBulk(
          [&](uint64_t id) { return SealRequestHead(id, policy, data.size()); },
          data));
  return std::move(*response.mutable_data());
}

absl::StatusOr<Unsealed> RpcTao::Unseal(absl::string_view sealed) {
  TAO_ASSIGN_OR_RETURN(
      TaoResponse response,
      CallBulk(
          [&](uint64_t id) { return UnsealRequestHead(id, sealed.size()); },
          sealed));
  TAO_ASSIGN_OR_RETURN(Principal sealer, Principal::ParseFromOwnHost(
                                             response.unsealed().sealer()));
  return Unsealed{
      SecretString(std::move(*response.mutable_unsealed()->mutable_data())),
      std::move(*response.mutable_unsealed()->mutable_policy()),
      std::move(sealer)};
}

namespace {

absl::StatusOr<UniqueFd> AdoptFd(absl::string_view text) {
  int fd = -1;
  if (!absl::SimpleAtoi(text, &fd) || fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a file descriptor number"));
  }
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("descriptor ", fd, " is not open"));
  }
  // Our own children must not inherit the channel.
  ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  return UniqueFd(fd);
}

}  // namespace

absl::StatusOr<std::string> FindVirtioPort(absl::string_view name,
                                           const std::string& sysfs) {
  if (name.empty() || name.size() > 32 ||
      name.find('/') != absl::string_view::npos) {
    return absl::InvalidArgumentError("a virtio port name is 1-32 bytes, no /");
  }
  DIR* dir = ::opendir(sysfs.c_str());
  if (dir == nullptr) {
    return absl::NotFoundError(absl::StrCat("no virtio ports (", sysfs,
                                            "): is virtio_console loaded?"));
  }
  std::string found;
  while (struct dirent* entry = ::readdir(dir)) {
    std::string port = entry->d_name;
    if (port.empty() || port[0] == '.') continue;
    UniqueFd file(::open(absl::StrCat(sysfs, "/", port, "/name").c_str(),
                         O_RDONLY | O_CLOEXEC));
    if (!file.valid()) continue;
    char buf[64];
    ssize_t n = ::read(file.get(), buf, sizeof(buf));
    if (n <= 0) continue;
    absl::string_view got(buf, static_cast<size_t>(n));
    absl::ConsumeSuffix(&got, "\n");
    if (got == name) {
      found = absl::StrCat("/dev/", port);
      break;
    }
  }
  ::closedir(dir);
  if (found.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no virtio port named '", name, "' in ", sysfs));
  }
  return found;
}

absl::StatusOr<std::unique_ptr<ClientChannel>> ChannelFromSpec(
    absl::string_view spec) {
  if (absl::ConsumePrefix(&spec, "pipe:")) {
    std::vector<absl::string_view> fds = absl::StrSplit(spec, ',');
    if (fds.size() != 2) {
      return absl::InvalidArgumentError(
          "a pipe channel is pipe:<read fd>,<write fd>");
    }
    TAO_ASSIGN_OR_RETURN(UniqueFd read_fd, AdoptFd(fds[0]));
    TAO_ASSIGN_OR_RETURN(UniqueFd write_fd, AdoptFd(fds[1]));
    return std::make_unique<FdChannel>(std::move(read_fd), std::move(write_fd));
  }
  if (absl::ConsumePrefix(&spec, "socket:")) {
    TAO_ASSIGN_OR_RETURN(UniqueFd fd, AdoptFd(spec));
    UniqueFd write_fd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
    if (!write_fd.valid())
      return absl::ErrnoToStatus(errno, "dup channel socket");
    return std::make_unique<FdChannel>(std::move(fd), std::move(write_fd));
  }
  if (absl::ConsumePrefix(&spec, "shm:")) {
    std::vector<absl::string_view> fds = absl::StrSplit(spec, ',');
    if (fds.size() != 3 && fds.size() != 4) {
      return absl::InvalidArgumentError(
          "a shm channel is shm:<memfd>,<eventfd in>,<eventfd out>[,<host "
          "liveness pipe>]");
    }
    TAO_ASSIGN_OR_RETURN(UniqueFd memfd, AdoptFd(fds[0]));
    TAO_ASSIGN_OR_RETURN(UniqueFd wait_fd, AdoptFd(fds[1]));
    TAO_ASSIGN_OR_RETURN(UniqueFd signal_fd, AdoptFd(fds[2]));
    UniqueFd host_alive;
    if (fds.size() == 4) {
      TAO_ASSIGN_OR_RETURN(host_alive, AdoptFd(fds[3]));
    }
    TAO_ASSIGN_OR_RETURN(std::unique_ptr<ShmStream> stream,
                         ShmStream::Open(std::move(memfd), std::move(wait_fd),
                                         std::move(signal_fd), /*spin=*/0,
                                         std::move(host_alive)));
    return std::make_unique<ShmChannel>(std::move(stream));
  }
  if (absl::ConsumePrefix(&spec, "virtio:")) {
    TAO_ASSIGN_OR_RETURN(std::string device, FindVirtioPort(spec));
    UniqueFd fd(::open(device.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) {
      return absl::ErrnoToStatus(errno, absl::StrCat("open ", device));
    }
    UniqueFd write_fd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
    if (!write_fd.valid())
      return absl::ErrnoToStatus(errno, "dup the virtio port");
    return std::make_unique<FdChannel>(std::move(fd), std::move(write_fd));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown channel '", spec,
      "' (expected pipe:R,W, socket:FD, shm:M,I,O[,A] or virtio:NAME)"));
}

absl::StatusOr<std::unique_ptr<Tao>> TaoFromEnvironment() {
  const char* spec = std::getenv(std::string(kTaoChannelEnv).c_str());
  if (spec == nullptr || *spec == '\0') {
    return absl::FailedPreconditionError(
        "TAO_CHANNEL is not set: this process was not started by a Tao host");
  }
  TAO_ASSIGN_OR_RETURN(std::unique_ptr<ClientChannel> channel,
                       ChannelFromSpec(spec));
  return std::unique_ptr<Tao>(new RpcTao(std::move(channel)));
}

}  // namespace tao
