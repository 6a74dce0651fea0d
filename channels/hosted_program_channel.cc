#include "channels/hosted_program_channel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "channels/tao_rpc.pb.h"
#include "channels/wire_format.h"
#include "glog/logging.h"
#include "tao/name_presentation.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

// epoll tags: (id << 2) | kind; the wake-up eventfd has its own tag.
enum TagKind : uint64_t {
  kTagChannelIn = 0,
  kTagChannelOut = 1,
  kTagExit = 2,
  kTagOutput = 3
};
constexpr uint64_t kWakeTag = ~uint64_t{0};
// The audit trail's writer signals this after every sync.
constexpr uint64_t kAuditTag = ~uint64_t{1};
constexpr size_t kReadChunk = 256 * 1024;
constexpr size_t kMinReadChunk = 4 * 1024;
// Buffers larger than this are released once a channel is idle again; up to
// it they are kept, so back-to-back large requests do not reallocate.
constexpr size_t kKeptBuffer = 2 << 20;
// Per program per wake-up, so one busy program cannot starve the others.
constexpr size_t kReadBudgetBytes = 4 << 20;
// Requests answered per program per turn, so one program cannot hold the
// loop while its siblings wait.
constexpr int kMaxRequestsPerTurn = 16;
constexpr absl::Duration kOrphanScanInterval = absl::Seconds(1);

uint64_t Tag(uint64_t id, TagKind kind) { return (id << 2) | kind; }

// The trail whose records must be on the disk before the answers they
// record are sent (sync durability), or null: answers go at once.
AuditLog* SyncTrail(const TaoDomain& domain) {
  AuditLog* trail = domain.audit();
  return trail != nullptr && trail->durability() == AuditDurability::kSync
             ? trail
             : nullptr;
}

absl::Status SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return absl::ErrnoToStatus(errno, "set O_NONBLOCK");
  }
  return absl::OkStatus();
}

// The host's ends of a new channel and the child's endpoint.
struct ChannelPair {
  UniqueFd host_in;   // the host reads requests here
  UniqueFd host_out;  // and writes responses here (invalid: same as host_in)
  ChildEndpoint child;
};

absl::StatusOr<ChannelPair> MakeChannelPair(ChannelKind kind) {
  ChannelPair pair;
  if (kind == ChannelKind::kPipe) {
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0)
      return absl::ErrnoToStatus(errno, "pipe2");
    UniqueFd to_child_read(to_child[0]), to_child_write(to_child[1]);
    if (::pipe2(from_child, O_CLOEXEC) != 0)
      return absl::ErrnoToStatus(errno, "pipe2");
    UniqueFd from_child_read(from_child[0]), from_child_write(from_child[1]);
    TAO_RETURN_IF_ERROR(SetNonBlocking(from_child_read.get()));
    TAO_RETURN_IF_ERROR(SetNonBlocking(to_child_write.get()));
    pair.host_in = std::move(from_child_read);
    pair.host_out = std::move(to_child_write);
    pair.child.fds.push_back({std::move(to_child_read), 3});
    pair.child.fds.push_back({std::move(from_child_write), 4});
    pair.child.channel_env = "pipe:3,4";
    return pair;
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return absl::ErrnoToStatus(errno, "socketpair");
  }
  UniqueFd host(sv[0]), child(sv[1]);
  TAO_RETURN_IF_ERROR(SetNonBlocking(host.get()));
  pair.host_in = std::move(host);
  pair.child.fds.push_back({std::move(child), 3});
  pair.child.channel_env = "socket:3";
  return pair;
}

}  // namespace

struct HostedProgramChannel::Child {
  uint64_t id = 0;
  std::string factory;
  ChannelKind channel = ChannelKind::kPipe;
  Principal name;
  std::unique_ptr<HostedProgram> program;  // released once reaped
  pid_t pid = -1;
  absl::Time started;
  ProgramState state = ProgramState::kRunning;
  std::optional<ExitStatus> exit;
  std::optional<absl::Time> kill_deadline;
  uint64_t calls = 0;
  uint64_t denials = 0;
  StartRequest request;         // kept to restart it
  std::optional<Caller> admin;  // who started it, asked again on restarts
  Confinement confinement;
  int restarts = 0;
  int streak = 0;  // restarts in a row without a long run
  uint64_t previous_id = 0;
  bool no_restart = false;  // stopped or killed on purpose

  // The channel.
  UniqueFd in_fd;
  UniqueFd out_fd;  // invalid for a socket: in_fd serves both ways
  bool channel_open = false;
  bool more_ready = false;  // the per-turn cap left requests unanswered
  FrameReader reader;
  std::string out;
  size_t out_pos = 0;
  // `out` holds unsealed plaintext: WipeOutput once it is sent.
  bool out_has_secret = false;
  // Answers held until the trail is durable: (offset in `out` where they
  // start, the record they wait for), in order.
  std::deque<std::pair<size_t, uint64_t>> held;
  uint32_t in_mask = 0;   // events registered for in_fd (0: not registered)
  uint32_t out_mask = 0;  // events registered for out_fd

  // Output capture.
  UniqueFd output;
  UniqueFd log;
  size_t log_bytes = 0;
  std::string log_path;

  Child(Principal n, size_t max_frame)
      : name(std::move(n)), reader(max_frame) {}
  int write_fd() const { return out_fd.valid() ? out_fd.get() : in_fd.get(); }
  size_t pending() const { return out.size() - out_pos; }
  // What may be sent now: up to the first held answer.
  size_t sendable() const {
    return (held.empty() ? out.size() : held.front().first) - out_pos;
  }
  // Unsealed plaintext does not outlive its delivery in the host's memory.
  void WipeOutput() {
    if (out_has_secret) OPENSSL_cleanse(out.data(), out.size());
    out_has_secret = false;
  }
};

absl::string_view RestartModeName(RestartPolicy::Mode mode) {
  switch (mode) {
    case RestartPolicy::kNever:
      return "never";
    case RestartPolicy::kOnFailure:
      return "on-failure";
    case RestartPolicy::kAlways:
      return "always";
  }
  return "unknown";
}

absl::string_view ProgramEventKindName(ProgramEvent::Kind kind) {
  switch (kind) {
    case ProgramEvent::kStarted:
      return "started";
    case ProgramEvent::kExited:
      return "exited";
    case ProgramEvent::kDenied:
      return "denied";
    case ProgramEvent::kRestarted:
      return "restarted";
  }
  return "unknown";
}

absl::string_view ProgramStateName(ProgramState state) {
  switch (state) {
    case ProgramState::kRunning:
      return "running";
    case ProgramState::kStopping:
      return "stopping";
    case ProgramState::kExited:
      return "exited";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<HostedProgramChannel>>
HostedProgramChannel::Create(const TaoHost& host, TaoDomain& domain,
                             std::vector<FactoryRegistration> factories,
                             HostedProgramChannelOptions options) {
  for (const FactoryRegistration& reg : factories) {
    if (reg.factory == nullptr || reg.name.empty()) {
      return absl::InvalidArgumentError(
          "a factory registration needs a name and a factory");
    }
    absl::Span<const ChannelKind> accepted = reg.factory->channel_kinds();
    for (ChannelKind kind : reg.channel_kinds) {
      if (std::find(accepted.begin(), accepted.end(), kind) == accepted.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("factory '", reg.name, "' cannot serve channel kind ",
                         ChannelKindName(kind)));
      }
    }
  }
  if (options.max_log_bytes == 0 || options.max_frame_size < 64 ||
      options.max_buffered_output == 0) {
    return absl::InvalidArgumentError(
        "max_log_bytes and max_buffered_output must be positive, "
        "max_frame_size "
        "at least 64");
  }
  UniqueFd epoll_fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd.valid()) return absl::ErrnoToStatus(errno, "epoll_create1");
  UniqueFd wake_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd.valid()) return absl::ErrnoToStatus(errno, "eventfd");
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, wake_fd.get(), &ev) != 0) {
    return absl::ErrnoToStatus(errno, "epoll_ctl wake fd");
  }
  if (SyncTrail(domain) != nullptr) {
    ev.data.u64 = kAuditTag;
    if (::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, domain.audit()->wake_fd(),
                    &ev) != 0) {
      return absl::ErrnoToStatus(errno, "epoll_ctl audit fd");
    }
  }
  std::unique_ptr<HostedProgramChannel> loop(new HostedProgramChannel(
      host, domain, std::move(factories), std::move(options),
      std::move(epoll_fd), std::move(wake_fd)));
  loop->thread_ = std::thread([raw = loop.get()] { raw->Loop(); });
  loop->restart_thread_ =
      std::thread([raw = loop.get()] { raw->RestartLoop(); });
  return loop;
}

HostedProgramChannel::HostedProgramChannel(
    const TaoHost& host, TaoDomain& domain,
    std::vector<FactoryRegistration> factories,
    HostedProgramChannelOptions options, UniqueFd epoll_fd, UniqueFd wake_fd)
    : host_(host),
      domain_(domain),
      handler_(host, domain),
      factories_(std::move(factories)),
      options_(std::move(options)),
      epoll_fd_(std::move(epoll_fd)),
      wake_fd_(std::move(wake_fd)) {}

HostedProgramChannel::~HostedProgramChannel() {
  Shutdown(absl::ZeroDuration());
}

void HostedProgramChannel::Wake() {
  uint64_t one = 1;
  ssize_t n = ::write(wake_fd_.get(), &one, sizeof(one));
  (void)n;  // EAGAIN means a wake-up is already pending
}

void HostedProgramChannel::Emit(ProgramEvent event) {
  if (options_.on_event) options_.on_event(event);
}

absl::StatusOr<ChildInfo> HostedProgramChannel::StartHostedProgram(
    const StartRequest& request, std::optional<Caller> admin) {
  return Launch(request, admin, /*restart_of=*/0, /*restarts=*/0,
                /*streak=*/0);
}

std::optional<HostedProcess> HostedProgramChannel::ProgramOfPid(
    pid_t pid) const {
  absl::StatusOr<ProcessFacts> facts = ReadProcessFacts(pid);
  // A caller whose process cannot be read is not known to be none of ours.
  if (!facts.ok()) return HostedProcess{std::nullopt, ""};
  absl::MutexLock lock(&mu_);
  for (const auto& [id, child] : children_) {
    if (child->program != nullptr && child->program->Owns(*facts)) {
      return HostedProcess{id, child->name.text()};
    }
  }
  for (const FactoryRegistration& reg : factories_) {
    if (reg.factory->Hosts(*facts)) return HostedProcess{std::nullopt, ""};
  }
  return std::nullopt;
}

absl::StatusOr<ChildInfo> HostedProgramChannel::Launch(
    const StartRequest& request, const std::optional<Caller>& admin,
    uint64_t restart_of, int restarts, int streak) {
  const FactoryRegistration* reg = nullptr;
  for (const FactoryRegistration& r : factories_) {
    if (r.name == request.factory) reg = &r;
  }
  if (reg == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("no factory named '", request.factory, "'"));
  }
  if (std::find(reg->channel_kinds.begin(), reg->channel_kinds.end(),
                request.channel) == reg->channel_kinds.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "factory '", reg->name, "' is not configured for channel kind ",
        ChannelKindName(request.channel)));
  }
  {
    absl::MutexLock lock(&mu_);
    if (stopping_)
      return absl::FailedPreconditionError("the host is shutting down");
  }
  // Measure: the factory decides nothing.
  TAO_ASSIGN_OR_RETURN(std::unique_ptr<HostedProgram> program,
                       reg->factory->NewHostedProgram(request.spec));
  Principal name = host_.name();
  for (const Subprincipal& sub : program->identity().subprincipals) {
    TAO_ASSIGN_OR_RETURN(name, name.Extend(sub));
  }
  // Decide: a denied program never runs. Who asked may start it as it
  // asked, and it may run as it asked.
  const RunAs& run_as = program->identity().run_as;
  auto deny = [&](const Decision& decision) {
    LOG(INFO) << "denied the start of " << request.spec.path << ": "
              << decision.reason;
    Emit(ProgramEvent{ProgramEvent::kDenied, 0, restart_of, name.text(),
                      decision.reason, absl::Now()});
    return absl::PermissionDeniedError(decision.reason);
  };
  if (admin.has_value()) {
    const Decision start = domain_.AuthorizeStart(*admin, name, run_as);
    if (!start.allowed) return deny(start);
  }
  const Decision execute = domain_.AuthorizeExecute(name, run_as);
  if (!execute.allowed) return deny(execute);
  // Connect and start.
  TAO_ASSIGN_OR_RETURN(ChannelPair pair, MakeChannelPair(request.channel));
  TAO_RETURN_IF_ERROR(program->Start(std::move(pair.child)));

  ChildInfo info;
  {
    absl::MutexLock lock(&mu_);
    auto child =
        std::make_unique<Child>(std::move(name), options_.max_frame_size);
    Child& c = *child;
    c.id = next_id_++;
    c.request = request;
    c.admin = admin;
    c.confinement = program->confinement();
    c.restarts = restarts;
    c.previous_id = restart_of;
    c.streak = streak;
    c.factory = reg->name;
    c.channel = request.channel;
    c.pid = program->pid();
    c.started = absl::Now();
    c.in_fd = std::move(pair.host_in);
    c.out_fd = std::move(pair.host_out);
    c.channel_open = true;
    c.output = program->TakeOutput();
    if (!options_.log_dir.empty()) {
      c.log_path = absl::StrCat(options_.log_dir, "/", c.id, ".log");
      c.log.Reset(::open(c.log_path.c_str(),
                         O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
                         0640));
      if (!c.log.valid()) PLOG(WARNING) << "open " << c.log_path;
    }
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.u64 = Tag(c.id, kTagExit);
    if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, program->exit_fd(), &ev) !=
        0) {
      // Without an exit notification the program cannot be managed: stop it.
      absl::Status status =
          absl::ErrnoToStatus(errno, "watch the program's exit");
      auto killed = program->KillTree();
      (void)killed;
      return status;
    }
    if (c.output.valid()) {
      ev.data.u64 = Tag(c.id, kTagOutput);
      if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, c.output.get(), &ev) !=
          0) {
        c.output.Reset();
      }
    }
    c.program = std::move(program);
    ++running_;
    UpdateInterest(c);
    LOG(INFO) << "started program " << c.id << " (pid " << c.pid << ", uid "
              << c.confinement.uid.value_or(0)
              << (c.confinement.dynamic_uid ? " dynamic" : "") << ", cgroup "
              << (c.confinement.cgroup.empty() ? "none" : c.confinement.cgroup)
              << ") as " << ShortName(c.name);
    info = InfoOf(c);
    children_.emplace(c.id, std::move(child));
  }
  Emit(ProgramEvent{
      restart_of == 0 ? ProgramEvent::kStarted : ProgramEvent::kRestarted,
      info.id, restart_of, info.name, request.spec.path, absl::Now()});
  return info;
}

void HostedProgramChannel::RestartLoop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    while (!stopping_ &&
           (restarts_.empty() || restarts_.front().at > absl::Now())) {
      if (restarts_.empty()) {
        restart_cv_.Wait(&mu_);
      } else {
        restart_cv_.WaitWithDeadline(&mu_, restarts_.front().at);
      }
    }
    if (stopping_) return;
    PendingRestart due = std::move(restarts_.front());
    restarts_.pop_front();
    mu_.Unlock();
    auto started = Launch(due.request, due.admin, due.previous_id, due.restarts,
                          due.streak);
    if (!started.ok()) {
      LOG(WARNING) << "could not restart program " << due.previous_id << ": "
                   << started.status();
    }
    mu_.Lock();
  }
}

void HostedProgramChannel::UpdateInterest(Child& c) {
  bool want_in = c.channel_open && c.pending() < options_.max_buffered_output;
  bool want_out = c.channel_open && c.sendable() > 0;
  auto apply = [this, &c](int fd, uint32_t* current, uint32_t wanted,
                          TagKind kind) {
    if (*current == wanted) return;
    struct epoll_event ev = {};
    ev.events = wanted;
    ev.data.u64 = Tag(c.id, kind);
    int op = *current == 0 ? EPOLL_CTL_ADD
                           : (wanted == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD);
    if (::epoll_ctl(epoll_fd_.get(), op, fd, &ev) == 0) *current = wanted;
  };
  if (!c.in_fd.valid()) return;
  const uint32_t in = want_in ? uint32_t{EPOLLIN} : 0u;
  const uint32_t out = want_out ? uint32_t{EPOLLOUT} : 0u;
  if (c.out_fd.valid()) {
    apply(c.in_fd.get(), &c.in_mask, in, kTagChannelIn);
    apply(c.out_fd.get(), &c.out_mask, out, kTagChannelOut);
  } else {
    apply(c.in_fd.get(), &c.in_mask, in | out, kTagChannelIn);
  }
}

void HostedProgramChannel::CloseChannel(Child& c, absl::string_view why) {
  if (!c.channel_open) return;
  LOG(INFO) << "program " << c.id << " lost its channel: " << why;
  c.channel_open = false;
  // Closing removes the descriptors from the epoll set.
  c.in_fd.Reset();
  c.out_fd.Reset();
  c.in_mask = c.out_mask = 0;
  c.reader = FrameReader(options_.max_frame_size);
  c.WipeOutput();
  std::string().swap(c.out);
  c.out_pos = 0;
}

void HostedProgramChannel::ReadRequests(Child& c) {
  // Answer the complete frames already buffered (left by backpressure), then
  // read at most a budget of new bytes, answering as frames complete.
  size_t budget = kReadBudgetBytes;
  int answered = 0;
  // A short read leaves the channel empty for now; epoll (level-triggered)
  // reports it again when more comes, so no read is spent on EAGAIN.
  bool drained = false;
  c.more_ready = false;
  while (c.channel_open) {
    while (c.channel_open && c.pending() < options_.max_buffered_output) {
      if (answered == kMaxRequestsPerTurn) {
        c.more_ready = true;  // come back after the others had their turn
        return;
      }
      absl::string_view frame;
      absl::StatusOr<bool> ready = c.reader.Next(&frame);
      if (!ready.ok()) {
        CloseChannel(c, ready.status().message());
        return;
      }
      if (!*ready) break;
      AuditLog* trail = SyncTrail(domain_);
      const uint64_t before = trail != nullptr ? trail->appended_seq() : 0;
      const size_t start = c.out.size();
      Dispatch(c, frame);
      // An answer that recorded a decision waits for the record's sync.
      if (trail != nullptr && c.out.size() > start &&
          trail->appended_seq() > before) {
        c.held.emplace_back(start, trail->appended_seq());
      }
      ++answered;
    }
    if (drained || budget == 0 || c.pending() >= options_.max_buffered_output) {
      return;
    }
    // Read what the frame in progress still needs (small requests keep a
    // small buffer: a thousand idle programs must not hold 256 KiB each),
    // between kMinReadChunk and kReadChunk at a time.
    size_t want = std::clamp(c.reader.BytesWanted(), kMinReadChunk, kReadChunk);
    size_t room = 0;
    char* dst = c.reader.WritableSpace(want, &room);
    room = std::min({room, budget, kReadChunk});
    ssize_t n = ::read(c.in_fd.get(), dst, room);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN)
        CloseChannel(c, absl::StrCat("read: ", strerror(errno)));
      return;
    }
    if (n == 0) {
      CloseChannel(c, c.reader.mid_frame() ? "closed in the middle of a frame"
                                           : "the program closed it");
      return;
    }
    c.reader.Commit(static_cast<size_t>(n));
    budget -= static_cast<size_t>(n);
    drained = static_cast<size_t>(n) < room;
  }
}

void HostedProgramChannel::FlushResponses(Child& c) {
  // Answers whose records are durable now may go.
  if (!c.channel_open) c.held.clear();
  if (AuditLog* trail = SyncTrail(domain_); !c.held.empty()) {
    const uint64_t durable = trail->durable_seq();
    while (!c.held.empty() && c.held.front().second <= durable) {
      c.held.pop_front();
    }
  }
  if (!c.held.empty()) {
    held_.insert(c.id);
  } else if (!held_.empty()) {
    held_.erase(c.id);
  }
  while (c.channel_open && c.sendable() > 0) {
    ssize_t n;
    if (c.out_fd.valid()) {
      n = ::write(c.out_fd.get(), c.out.data() + c.out_pos, c.sendable());
    } else {
      n = ::send(c.in_fd.get(), c.out.data() + c.out_pos, c.sendable(),
                 MSG_NOSIGNAL);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      // The loop thread blocks SIGPIPE; Loop() consumes the one this raised.
      if (errno == EPIPE && c.out_fd.valid()) sigpipe_raised_ = true;
      CloseChannel(c, absl::StrCat("write: ", strerror(errno)));
      return;
    }
    c.out_pos += static_cast<size_t>(n);
  }
  if (c.pending() == 0) {
    c.WipeOutput();
    c.out_pos = 0;
    if (c.out.capacity() > kKeptBuffer) {
      std::string().swap(c.out);
    } else {
      c.out.clear();
    }
  }
}

void HostedProgramChannel::DrainOutput(Child& c) {
  if (!c.output.valid()) return;
  char buf[65536];
  for (int rounds = 0; rounds < 64; ++rounds) {
    ssize_t n = ::read(c.output.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      c.output.Reset();
      return;
    }
    // Write in pieces that never take the file past the cap; rotate (once:
    // <id>.log -> <id>.log.1) whenever it is full.
    const char* data = buf;
    size_t left = static_cast<size_t>(n);
    while (left > 0 && c.log.valid()) {
      if (c.log_bytes >= options_.max_log_bytes) {
        std::string old = absl::StrCat(c.log_path, ".1");
        ::rename(c.log_path.c_str(), old.c_str());
        c.log.Reset(::open(c.log_path.c_str(),
                           O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
                           0600));
        c.log_bytes = 0;
        continue;
      }
      size_t piece = std::min(left, options_.max_log_bytes - c.log_bytes);
      ssize_t w = ::write(c.log.get(), data, piece);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;  // a full disk loses log lines, never the program
      c.log_bytes += static_cast<size_t>(w);
      data += w;
      left -= static_cast<size_t>(w);
    }
  }
}

void HostedProgramChannel::HandleExit(Child& c) {
  if (c.program == nullptr) return;
  // The pidfd is readable: the program has exited and is a zombie, so its
  // pid (and process group id) cannot be reused yet. What it left behind
  // goes with it (its cgroup, else its process group): a hosted program's
  // children do not outlive it.
  auto killed = c.program->KillTree();
  (void)killed;
  absl::StatusOr<ExitStatus> status = c.program->Reap();
  if (!status.ok()) return;  // spurious: not exited yet
  DrainOutput(c);
  c.output.Reset();
  c.log.Reset();
  CloseChannel(c, "the program exited");
  c.exit = *status;
  c.state = ProgramState::kExited;
  c.kill_deadline.reset();
  with_deadline_.erase(c.id);
  program_exited_ = true;
  c.program.reset();  // closes its pidfd, which leaves the epoll set
  --running_;
  LOG(INFO) << "program " << c.id << " (pid " << c.pid
            << ") ended: " << status->ToString();
  pending_events_.push_back(ProgramEvent{ProgramEvent::kExited, c.id,
                                         c.previous_id, c.name.text(),
                                         status->ToString(), absl::Now()});
  const RestartPolicy& policy = c.request.restart;
  bool wanted =
      policy.mode == RestartPolicy::kAlways ||
      (policy.mode == RestartPolicy::kOnFailure && !status->success());
  if (wanted && !c.no_restart && !stopping_) {
    // A run longer than the longest back-off starts the back-off afresh.
    int streak =
        absl::Now() - c.started > policy.max_backoff ? 0 : c.streak + 1;
    if (policy.max_restarts > 0 && streak > policy.max_restarts) {
      LOG(INFO) << "program " << c.id << " failed " << streak - 1
                << " restarts in a row; giving up";
    } else {
      absl::Duration backoff = policy.initial_backoff;
      for (int i = 1; i < streak && backoff < policy.max_backoff; ++i)
        backoff *= 2;
      backoff = std::min(backoff, policy.max_backoff);
      PendingRestart restart{absl::Now() + backoff,
                             c.id,
                             c.restarts + 1,
                             streak,
                             c.request,
                             c.admin};
      auto at = std::upper_bound(
          restarts_.begin(), restarts_.end(), restart.at,
          [](absl::Time t, const PendingRestart& r) { return t < r.at; });
      restarts_.insert(at, std::move(restart));
      restart_cv_.Signal();
    }
  }
  exited_cv_.SignalAll();
  ForgetOldExited();
}

void HostedProgramChannel::ForgetOldExited() {
  size_t exited = children_.size() - running_;
  for (auto it = children_.begin();
       exited > options_.max_exited_programs && it != children_.end();) {
    if (it->second->state == ProgramState::kExited) {
      it = children_.erase(it);
      --exited;
    } else {
      ++it;
    }
  }
}

absl::Duration HostedProgramChannel::ExpireDeadlines() {
  // Only the programs being stopped are visited, not every program.
  absl::Time now = absl::Now();
  absl::Duration next = absl::InfiniteDuration();
  for (auto it = with_deadline_.begin(); it != with_deadline_.end();) {
    auto found = children_.find(*it);
    if (found == children_.end() || found->second->program == nullptr ||
        !found->second->kill_deadline.has_value()) {
      it = with_deadline_.erase(it);
      continue;
    }
    Child& child = *found->second;
    if (*child.kill_deadline <= now) {
      LOG(INFO) << "program " << child.id
                << " did not stop in time; killing it";
      auto killed = child.program->KillTree();
      (void)killed;
      child.kill_deadline.reset();
      it = with_deadline_.erase(it);
    } else {
      next = std::min(next, *child.kill_deadline - now);
      ++it;
    }
  }
  return next;
}

void HostedProgramChannel::ServeChannel(Child& c) {
  FlushResponses(c);
  ReadRequests(c);
  FlushResponses(c);
  c.reader.ShrinkIfIdle(kKeptBuffer);
  // Frames left buffered (by the per-turn cap, or by backpressure that the
  // flush just relieved) get no new epoll event: remember them.
  if (c.channel_open && c.pending() < options_.max_buffered_output &&
      (c.more_ready || c.reader.HasFrame())) {
    ready_.insert(c.id);
  } else {
    ready_.erase(c.id);
  }
  UpdateInterest(c);
}

// True if orphans are reparented to this process: it is PID 1, or a child
// subreaper.
bool AdoptsOrphans() {
  int subreaper = 0;
  return ::getpid() == 1 ||
         (::prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0) == 0 &&
          subreaper != 0);
}

void HostedProgramChannel::ReapOrphans() {
  // Children of this process that are not programs of ours: descendants
  // reparented to us (we kill a program's process group when it exits).
  // Only zombies are reaped, each by its pid, so no program's status is
  // ever taken from its pidfd handler.
  std::set<pid_t> ours;
  for (const auto& [id, child] : children_) {
    if (child->program != nullptr) ours.insert(child->pid);
  }
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return;
  while (struct dirent* task = ::readdir(tasks)) {
    if (task->d_name[0] == '.') continue;
    std::ifstream children(
        absl::StrCat("/proc/self/task/", task->d_name, "/children"));
    pid_t pid;
    while (children >> pid) {
      if (ours.count(pid) != 0) continue;
      std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
      std::string line;
      std::getline(stat, line);
      size_t close = line.rfind(')');
      if (close == std::string::npos || close + 2 >= line.size() ||
          line[close + 2] != 'Z') {
        continue;
      }
      if (::waitpid(pid, nullptr, WNOHANG) == pid) {
        VLOG(1) << "reaped orphan " << pid;
      }
    }
  }
  ::closedir(tasks);
}

void HostedProgramChannel::HandleEvent(uint64_t tag, uint32_t events) {
  auto it = children_.find(tag >> 2);
  if (it == children_.end()) return;
  Child& c = *it->second;
  switch (static_cast<TagKind>(tag & 3)) {
    case kTagChannelIn:
    case kTagChannelOut:
      (void)events;
      // Level-triggered: whatever woke us, make what progress a turn allows.
      ServeChannel(c);
      break;
    case kTagExit:
      HandleExit(c);
      break;
    case kTagOutput:
      DrainOutput(c);
      break;
  }
}

void HostedProgramChannel::Loop() {
  // Writes to a vanished program's pipe must not kill the host: block
  // SIGPIPE on this thread (writes then fail with EPIPE).
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
  // Decisions made here never wait for the disk; their answers wait in
  // `held` instead.
  AuditLog::HoldAnswersOnThisThread();
  struct epoll_event events[64];
  absl::Duration timeout = absl::InfiniteDuration();
  while (true) {
    int timeout_ms = timeout == absl::InfiniteDuration()
                         ? -1
                         : static_cast<int>(std::max<int64_t>(
                               1, absl::ToInt64Milliseconds(timeout) + 1));
    bool has_ready;
    {
      absl::MutexLock lock(&mu_);
      has_ready = !ready_.empty();
    }
    int n =
        ::epoll_wait(epoll_fd_.get(), events, 64, has_ready ? 0 : timeout_ms);
    if (n < 0 && errno != EINTR) {
      PLOG(ERROR) << "epoll_wait";
      continue;
    }
    // The lock is taken per event, not per batch, so admin calls get in
    // between programs.
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kWakeTag) {
        uint64_t count;
        ssize_t r = ::read(wake_fd_.get(), &count, sizeof(count));
        (void)r;
        continue;
      }
      if (events[i].data.u64 == kAuditTag) {
        uint64_t count;
        ssize_t r = ::read(domain_.audit()->wake_fd(), &count, sizeof(count));
        (void)r;
        absl::MutexLock lock(&mu_);
        std::vector<uint64_t> held(held_.begin(), held_.end());
        for (uint64_t id : held) {
          auto it = children_.find(id);
          if (it == children_.end()) {
            held_.erase(id);
            continue;
          }
          FlushResponses(*it->second);
          UpdateInterest(*it->second);
        }
        continue;
      }
      absl::MutexLock lock(&mu_);
      HandleEvent(events[i].data.u64, events[i].events);
    }
    std::vector<uint64_t> ready;
    {
      absl::MutexLock lock(&mu_);
      ready.assign(ready_.begin(), ready_.end());
    }
    for (uint64_t id : ready) {
      absl::MutexLock lock(&mu_);
      auto it = children_.find(id);
      if (it == children_.end()) {
        ready_.erase(id);
        continue;
      }
      ServeChannel(*it->second);
    }
    std::vector<ProgramEvent> to_emit;
    {
      absl::MutexLock lock(&mu_);
      if (sigpipe_raised_) {
        // Consume the SIGPIPE our write to a closed pipe raised (blocked on
        // this thread), so none stays pending.
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
        }
        sigpipe_raised_ = false;
      }
      timeout = ExpireDeadlines();
      // Whether we adopt orphans (PID 1, or a subreaper) is asked again when
      // a program has exited (what leaves orphans) and once a second, not
      // with two syscalls on every turn.
      const absl::Time now = absl::Now();
      if (program_exited_ ||
          now - last_adoption_check_ >= kOrphanScanInterval) {
        adopts_orphans_ = AdoptsOrphans();
        last_adoption_check_ = now;
        program_exited_ = false;
      }
      if (adopts_orphans_) {
        // As PID 1 or a subreaper we inherit what programs leave behind:
        // reap it at least once a second.
        if (now - last_orphan_scan_ >= kOrphanScanInterval) {
          ReapOrphans();
          last_orphan_scan_ = absl::Now();
        }
        timeout = std::min(timeout, kOrphanScanInterval);
      }
      to_emit.swap(pending_events_);
      if (shut_down_) return;
    }
    for (ProgramEvent& event : to_emit) Emit(std::move(event));
  }
}

absl::Status HostedProgramChannel::Signal(uint64_t id, int signal,
                                          std::optional<absl::Duration> grace) {
  absl::MutexLock lock(&mu_);
  auto it = children_.find(id);
  if (it == children_.end()) {
    return absl::NotFoundError(absl::StrCat("no hosted program ", id));
  }
  Child& c = *it->second;
  if (c.program == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "program ", id, " already exited (", c.exit->ToString(), ")"));
  }
  TAO_RETURN_IF_ERROR(signal == SIGKILL ? c.program->KillTree()
                                        : c.program->Signal(signal));
  c.no_restart = true;
  if (grace.has_value()) {
    c.state = ProgramState::kStopping;
    absl::Time deadline = absl::Now() + *grace;
    if (!c.kill_deadline.has_value() || deadline < *c.kill_deadline) {
      c.kill_deadline = deadline;
      with_deadline_.insert(c.id);
    }
    Wake();
  }
  return absl::OkStatus();
}

absl::Status HostedProgramChannel::StopHostedProgram(uint64_t id,
                                                     absl::Duration grace) {
  return Signal(id, SIGTERM, grace);
}

absl::Status HostedProgramChannel::KillHostedProgram(uint64_t id) {
  return Signal(id, SIGKILL, std::nullopt);
}

ChildInfo HostedProgramChannel::InfoOf(const Child& c) const {
  ChildInfo info;
  info.id = c.id;
  info.name = c.name.text();
  info.pid = c.pid;
  info.factory = c.factory;
  info.channel = c.channel;
  info.state = c.state;
  info.started = c.started;
  info.exit = c.exit;
  info.calls = c.calls;
  info.denials = c.denials;
  info.log_path = c.log_path;
  info.path = c.request.spec.path;
  info.restart = c.request.restart.mode;
  info.restarts = c.restarts;
  info.previous_id = c.previous_id;
  info.confinement = c.confinement;
  return info;
}

std::vector<ChildInfo> HostedProgramChannel::ListHostedPrograms() const {
  absl::MutexLock lock(&mu_);
  std::vector<ChildInfo> out;
  out.reserve(children_.size());
  for (const auto& [id, child] : children_) out.push_back(InfoOf(*child));
  return out;
}

absl::StatusOr<ChildInfo> HostedProgramChannel::GetHostedProgram(
    uint64_t id) const {
  absl::MutexLock lock(&mu_);
  auto it = children_.find(id);
  if (it == children_.end()) {
    return absl::NotFoundError(absl::StrCat("no hosted program ", id));
  }
  return InfoOf(*it->second);
}

absl::StatusOr<ChildInfo> HostedProgramChannel::WaitHostedProgram(
    uint64_t id, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (true) {
    auto it = children_.find(id);
    if (it == children_.end()) {
      return absl::NotFoundError(absl::StrCat("no hosted program ", id));
    }
    if (it->second->state == ProgramState::kExited) return InfoOf(*it->second);
    if (exited_cv_.WaitWithDeadline(&mu_, deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("program ", id, " is still running"));
    }
  }
}

size_t HostedProgramChannel::running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

void HostedProgramChannel::Shutdown(absl::Duration grace) {
  bool first = false;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    first = !stopping_;
    stopping_ = true;
    restarts_.clear();
    restart_cv_.SignalAll();
    absl::Time deadline = absl::Now() + grace;
    for (auto& [id, child] : children_) {
      if (child->program == nullptr) continue;
      auto signaled = grace > absl::ZeroDuration()
                          ? child->program->Signal(SIGTERM)
                          : child->program->KillTree();
      (void)signaled;
      child->state = ProgramState::kStopping;
      if (!child->kill_deadline.has_value() ||
          deadline < *child->kill_deadline) {
        child->kill_deadline = deadline;
        with_deadline_.insert(id);
      }
    }
  }
  Wake();
  {
    absl::MutexLock lock(&mu_);
    while (running_ > 0) exited_cv_.Wait(&mu_);
    if (!first) {
      // Another caller tears the loop down; wait until it has.
      while (!joined_) exited_cv_.Wait(&mu_);
      return;
    }
    shut_down_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
  if (restart_thread_.joinable()) restart_thread_.join();
  absl::MutexLock lock(&mu_);
  joined_ = true;
  exited_cv_.SignalAll();
}

bool HostedProgramChannel::Answer(Child& c, absl::string_view frame,
                                  std::string* out) {
  // The handler parses, asks the domain and acts; the loop counts and wipes.
  auto answered =
      handler_.AnswerFrame(frame, &c.name, options_.max_frame_size, out);
  if (!answered.ok()) {
    CloseChannel(c, answered.status().message());
    return false;
  }
  ++c.calls;
  if (answered->code == absl::StatusCode::kPermissionDenied) ++c.denials;
  // A Seal's plaintext does not outlive its answer in the frame reader.
  if (answered->request_held_secret) c.reader.Wipe(frame);
  return answered->response_holds_secret;
}

void HostedProgramChannel::Dispatch(Child& c, absl::string_view frame) {
  if (!c.out_has_secret) {
    c.out_has_secret = Answer(c, frame, &c.out);
    return;
  }
  // `c.out` still holds unsealed plaintext that is not sent yet, and growing
  // it in place would free that copy unwiped. Answer into a staging buffer,
  // then move both to a larger buffer by hand, wiping what is left behind.
  std::string staged;
  const bool staged_secret = Answer(c, frame, &staged);
  if (c.channel_open) {
    if (c.out.capacity() - c.out.size() >= staged.size()) {
      c.out.append(staged);
    } else {
      std::string grown;
      grown.reserve(
          std::max(2 * c.out.capacity(), c.out.size() + staged.size()));
      grown.append(c.out).append(staged);
      OPENSSL_cleanse(c.out.data(), c.out.size());
      c.out.swap(grown);
    }
  }
  if (staged_secret) OPENSSL_cleanse(staged.data(), staged.size());
}

}  // namespace tao
