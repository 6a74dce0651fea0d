#include "admin/start_request.h"

#include <string>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "channels/channel_kinds.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

// The fields ProcessLaunch and the flat request share, read from either.
template <typename Message>
ProcessSpec ProcessFrom(const Message& in) {
  ProcessSpec spec;
  spec.path = in.path();
  spec.args.assign(in.args().begin(), in.args().end());
  for (const admin::EnvVar& var : in.env()) {
    spec.env.emplace_back(var.name(), var.value());
  }
  if (!in.working_dir().empty()) spec.working_dir = in.working_dir();
  if (in.has_uid()) spec.uid = in.uid();
  if (in.has_gid()) spec.gid = in.gid();
  spec.state_directory = in.state_directory();
  return spec;
}

bool HasFlatProcessFields(const admin::StartHostedProgramRequest& in) {
  return !in.path().empty() || in.args_size() > 0 || in.env_size() > 0 ||
         !in.working_dir().empty() || in.has_uid() || in.has_gid() ||
         !in.state_directory().empty();
}

}  // namespace

absl::StatusOr<StartRequest> StartRequestFromProto(
    const admin::StartHostedProgramRequest& in) {
  StartRequest out;
  TAO_ASSIGN_OR_RETURN(out.channel, ParseChannelKind(in.channel()));
  if (in.launch_case() != admin::StartHostedProgramRequest::LAUNCH_NOT_SET &&
      HasFlatProcessFields(in)) {
    return absl::InvalidArgumentError(
        "a start request gives either a launch spec or the flat process "
        "fields (path, args, ...), not both");
  }
  switch (in.launch_case()) {
    case admin::StartHostedProgramRequest::kProcess:
      out.spec = ProcessFrom(in.process());
      break;
    case admin::StartHostedProgramRequest::kEnclave:
      out.spec = EnclaveSpec{in.enclave().manifest()};
      // An enclave's one door is shm: the default for its kind.
      if (in.channel().empty()) out.channel = "shm";
      break;
    case admin::StartHostedProgramRequest::kVm: {
      VmSpec vm;
      vm.kernel = in.vm().kernel();
      vm.initrd = in.vm().initrd();
      vm.cmdline = in.vm().cmdline();
      vm.state_disk = in.vm().state_disk();
      vm.memory_mib = in.vm().memory_mib();
      vm.vcpus = in.vm().vcpus();
      vm.network = in.vm().network();
      out.spec = std::move(vm);
      // A VM's door is its virtio-serial port: the default for its kind.
      if (in.channel().empty()) out.channel = "virtio-serial";
      break;
    }
    case admin::StartHostedProgramRequest::LAUNCH_NOT_SET:
      out.spec = ProcessFrom(in);  // an older client's flat fields
      break;
  }
  out.factory = in.factory().empty() ? LaunchKind(out.spec) : in.factory();
  switch (in.restart()) {
    case admin::RESTART_ON_FAILURE:
      out.restart.mode = RestartPolicy::kOnFailure;
      break;
    case admin::RESTART_ALWAYS:
      out.restart.mode = RestartPolicy::kAlways;
      break;
    default:
      out.restart.mode = RestartPolicy::kNever;
      break;
  }
  out.restart.max_restarts = static_cast<int>(in.max_restarts());
  if (in.initial_backoff_ms() > 0) {
    out.restart.initial_backoff = absl::Milliseconds(in.initial_backoff_ms());
  }
  if (in.max_backoff_ms() > 0) {
    out.restart.max_backoff = absl::Milliseconds(in.max_backoff_ms());
  }
  return out;
}

admin::StartHostedProgramRequest StartRequestToProto(
    const StartRequest& request) {
  admin::StartHostedProgramRequest out;
  out.set_factory(request.factory);
  out.set_channel(request.channel);
  if (const ProcessSpec* spec = std::get_if<ProcessSpec>(&request.spec)) {
    admin::ProcessLaunch* process = out.mutable_process();
    process->set_path(spec->path);
    for (const std::string& arg : spec->args) process->add_args(arg);
    for (const auto& [name, value] : spec->env) {
      admin::EnvVar* var = process->add_env();
      var->set_name(name);
      var->set_value(value);
    }
    process->set_working_dir(spec->working_dir);
    if (spec->uid.has_value()) process->set_uid(*spec->uid);
    if (spec->gid.has_value()) process->set_gid(*spec->gid);
    process->set_state_directory(spec->state_directory);
  } else if (const VmSpec* vm = std::get_if<VmSpec>(&request.spec)) {
    admin::VmLaunch* out_vm = out.mutable_vm();
    out_vm->set_kernel(vm->kernel);
    out_vm->set_initrd(vm->initrd);
    out_vm->set_cmdline(vm->cmdline);
    out_vm->set_state_disk(vm->state_disk);
    out_vm->set_memory_mib(vm->memory_mib);
    out_vm->set_vcpus(vm->vcpus);
    out_vm->set_network(vm->network);
  }
  if (const EnclaveSpec* spec = std::get_if<EnclaveSpec>(&request.spec)) {
    out.mutable_enclave()->set_manifest(spec->manifest_path);
  }
  switch (request.restart.mode) {
    case RestartPolicy::kOnFailure:
      out.set_restart(admin::RESTART_ON_FAILURE);
      break;
    case RestartPolicy::kAlways:
      out.set_restart(admin::RESTART_ALWAYS);
      break;
    case RestartPolicy::kNever:
      out.set_restart(admin::RESTART_NEVER);
      break;
  }
  out.set_max_restarts(static_cast<uint32_t>(request.restart.max_restarts));
  out.set_initial_backoff_ms(static_cast<uint32_t>(
      absl::ToInt64Milliseconds(request.restart.initial_backoff)));
  out.set_max_backoff_ms(static_cast<uint32_t>(
      absl::ToInt64Milliseconds(request.restart.max_backoff)));
  return out;
}

}  // namespace tao
