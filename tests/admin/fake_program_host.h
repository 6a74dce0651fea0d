// FakeProgramHost: a ProgramHost with no processes, for unit tests of the
// admin service. Programs are rows in a table the test fills (Add) or that
// StartHostedProgram appends to; every call is counted, so a test can show
// that a denied call never reached the host. Thread-safe.
#ifndef TAO_TESTS_ADMIN_FAKE_PROGRAM_HOST_H_
#define TAO_TESTS_ADMIN_FAKE_PROGRAM_HOST_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "admin/program_host.h"

namespace tao {
namespace test {

class FakeProgramHost final : public ProgramHost {
 public:
  FakeProgramHost() {
    factories_.push_back(
        FactoryRegistration{"process", nullptr, {"pipe", "socketpair"}});
  }

  // Adds a running program `name` as id `id` and returns its snapshot.
  ChildInfo Add(uint64_t id, const std::string& name) {
    ChildInfo info;
    info.id = id;
    info.name = name;
    info.pid = static_cast<pid_t>(100000 + id);
    info.factory = "process";
    info.path = "/bin/fake";
    info.started = absl::Now();
    absl::MutexLock lock(&mu_);
    programs_[id] = info;
    return info;
  }
  // Makes process `pid` one of program `id`'s (nullopt: of none that runs).
  void SetPid(pid_t pid, std::optional<uint64_t> id) {
    absl::MutexLock lock(&mu_);
    pids_[pid] = id;
  }
  // Program `id` exited with `code`.
  void Exit(uint64_t id, int code) {
    absl::MutexLock lock(&mu_);
    programs_[id].state = ProgramState::kExited;
    programs_[id].exit = ExitStatus{false, code};
  }
  // Program `id`'s whole output, which has ended.
  void SetOutput(uint64_t id, const std::string& output) {
    absl::MutexLock lock(&mu_);
    outputs_[id] = output;
  }
  // What StartHostedProgram got last, and who asked.
  std::optional<StartRequest> last_start() const {
    absl::MutexLock lock(&mu_);
    return last_start_;
  }
  std::optional<Caller> last_admin() const {
    absl::MutexLock lock(&mu_);
    return last_admin_;
  }
  // How many calls reached the host, of any kind (ProgramOfPid excepted:
  // identifying a caller is not acting for it).
  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  bool shut_down() const {
    absl::MutexLock lock(&mu_);
    return shut_down_;
  }

  absl::StatusOr<ChildInfo> StartHostedProgram(
      const StartRequest& request, std::optional<Caller> admin) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    last_start_ = request;
    last_admin_ = std::move(admin);
    if (shut_down_) return absl::FailedPreconditionError("shut down");
    ChildInfo info;
    info.id = next_id_++;
    info.name = absl::StrCat("started:", LaunchTarget(request.spec));
    info.path = LaunchTarget(request.spec);
    info.factory = request.factory;
    info.channel = request.channel;
    info.started = absl::Now();
    programs_[info.id] = info;
    return info;
  }
  std::optional<HostedProcess> ProgramOfPid(pid_t pid) const override {
    absl::MutexLock lock(&mu_);
    auto it = pids_.find(pid);
    if (it == pids_.end()) return std::nullopt;
    HostedProcess process;
    process.id = it->second;
    if (it->second.has_value()) {
      auto program = programs_.find(*it->second);
      if (program != programs_.end()) process.name = program->second.name;
    }
    return process;
  }
  absl::Status StopHostedProgram(uint64_t id, absl::Duration) override {
    return End(id, 15);
  }
  absl::Status KillHostedProgram(uint64_t id) override { return End(id, 9); }
  absl::Status FreezeHostedProgram(uint64_t id) override {
    return SetFrozen(id, true);
  }
  absl::Status ThawHostedProgram(uint64_t id) override {
    return SetFrozen(id, false);
  }
  std::vector<ChildInfo> ListHostedPrograms() const override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    std::vector<ChildInfo> out;
    for (const auto& [id, info] : programs_) out.push_back(info);
    return out;
  }
  absl::StatusOr<ChildInfo> GetHostedProgram(uint64_t id) const override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    auto it = programs_.find(id);
    if (it == programs_.end()) return absl::NotFoundError("no such program");
    return it->second;
  }
  absl::StatusOr<ChildInfo> WaitHostedProgram(uint64_t id,
                                              absl::Duration) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    auto it = programs_.find(id);
    if (it == programs_.end()) return absl::NotFoundError("no such program");
    if (it->second.state != ProgramState::kExited) {
      return absl::DeadlineExceededError("still running");
    }
    return it->second;
  }
  absl::StatusOr<OutputCapture::Chunk> ReadOutput(uint64_t id, uint64_t offset,
                                                  size_t max_bytes,
                                                  absl::Time) const override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (programs_.count(id) == 0) return absl::NotFoundError("no such program");
    auto it = outputs_.find(id);
    if (it == outputs_.end()) {
      return absl::FailedPreconditionError("no log directory");
    }
    OutputCapture::Chunk chunk;
    chunk.offset = offset;
    if (offset < it->second.size()) {
      chunk.data = it->second.substr(offset, max_bytes);
    }
    chunk.end = offset + chunk.data.size() >= it->second.size();
    return chunk;
  }
  void Shutdown(absl::Duration) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    shut_down_ = true;
  }
  size_t running() const override {
    absl::MutexLock lock(&mu_);
    size_t n = 0;
    for (const auto& [id, info] : programs_) {
      if (info.state != ProgramState::kExited) ++n;
    }
    return n;
  }
  const std::vector<FactoryRegistration>& factories() const override {
    return factories_;
  }

 private:
  absl::Status End(uint64_t id, int signal) {
    absl::MutexLock lock(&mu_);
    ++calls_;
    auto it = programs_.find(id);
    if (it == programs_.end()) return absl::NotFoundError("no such program");
    if (it->second.state == ProgramState::kExited) {
      return absl::FailedPreconditionError("already exited");
    }
    it->second.state = ProgramState::kExited;
    it->second.exit = ExitStatus{true, signal};
    return absl::OkStatus();
  }
  absl::Status SetFrozen(uint64_t id, bool frozen) {
    absl::MutexLock lock(&mu_);
    ++calls_;
    auto it = programs_.find(id);
    if (it == programs_.end()) return absl::NotFoundError("no such program");
    if (it->second.state == ProgramState::kExited) {
      return absl::FailedPreconditionError("already exited");
    }
    it->second.frozen = frozen;
    return absl::OkStatus();
  }

  std::vector<FactoryRegistration> factories_;
  mutable absl::Mutex mu_;
  std::map<uint64_t, ChildInfo> programs_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::string> outputs_ ABSL_GUARDED_BY(mu_);
  std::map<pid_t, std::optional<uint64_t>> pids_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 100;
  mutable int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<StartRequest> last_start_ ABSL_GUARDED_BY(mu_);
  std::optional<Caller> last_admin_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace test
}  // namespace tao

#endif  // TAO_TESTS_ADMIN_FAKE_PROGRAM_HOST_H_
