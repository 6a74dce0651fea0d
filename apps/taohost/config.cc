#include "apps/taohost/config.h"

#include <google/protobuf/text_format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "admin/start_request.h"
#include "channels/virtio_serial_transport.h"
#include "program_factory/internal/state_directory.h"
#include "program_factory/process_factory.h"
#include "tao/text_proto.h"

namespace tao {
namespace {

absl::Status CheckPath(absl::string_view field, const std::string& path) {
  if (!path.empty() && path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "taohost config: ", field, " '", path, "' must be absolute"));
  }
  return absl::OkStatus();
}

}  // namespace

ShmTransportOptions ShmOptionsOf(const TaohostConfig& config) {
  ShmTransportOptions options;
  if (config.shm_ring_bytes() != 0) options.ring_size = config.shm_ring_bytes();
  // Clamped so that a huge value stays huge (and refused) as an int.
  options.spin = static_cast<int>(std::min<uint32_t>(
      config.shm_spin(), static_cast<uint32_t>(kShmMaxSpin) + 1));
  return options;
}

absl::StatusOr<TaohostConfig> ParseTaohostConfig(absl::string_view text) {
  if (text.size() > (1 << 20)) {
    return absl::InvalidArgumentError("taohost config is larger than 1 MiB");
  }
  TaohostConfig config;
  absl::Status parsed = ParseTextProto("taohost config", text, &config);
  if (!parsed.ok()) return parsed;
  for (const auto& [field, path] :
       std::vector<std::pair<const char*, const std::string*>>{
           {"keys_dir", &config.keys_dir()},
           {"passphrase_file", &config.passphrase_file()},
           {"domain_dir", &config.domain_dir()},
           {"runtime_dir", &config.runtime_dir()},
           {"admin_socket", &config.admin_socket()},
           {"log_dir", &config.log_dir()},
           {"audit_log", &config.audit_log()},
           {"policy_key_file", &config.policy_key_file()},
           {"state_dir", &config.state_dir()}}) {
    absl::Status ok = CheckPath(field, *path);
    if (!ok.ok()) return ok;
  }
  bool vm = false;
  for (const std::string& factory : config.factories()) {
    if (factory == "vm") {
      vm = true;
    } else if (factory != "process" && factory != "enclave") {
      return absl::InvalidArgumentError(
          absl::StrCat("taohost config: unknown factory '", factory,
                       "' (available: process, enclave, vm)"));
    }
  }
  if (vm) {
    // The VM factory's channel kind exists only on hosts that serve VMs.
    absl::Status registered = RegisterVirtioSerialChannelKind();
    if (!registered.ok()) return registered;
  }
  if (!config.vm_accel().empty() && config.vm_accel() != "auto" &&
      config.vm_accel() != "kvm" && config.vm_accel() != "tcg") {
    return absl::InvalidArgumentError(
        "taohost config: vm_accel must be auto, kvm or tcg");
  }
  if (config.shm_ring_bytes() != 0 || config.shm_spin() != 0) {
    absl::Status shm = CheckShmTransportOptions(ShmOptionsOf(config));
    if (!shm.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "taohost config: shm_ring_bytes/shm_spin: ", shm.message()));
    }
  }
  if (!config.audit_durability().empty() &&
      config.audit_durability() != "sync" &&
      config.audit_durability() != "batch") {
    return absl::InvalidArgumentError(
        "taohost config: audit_durability must be sync or batch");
  }
  if (config.audit_max_bytes() != 0 && config.audit_max_bytes() < (4 << 20)) {
    return absl::InvalidArgumentError(
        "taohost config: audit_max_bytes must be at least 4 MiB");
  }
  if (config.has_audit_keep_files() && config.audit_keep_files() == 0) {
    return absl::InvalidArgumentError(
        "taohost config: audit_keep_files must be at least 1");
  }
  if (config.admin_socket_mode() > 07777) {
    return absl::InvalidArgumentError(
        "taohost config: admin_socket_mode is not a mode");
  }
  for (int i = 0; i < config.programs_size(); ++i) {
    const admin::StartHostedProgramRequest& program = config.programs(i);
    std::string where = absl::StrCat("taohost config: programs #", i + 1, ": ");
    // The one conversion the host starts it with: the launch spec by kind
    // (or the flat process fields), the channel kind through its registry.
    auto request = StartRequestFromProto(program);
    if (!request.ok()) {
      return absl::Status(request.status().code(),
                          absl::StrCat(where, request.status().message()));
    }
    if (request->factory == "enclave") {
      // Served where the host enables the enclave factory (factories).
      const std::string& manifest = LaunchTarget(request->spec);
      if (manifest.empty() || manifest[0] != '/') {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "manifest '", manifest, "' must be absolute"));
      }
      continue;
    }
    if (request->factory == "vm") {
      if (!vm) {
        return absl::InvalidArgumentError(
            absl::StrCat(where,
                         "a vm program needs the vm factory (factories: "
                         "[\"process\", \"vm\"])"));
      }
      continue;  // its kernel and initrd are read at start
    }
    if (request->factory != "process") {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "unknown factory '", request->factory, "'"));
    }
    const ProcessSpec& spec = request->process();
    if (spec.path.empty() || spec.path[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "path '", spec.path, "' must be absolute"));
    }
    if (!spec.state_directory.empty()) {
      absl::Status name =
          internal::ValidateStateDirectoryName(spec.state_directory);
      if (!name.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(where, name.message()));
      }
    }
  }
  // Hosted programs' identities.
  if (!config.dynamic_uid_range().empty()) {
    auto range = ParseUidRange(config.dynamic_uid_range());
    if (!range.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("taohost config: ", range.status().message()));
    }
  }
  for (const auto& [field, path] :
       std::vector<std::pair<const char*, const std::string*>>{
           {"state_root", &config.state_root()}}) {
    absl::Status ok = CheckPath(field, *path);
    if (!ok.ok()) return ok;
  }
  if (!config.cgroup_root().empty() && config.cgroup_root() != "none") {
    absl::Status ok = CheckPath("cgroup_root", config.cgroup_root());
    if (!ok.ok()) return ok;
  }
  return config;
}

void ApplyTaohostDefaults(TaohostConfig* config) {
  if (config->runtime_dir().empty()) config->set_runtime_dir("/run/tao");
  if (config->admin_socket().empty()) {
    config->set_admin_socket(
        absl::StrCat(config->runtime_dir(), "/admin.sock"));
  }
  if (config->admin_socket_mode() == 0) config->set_admin_socket_mode(0660);
  if (config->log_dir().empty()) {
    config->set_log_dir(absl::StrCat(config->runtime_dir(), "/logs"));
  }
  // The audit trail is state, not runtime: it must survive a stop (the
  // shipped unit deletes /run/tao) and a reboot.
  if (config->state_dir().empty()) config->set_state_dir("/var/lib/tao");
  if (config->audit_log().empty()) {
    config->set_audit_log(
        absl::StrCat(config->state_dir(), "/audit/audit.log"));
  }
  if (config->audit_durability().empty()) config->set_audit_durability("batch");
  if (config->audit_batch_window_ms() == 0)
    config->set_audit_batch_window_ms(10);
  if (config->audit_max_bytes() == 0)
    config->set_audit_max_bytes(uint64_t{64} << 20);
  if (!config->has_audit_keep_files()) config->set_audit_keep_files(8);
  if (!config->has_audit_rate_per_program())
    config->set_audit_rate_per_program(1000);
  if (config->audit_rate_burst() == 0)
    config->set_audit_rate_burst(2 * config->audit_rate_per_program());
  if (config->factories().empty()) config->add_factories("process");
  if (config->vm_accel().empty()) config->set_vm_accel("auto");
  if (config->shm_ring_bytes() == 0) {
    config->set_shm_ring_bytes(ShmTransportOptions().ring_size);
  }
  if (config->vm_qemu().empty()) {
    config->set_vm_qemu("/usr/bin/qemu-system-x86_64");
  }
  if (config->max_frame_size() == 0) config->set_max_frame_size(16 << 20);
  if (config->shutdown_grace_ms() == 0) config->set_shutdown_grace_ms(10000);
  if (config->dynamic_uid_range().empty()) {
    config->set_dynamic_uid_range(kDefaultDynamicUidRange.ToString());
  }
  if (config->state_root().empty()) {
    config->set_state_root(absl::StrCat(config->state_dir(), "/programs"));
  }
  if (config->policy_key_file().empty()) {
    config->set_policy_key_file("/etc/tao/policy_key");
  }
  if (config->admin_max_connections_per_uid() == 0)
    config->set_admin_max_connections_per_uid(64);
  if (config->admin_max_connections() == 0)
    config->set_admin_max_connections(1024);
  if (config->admin_root_reserved_connections() == 0)
    config->set_admin_root_reserved_connections(64);
  if (!config->has_measurement_cache_mib()) {
    config->set_measurement_cache_mib(
        static_cast<uint32_t>(kRecommendedMeasurementCacheBytes >> 20));
  }
}

}  // namespace tao
