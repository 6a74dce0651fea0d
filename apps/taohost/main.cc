// taohost: the Tao host runtime as the root of a process tree. It loads (or
// creates) the host's keys, the domain's signed policy and its audit trail,
// runs the listen loop with the process factory, serves the admin API on a
// unix socket, starts the configured programs, and shuts down gracefully on
// SIGTERM/SIGINT (SIGHUP reloads the policy).
#include <gflags/gflags.h>
#include <glog/logging.h>
#include <google/protobuf/stubs/logging.h>
#include <grp.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "admin/admin_server.h"
#include "admin/admin_service.h"
#include "admin/loop_program_host.h"
#include "admin/start_request.h"
#include "apps/common/cli.h"
#include "apps/taohost/config.h"
#include "apps/taohost/factories.h"
#include "apps/taohost/host_files.h"
#include "apps/taohost/notify.h"
#include "apps/taohost/root.h"
#include "channels/channel_kinds.h"
#include "channels/hosted_program_channel.h"
#include "program_factory/internal/identity.h"
#include "tao/file_util.h"
#include "tao/name_presentation.h"
#include "tao_domain/audit_log.h"
#include "tao_domain/tao_domain.h"

DEFINE_string(
    config, "",
    "Configuration file (protobuf text format, see docs/taohost.md).");
DEFINE_string(keys_dir, "", "Overrides keys_dir: the host's key directory.");
DEFINE_string(passphrase_file, "",
              "Overrides passphrase_file (else TAO_PASSPHRASE is used).");
DEFINE_string(domain_dir, "",
              "Overrides domain_dir: holds policy_name and policy.signed.");
DEFINE_string(runtime_dir, "", "Overrides runtime_dir (default /run/tao).");
DEFINE_string(admin_socket, "",
              "Overrides admin_socket (default <runtime_dir>/admin.sock).");
DEFINE_string(state_root, "",
              "Overrides state_root: where programs' state directories "
              "live.");
DEFINE_string(policy_key_file, "",
              "Overrides policy_key_file: the pinned policy key (default "
              "/etc/tao/policy_key), owned by root, not group/other "
              "writable.");
DEFINE_string(factories, "",
              "Overrides factories: a comma-separated list of process, "
              "enclave and vm (enclave and vm are off unless listed).");
DEFINE_string(root, "",
              "Overrides root: soft (keys under a passphrase, the default) "
              "stacked (a hosted program of another taohost; "
              "docs/stacking.md) or tpm2 (docs/tpm2-root.md).");
DEFINE_string(tpm2_tcti, "",
              "Overrides tpm2_tcti: the TPM's TCTI for --root=tpm2 (default "
              "device:/dev/tpmrm0).");
DEFINE_string(tpm2_pcrs, "",
              "Overrides tpm2_pcrs: the SHA-256 PCRs quoted and sealed to "
              "(default 0,2,4,7).");
DEFINE_string(tpm2_pcr_authorization, "",
              "Overrides tpm2_pcr_authorization: a domain-signed PCR set "
              "(tao-domain sign-pcrs).");
DEFINE_uint64(scrypt_n, 1 << 15,
              "scrypt cost N when the host's keys are created.");
// The audit trail.
DEFINE_string(state_dir, "",
              "Overrides state_dir (default /var/lib/tao): the audit trail "
              "lives in <state_dir>/audit.");
DEFINE_string(audit_log, "",
              "Overrides audit_log (default <state_dir>/audit/audit.log).");
DEFINE_string(audit_durability, "", "Overrides audit_durability: sync|batch.");
DEFINE_bool(audit_accept_new_chain, false,
            "Start a new audit chain although the trail does not match its "
            "signed checkpoint (missing, shorter, replaced); the old files "
            "are moved aside and the new chain's first record names the old "
            "checkpoint. An explicit operator action: never in a unit file.");

namespace tao {
namespace {

constexpr absl::string_view kUsage = R"usage(the Tao host runtime.

Usage:
  taohost --config=/etc/tao/taohost.conf
  taohost --keys_dir=K --domain_dir=D --runtime_dir=R

Starts the host: loads or creates the keys in keys_dir (passphrase from
passphrase_file or TAO_PASSPHRASE), verifies the domain's policy.signed against
the key pinned in policy_key_file (default /etc/tao/policy_key) and refuses a
policy serial lower than it accepted before, opens the audit trail, serves the
admin API on a unix socket (mode 0660) and starts the configured programs.
Drive it with taoctl.

Signals: SIGTERM and SIGINT stop every program (grace, then SIGKILL) and exit;
SIGHUP reloads the policy (a bad policy leaves the old one in force).

It exits 0 after a clean shutdown, 2 on a usage or configuration error and
6 when it cannot start (keys, policy, socket; the message says why).)usage";

absl::StatusOr<TaohostConfig> LoadConfig() {
  TaohostConfig config;
  if (!FLAGS_config.empty()) {
    auto text = ReadFileToString(FLAGS_config, 1 << 20);
    if (!text.ok()) return text.status();
    auto parsed = ParseTaohostConfig(*text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(FLAGS_config, ": ", parsed.status().message()));
    }
    config = *std::move(parsed);
  }
  if (!FLAGS_keys_dir.empty()) config.set_keys_dir(FLAGS_keys_dir);
  if (!FLAGS_passphrase_file.empty())
    config.set_passphrase_file(FLAGS_passphrase_file);
  if (!FLAGS_domain_dir.empty()) config.set_domain_dir(FLAGS_domain_dir);
  if (!FLAGS_runtime_dir.empty()) config.set_runtime_dir(FLAGS_runtime_dir);
  if (!FLAGS_admin_socket.empty()) config.set_admin_socket(FLAGS_admin_socket);
  if (!FLAGS_state_root.empty()) config.set_state_root(FLAGS_state_root);
  if (!FLAGS_policy_key_file.empty())
    config.set_policy_key_file(FLAGS_policy_key_file);
  if (!FLAGS_state_dir.empty()) config.set_state_dir(FLAGS_state_dir);
  if (!FLAGS_audit_log.empty()) config.set_audit_log(FLAGS_audit_log);
  if (!FLAGS_audit_durability.empty()) {
    if (FLAGS_audit_durability != "sync" && FLAGS_audit_durability != "batch")
      return absl::InvalidArgumentError("--audit_durability: sync or batch");
    config.set_audit_durability(FLAGS_audit_durability);
  }
  if (!FLAGS_root.empty()) config.set_root(FLAGS_root);
  if (!FLAGS_factories.empty()) {
    config.clear_factories();
    for (absl::string_view f : absl::StrSplit(FLAGS_factories, ',')) {
      config.add_factories(std::string(f));
    }
  }
  if (!FLAGS_tpm2_tcti.empty()) config.set_tpm2_tcti(FLAGS_tpm2_tcti);
  if (!FLAGS_tpm2_pcrs.empty()) config.set_tpm2_pcrs(FLAGS_tpm2_pcrs);
  if (!FLAGS_tpm2_pcr_authorization.empty())
    config.set_tpm2_pcr_authorization(FLAGS_tpm2_pcr_authorization);
  absl::Status root_defaults = ApplyRootDefaults(&config);
  if (!root_defaults.ok()) return root_defaults;
  ApplyTaohostDefaults(&config);
  if (config.keys_dir().empty() || config.domain_dir().empty()) {
    return absl::InvalidArgumentError(
        "keys_dir and domain_dir are required (in --config or as flags)");
  }
  return config;
}

// protobuf logs an ERROR for every malformed string field it parses; a
// hosted program could use that to flood the host's log. Keep those lines
// at verbosity 1 (the loop already logs the closed channel once).
void ProtobufLogToVlog(google::protobuf::LogLevel level, const char* file,
                       int line, const std::string& message) {
  VLOG(1) << "protobuf (" << file << ":" << line << ", level " << level
          << "): " << message;
}

int Run(const TaohostConfig& config) {
  google::protobuf::SetLogHandler(&ProtobufLogToVlog);
  // Debian's Abseil checks lock order on every acquisition; the profile of
  // a start shows it at 2-4% of the host's CPU. Lock-order mistakes are
  // caught in the tests' builds instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Signals are taken synchronously by the main thread; every thread made
  // from here on inherits the mask. Writes to vanished peers must not kill us.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Start-up hygiene (apps/taohost/host_files.h): non-dumpable before any
  // secret is read, the passphrase out of the environment at once, the
  // directories checked before anything in them is trusted.
  absl::Status hardened = HardenHostProcess();
  if (!hardened.ok()) {
    PrintError("taohost", hardened);
    return kExitFailure;
  }
  // The root (apps/taohost/root.h): the only part that knows which it is.
  auto root = MakeHostRoot(config, FLAGS_scrypt_n);
  if (!root.ok()) {
    PrintError("taohost", root.status());
    return kExitUsage;
  }
  absl::Status dirs = PrepareHostDirectories(config);
  if (!dirs.ok()) {
    PrintError("taohost", dirs);
    return kExitFailure;
  }
  const absl::Time open_start = absl::Now();
  absl::Status opened = (*root)->Open();
  if (!opened.ok()) {
    PrintError("taohost", opened);
    return kExitFailure;
  }
  const TaoHost& host = (*root)->host();
  LOG(INFO) << "host name (" << (*root)->kind()
            << " root): " << ShortName(host.name()) << "; root opened in "
            << absl::ToDoubleMilliseconds(absl::Now() - open_start) << " ms";
  if (!(*root)->platform_state().empty()) {
    LOG(INFO) << "platform state: " << (*root)->platform_state();
  }

  auto policy_key = LoadPinnedPolicyKey(config.policy_key_file());
  if (!policy_key.ok()) {
    PrintError("taohost", policy_key.status());
    return kExitFailure;
  }
  auto policy_file = PolicyFile::Open(config, host, *policy_key);
  if (!policy_file.ok()) {
    PrintError("taohost", policy_file.status());
    return kExitFailure;
  }
  const std::string policy_path = (*policy_file)->path();
  auto load_policy = [file = policy_file->get()] { return file->Load(); };
  auto signed_policy = load_policy();
  if (!signed_policy.ok()) {
    PrintError("taohost", signed_policy.status());
    return kExitFailure;
  }
  // The audit trail: its directory is state (0700, created on first start).
  // The state directory itself is 0711, so that programs may pass through
  // it to their own state directories under state_root.
  const std::string audit_dir =
      config.audit_log().substr(0, config.audit_log().rfind('/'));
  std::vector<std::string> audit_dirs = {audit_dir};
  if (absl::StartsWith(audit_dir, config.state_dir() + "/")) {
    audit_dirs.insert(audit_dirs.begin(), config.state_dir());
  }
  for (const std::string& dir : audit_dirs) {
    absl::Status made =
        EnsureDirectory(dir, dir == config.state_dir() ? 0711 : 0700);
    if (!made.ok()) {
      PrintError("taohost", made);
      return kExitFailure;
    }
  }
  AuditLogOptions audit_options;
  audit_options.durability = config.audit_durability() == "sync"
                                 ? AuditDurability::kSync
                                 : AuditDurability::kBatch;
  audit_options.batch_window =
      absl::Milliseconds(config.audit_batch_window_ms());
  audit_options.max_bytes = config.audit_max_bytes();
  audit_options.keep_files = static_cast<int>(config.audit_keep_files());
  audit_options.checkpoint_key = &host.signing_key();
  audit_options.accept_new_chain = FLAGS_audit_accept_new_chain;
  auto audit = AuditLog::Open(config.audit_log(), audit_options);
  if (!audit.ok()) {
    PrintError("taohost", audit.status());
    return kExitFailure;
  }
  RealClock clock;
  TaoDomainOptions domain_options;
  domain_options.rate.per_second = config.audit_rate_per_program();
  domain_options.rate.burst = config.audit_rate_burst();
  domain_options.host_state = (*root)->platform_state();
  auto domain = TaoDomain::Create(*policy_key, *signed_policy, audit->get(),
                                  clock, domain_options);
  if (!domain.ok()) {
    PrintError("taohost",
               absl::Status(
                   domain.status().code(),
                   absl::StrCat(policy_path, ": ", domain.status().message())));
    return kExitFailure;
  }
  LOG(INFO) << "domain '" << (*domain)->domain_name() << "' policy loaded";

  // The one event bus: the loop publishes on it, WatchEvents streams
  // subscribe to it, and SIGHUP's policy reloads are announced on it.
  EventBus events;
  auto uid_range = ParseUidRange(config.dynamic_uid_range());
  if (!uid_range.ok()) {
    PrintError("taohost", uid_range.status());
    return kExitUsage;
  }
  auto factories = MakeHostFactories(config, host.name().text(), *uid_range);
  if (!factories.ok()) {
    PrintError("taohost", factories.status());
    return kExitFailure;
  }
  // Every shm channel from here on has the config's ring size and spin.
  absl::Status shm = ConfigureShmChannels(ShmOptionsOf(config));
  if (!shm.ok()) {
    PrintError("taohost", shm);
    return kExitUsage;
  }
  HostedProgramChannelOptions loop_options;
  // Program logs go to a directory of this host run, <log_dir>/<run>/
  // <id>.log: ids start at 1 again after a restart, and the logs of an
  // earlier run must not be overwritten.
  auto run_log_dir = MakeRunLogDirectory(config.log_dir());
  if (!run_log_dir.ok()) {
    PrintError("taohost", run_log_dir.status());
    return kExitFailure;
  }
  LOG(INFO) << "program logs of this run in " << *run_log_dir;
  loop_options.log_dir = *run_log_dir;
  loop_options.max_frame_size = config.max_frame_size();
  loop_options.events = &events;
  auto loop = HostedProgramChannel::Create(
      host, **domain, factories->registrations, loop_options);
  if (!loop.ok()) {
    PrintError("taohost", loop.status());
    return kExitFailure;
  }

  std::atomic<bool> shutdown_requested{false};
  AdminServiceOptions admin_options;
  admin_options.load_policy = load_policy;
  admin_options.root = std::string((*root)->kind());
  admin_options.platform_state = (*root)->platform_state();
  admin_options.request_shutdown = [&shutdown_requested] {
    shutdown_requested = true;
    ::kill(::getpid(), SIGTERM);
  };
  PeerCredentialRegistry peers;
  // The admin service sees the loop through its ProgramHost seam.
  LoopProgramHost program_host(**loop);
  AdminServiceImpl service(program_host, **domain, host, peers, events,
                           admin_options);
  AdminServerOptions server_options;
  server_options.socket_path = config.admin_socket();
  server_options.socket_mode = static_cast<mode_t>(config.admin_socket_mode());
  server_options.max_connections_per_uid =
      config.admin_max_connections_per_uid();
  server_options.max_connections = config.admin_max_connections();
  server_options.root_reserved_connections =
      config.admin_root_reserved_connections();
  if (!config.admin_socket_group().empty()) {
    struct group* group = ::getgrnam(config.admin_socket_group().c_str());
    if (group == nullptr) {
      PrintError("taohost",
                 absl::InvalidArgumentError(absl::StrCat(
                     "no group named '", config.admin_socket_group(), "'")));
      return kExitUsage;
    }
    server_options.socket_group = group->gr_gid;
  }
  auto server = AdminServer::Start(server_options, &service, &peers);
  if (!server.ok()) {
    PrintError("taohost", server.status());
    return kExitFailure;
  }
  LOG(INFO) << "admin socket ready at " << config.admin_socket();
  std::cout << "taohost: admin socket ready at " << config.admin_socket()
            << std::endl;
  NotifyReady(absl::StrCat("serving on ", config.admin_socket(),
                           "; starting the configured programs"));

  for (const admin::StartHostedProgramRequest& program : config.programs()) {
    // The config was checked at load (config.cc), with this conversion.
    auto request = StartRequestFromProto(program);
    if (!request.ok()) {
      LOG(ERROR) << "boot program did not start: " << request.status();
      continue;
    }
    if (!program.service().empty()) {
      absl::Status named = ValidateServiceName(program.service());
      if (!named.ok()) {
        LOG(ERROR) << "boot program " << program.path()
                   << " not started: " << named;
        continue;
      }
    }
    auto started = (*loop)->StartHostedProgram(*request);
    if (!started.ok()) {
      LOG(ERROR) << "boot program " << LaunchTarget(request->spec)
                 << " did not start: " << started.status();
    } else {
      service.services().Record(program.service(), started->id);
    }
  }

  NotifyStatus(absl::StrCat("serving on ", config.admin_socket(), "; ",
                            config.programs_size(),
                            " configured programs started"));
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      NotifyReloading("SIGHUP: reloading the domain policy");
      auto bytes = load_policy();
      absl::Status reloaded =
          bytes.ok() ? (*domain)->Reload(*bytes, "SIGHUP") : bytes.status();
      if (reloaded.ok()) {
        LOG(INFO) << "SIGHUP: reloaded the policy of domain '"
                  << (*domain)->domain_name() << "'";
        ProgramEvent event;
        event.kind = ProgramEvent::kPolicyReloaded;
        event.name = (*domain)->domain_name();
        event.time = absl::Now();
        events.Publish(event);
        NotifyReady(absl::StrCat("serving on ", config.admin_socket(),
                                 "; policy of domain '",
                                 (*domain)->domain_name(), "' reloaded"));
      } else {
        LOG(ERROR)
            << "SIGHUP: policy not reloaded, the old one stays in force: "
            << reloaded;
        NotifyReady(absl::StrCat(
            "serving on ", config.admin_socket(),
            "; policy reload failed, the old one stays: ", reloaded.message()));
      }
      continue;
    }
    LOG(INFO) << (shutdown_requested ? "shutdown requested" : strsignal(sig))
              << ": stopping every program";
    NotifyStopping("stopping every program");
    break;
  }
  (*loop)->Shutdown(absl::Milliseconds(config.shutdown_grace_ms()));
  events.Close();
  // Every program is stopped and every stream closed: only idle client
  // connections remain, and they need not hold the exit up.
  (*server)->Shutdown(absl::Milliseconds(100));
  LOG(INFO) << "taohost stopped cleanly";
  return kExitOk;
}

}  // namespace
}  // namespace tao

int main(int argc, char** argv) {
  std::vector<std::string> args =
      tao::InitApp(tao::kUsage, "apps/taohost/", &argc, &argv);
  if (!args.empty()) {
    std::cerr << "taohost: unexpected argument '" << args[0]
              << "'; see --help\n";
    return tao::kExitUsage;
  }
  auto config = tao::LoadConfig();
  if (!config.ok()) {
    tao::PrintError("taohost", config.status());
    return tao::kExitUsage;
  }
  int code = tao::Run(*config);
  if (::getpid() == 1 && code == tao::kExitOk) {
    // The init of a VM guest (docs/vm.md): a clean stop powers the guest
    // off. Any other end returns, and the kernel's panic (reported to the
    // VM's host through pvpanic) says that the guest's host failed.
    ::sync();
    ::reboot(RB_POWER_OFF);
  }
  return code;
}
