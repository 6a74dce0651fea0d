// LoopProgramHost: the admin service's ProgramHost over the real listen
// loop. The one place HostedProgramChannel is adapted to the admin side;
// it only forwards.
#ifndef TAO_ADMIN_LOOP_PROGRAM_HOST_H_
#define TAO_ADMIN_LOOP_PROGRAM_HOST_H_

#include <optional>
#include <vector>

#include "admin/program_host.h"
#include "channels/hosted_program_channel.h"

namespace tao {

// Thread-safe as the loop is. `loop` is not owned and must outlive it.
class LoopProgramHost final : public ProgramHost {
 public:
  explicit LoopProgramHost(HostedProgramChannel& loop) : loop_(loop) {}

  absl::StatusOr<ChildInfo> StartHostedProgram(
      const StartRequest& request, std::optional<Caller> admin) override {
    return loop_.StartHostedProgram(request, std::move(admin));
  }
  std::optional<HostedProcess> ProgramOfPid(pid_t pid) const override {
    return loop_.ProgramOfPid(pid);
  }
  absl::Status StopHostedProgram(uint64_t id, absl::Duration grace) override {
    return loop_.StopHostedProgram(id, grace);
  }
  absl::Status KillHostedProgram(uint64_t id) override {
    return loop_.KillHostedProgram(id);
  }
  absl::Status FreezeHostedProgram(uint64_t id) override {
    return loop_.FreezeHostedProgram(id);
  }
  absl::Status ThawHostedProgram(uint64_t id) override {
    return loop_.ThawHostedProgram(id);
  }
  std::vector<ChildInfo> ListHostedPrograms() const override {
    return loop_.ListHostedPrograms();
  }
  absl::StatusOr<ChildInfo> GetHostedProgram(uint64_t id) const override {
    return loop_.GetHostedProgram(id);
  }
  absl::StatusOr<ChildInfo> WaitHostedProgram(uint64_t id,
                                              absl::Duration timeout) override {
    return loop_.WaitHostedProgram(id, timeout);
  }
  absl::StatusOr<OutputCapture::Chunk> ReadOutput(
      uint64_t id, uint64_t offset, size_t max_bytes,
      absl::Time deadline) const override {
    return loop_.ReadOutput(id, offset, max_bytes, deadline);
  }
  void Shutdown(absl::Duration grace) override { loop_.Shutdown(grace); }
  size_t running() const override { return loop_.running(); }
  const std::vector<FactoryRegistration>& factories() const override {
    return loop_.factories();
  }

 private:
  HostedProgramChannel& loop_;
};

}  // namespace tao

#endif  // TAO_ADMIN_LOOP_PROGRAM_HOST_H_
