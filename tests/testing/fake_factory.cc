#include "tests/testing/fake_factory.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <utility>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "channels/channel_kinds.h"
#include "channels/fd_channel.h"
#include "tao/crypto.h"
#include "tao/status_macros.h"

namespace tao {
namespace test {
absl::Status RegisterFakeRingChannel() {
  absl::Status registered = RegisterChannelKind(
      kFakeRingChannel, []() -> absl::StatusOr<TransportPair> {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
          return absl::ErrnoToStatus(errno, "socketpair");
        }
        UniqueFd host(fds[0]), child(fds[1]);
        if (::fcntl(host.get(), F_SETFL, O_NONBLOCK) != 0) {
          return absl::ErrnoToStatus(errno, "fcntl");
        }
        TransportPair pair;
        pair.host = NewFdTransport(std::move(host), UniqueFd());
        pair.child.channel_env = absl::StrCat(kFakeRingChannel, ":7");
        pair.child.fds.push_back({std::move(child), 7});
        return pair;
      });
  if (absl::IsAlreadyExists(registered)) return absl::OkStatus();
  return registered;
}

absl::StatusOr<FakeScript> ParseFakeScript(const std::string& parameters) {
  FakeScript script;
  for (absl::string_view item :
       absl::StrSplit(parameters, ';', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    int code = 0;
    if (kv.first == "stop" && kv.second == "ignore") {
      script.stop_code.reset();
    } else if (kv.first == "stop" && absl::SimpleAtoi(kv.second, &code)) {
      script.stop_code = code;
    } else if (kv.first == "freeze" &&
               (kv.second == "yes" || kv.second == "no")) {
      script.can_freeze = kv.second == "yes";
    } else if (kv.first == "output") {
      script.output = kv.second;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("fake script: cannot read '", item, "'"));
    }
  }
  return script;
}

std::vector<std::string> FakePeer::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

std::string FakePeer::channel_env() const {
  absl::MutexLock lock(&mu_);
  return channel_env_;
}

void FakePeer::Record(const std::string& call) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(call);
}

absl::StatusOr<TaoResponse> FakePeer::Call(const TaoRequest& request) {
  UniqueFd in, out;
  {
    absl::MutexLock lock(&mu_);
    if (!fd_.valid()) {
      return absl::FailedPreconditionError("the fake program has no channel");
    }
    in.Reset(::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0));
    out.Reset(::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0));
  }
  FdChannel channel(std::move(in), std::move(out));
  TAO_RETURN_IF_ERROR(channel.Send(request));
  TaoResponse response;
  TAO_RETURN_IF_ERROR(channel.Receive(&response));
  return response;
}

void FakePeer::Exit(int code) {
  std::function<void(int)> exit;
  {
    absl::MutexLock lock(&mu_);
    exit = exit_;
  }
  if (exit) exit(code);
}

// The fake program. Not thread-safe (the loop owns it), except that its
// peer may end it from the test's thread (Exit), under end_mu_.
class FakeProgram final : public HostedProgram {
 public:
  FakeProgram(FakeScript script, ProgramIdentity identity,
              std::shared_ptr<FakePeer> peer)
      : script_(std::move(script)),
        identity_(std::move(identity)),
        peer_(std::move(peer)),
        end_(std::make_shared<End>()) {}
  ~FakeProgram() override {
    absl::MutexLock lock(&peer_->mu_);
    peer_->exit_ = nullptr;
  }

  const ProgramIdentity& identity() const override { return identity_; }

  absl::Status Start(ChildEndpoint endpoint) override {
    if (started_) return absl::FailedPreconditionError("already started");
    started_ = true;
    peer_->Record("start");
    end_->exit_fd.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    int out[2];
    if (!end_->exit_fd.valid() || ::pipe2(out, O_CLOEXEC) != 0) {
      return absl::ErrnoToStatus(errno, "eventfd/pipe");
    }
    output_.Reset(out[0]);
    end_->output_write.Reset(out[1]);
    if (::fcntl(output_.get(), F_SETFL, O_NONBLOCK) != 0) {
      return absl::ErrnoToStatus(errno, "fcntl");
    }
    if (!script_.output.empty()) {
      std::string line = script_.output + "\n";
      ssize_t n = ::write(end_->output_write.get(), line.data(), line.size());
      (void)n;
    }
    absl::MutexLock lock(&peer_->mu_);
    peer_->channel_env_ = endpoint.channel_env;
    if (!endpoint.fds.empty()) peer_->fd_ = std::move(endpoint.fds[0].fd);
    std::weak_ptr<End> end = end_;
    peer_->exit_ = [end](int code) {
      if (auto e = end.lock()) e->Finish(ExitStatus{false, code});
    };
    return absl::OkStatus();
  }

  absl::Status Stop(absl::Duration grace) override {
    (void)grace;
    if (!started_ || end_->ended()) {
      return absl::FailedPreconditionError("the fake program is not running");
    }
    peer_->Record("stop");
    frozen_ = false;
    if (script_.stop_code.has_value()) {
      end_->Finish(ExitStatus{false, *script_.stop_code});
    }
    return absl::OkStatus();
  }

  absl::Status Kill() override {
    if (!started_) return absl::FailedPreconditionError("not started");
    if (end_->ended()) return absl::OkStatus();  // nothing left to kill
    peer_->Record("kill");
    end_->Finish(ExitStatus{true, 9});
    return absl::OkStatus();
  }

  absl::Status Freeze() override { return SetFrozen(true); }
  absl::Status Thaw() override { return SetFrozen(false); }
  bool frozen() const override { return frozen_; }
  int exit_fd() const override { return end_->exit_fd.get(); }
  UniqueFd TakeOutput() override { return std::move(output_); }

  absl::StatusOr<ExitStatus> Reap() override {
    if (!started_) return absl::FailedPreconditionError("not started");
    std::optional<ExitStatus> status = end_->status();
    if (!status.has_value()) {
      return absl::UnavailableError("the fake program is still running");
    }
    if (!record_.has_value()) {
      peer_->Record("reap");
      record_ = ExitRecord{*status, Confinement(),
                           absl::StrCat("fake: ", status->ToString())};
    }
    frozen_ = false;
    return *status;
  }
  std::optional<ExitRecord> exit_record() const override { return record_; }

 private:
  // How it ended; shared with the peer's Exit. Thread-safe.
  struct End {
    UniqueFd exit_fd;
    UniqueFd output_write;
    absl::Mutex mu;
    std::optional<ExitStatus> exit ABSL_GUARDED_BY(mu);

    void Finish(ExitStatus status) {
      absl::MutexLock lock(&mu);
      if (exit.has_value()) return;
      exit = status;
      output_write.Reset();  // the output ends with it
      uint64_t one = 1;
      ssize_t n = ::write(exit_fd.get(), &one, sizeof(one));
      (void)n;
    }
    bool ended() {
      absl::MutexLock lock(&mu);
      return exit.has_value();
    }
    std::optional<ExitStatus> status() {
      absl::MutexLock lock(&mu);
      return exit;
    }
  };

  absl::Status SetFrozen(bool frozen) {
    if (!script_.can_freeze) {
      return absl::UnimplementedError(
          "fake programs of this script cannot "
          "be frozen");
    }
    if (!started_ || end_->ended()) {
      return absl::FailedPreconditionError("the fake program is not running");
    }
    peer_->Record(frozen ? "freeze" : "thaw");
    frozen_ = frozen;
    return absl::OkStatus();
  }

  const FakeScript script_;
  const ProgramIdentity identity_;
  const std::shared_ptr<FakePeer> peer_;
  const std::shared_ptr<End> end_;
  bool started_ = false;
  bool frozen_ = false;
  UniqueFd output_;
  std::optional<ExitRecord> record_;
};

absl::StatusOr<std::unique_ptr<HostedProgram>> FakeFactory::NewHostedProgram(
    const ProgramSpec& spec) {
  const OtherSpec* other = std::get_if<OtherSpec>(&spec);
  if (other == nullptr || other->kind != kFakeKind) {
    return absl::InvalidArgumentError(
        absl::StrCat("factory 'fake' runs fake programs, not a spec of kind '",
                     LaunchKind(spec), "'"));
  }
  TAO_ASSIGN_OR_RETURN(FakeScript script, ParseFakeScript(other->parameters));
  ProgramIdentity identity;
  identity.measurement = Sha256(absl::StrCat("fake:", other->parameters));
  identity.args_digest = Sha256(other->parameters);
  identity.run_as = RunAs::Dynamic();
  TAO_ASSIGN_OR_RETURN(Subprincipal program,
                       Subprincipal::Program(identity.measurement));
  TAO_ASSIGN_OR_RETURN(Subprincipal args,
                       Subprincipal::Args(identity.args_digest));
  identity.subprincipals = {std::move(program), std::move(args)};
  auto peer = std::make_shared<FakePeer>();
  {
    absl::MutexLock lock(&mu_);
    last_ = peer;
  }
  return std::unique_ptr<HostedProgram>(
      new FakeProgram(std::move(script), std::move(identity), std::move(peer)));
}

std::shared_ptr<FakePeer> FakeFactory::last_peer() const {
  absl::MutexLock lock(&mu_);
  return last_;
}

}  // namespace test
}  // namespace tao
