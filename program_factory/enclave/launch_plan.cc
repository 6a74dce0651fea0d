#include "program_factory/enclave/launch_plan.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "program_factory/process_factory.h"
#include "tao/byte_reader.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

constexpr absl::string_view kPlanMagic = "tao-enclave-plan-v1";

void AppendBytes(absl::string_view s, std::string* out) {
  AppendU32(static_cast<uint32_t>(s.size()), out);
  out->append(s.data(), s.size());
}

uint8_t MountKindByte(EnclaveMount::Kind kind) {
  switch (kind) {
    case EnclaveMount::Kind::kBindReadOnly:
      return 1;
    case EnclaveMount::Kind::kBindReadWrite:
      return 2;
    case EnclaveMount::Kind::kTmpfs:
      return 3;
  }
  return 0;
}

absl::string_view MountKindName(EnclaveMount::Kind kind) {
  switch (kind) {
    case EnclaveMount::Kind::kBindReadOnly:
      return "ro";
    case EnclaveMount::Kind::kBindReadWrite:
      return "rw";
    case EnclaveMount::Kind::kTmpfs:
      return "tmpfs";
  }
  return "?";
}

}  // namespace

std::string EncodeLaunchPlan(const LaunchPlanFields& fields) {
  std::vector<const PlanFile*> files;
  for (const PlanFile& f : fields.files) files.push_back(&f);
  std::sort(
      files.begin(), files.end(),
      [](const PlanFile* a, const PlanFile* b) { return a->path < b->path; });
  std::vector<const EnclaveMount*> mounts;
  for (const EnclaveMount& m : fields.mounts) mounts.push_back(&m);
  std::sort(mounts.begin(), mounts.end(),
            [](const EnclaveMount* a, const EnclaveMount* b) {
              return a->enclave_path < b->enclave_path;
            });
  std::string out(kPlanMagic);
  AppendBytes(fields.entry, &out);
  AppendU32(static_cast<uint32_t>(files.size()), &out);
  for (const PlanFile* f : files) {
    out.push_back(static_cast<char>(f->role));
    AppendBytes(f->path, &out);
    AppendU64(f->size, &out);
    out.append(f->digest);
  }
  AppendU32(static_cast<uint32_t>(mounts.size()), &out);
  for (const EnclaveMount* m : mounts) {
    out.push_back(static_cast<char>(MountKindByte(m->kind)));
    AppendBytes(m->enclave_path, &out);
    AppendBytes(m->host_path, &out);
  }
  AppendU32(fields.threads, &out);
  AppendU32(fields.enclave_size_mib, &out);
  out.push_back(fields.debug ? 1 : 0);
  return out;
}

absl::StatusOr<LaunchPlan> LaunchPlan::Compile(
    const EnclaveManifest& manifest, const LaunchPlanOptions& options) {
  LaunchPlan plan;
  TAO_ASSIGN_OR_RETURN(
      plan.files_,
      CollectTrustedFiles(manifest.exec, manifest.modules, options.search));
  std::sort(plan.files_.begin(), plan.files_.end(),
            [](const TrustedFile& a, const TrustedFile& b) {
              return a.path < b.path;
            });
  for (const EnclaveMount& mount : manifest.mounts) {
    for (const TrustedFile& file : plan.files_) {
      if (PathIsWithin(file.path, mount.enclave_path) ||
          PathIsWithin(mount.enclave_path, file.path)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "MOUNT at ", mount.enclave_path, " would hide the trusted file ",
            file.path, " (", TrustedFileRoleName(file.role),
            "); mount somewhere else"));
      }
    }
    if (mount.kind != EnclaveMount::Kind::kTmpfs) {
      struct stat st;
      if (::stat(mount.host_path.c_str(), &st) != 0) {
        return absl::ErrnoToStatus(
            errno, absl::StrCat("MOUNT host path ", mount.host_path));
      }
    }
  }
  LaunchPlanFields& f = plan.fields_;
  f.entry = manifest.exec;
  for (const TrustedFile& file : plan.files_) {
    f.files.push_back(PlanFile{file.role, file.path, file.size, file.digest});
  }
  f.mounts = manifest.mounts;
  std::sort(f.mounts.begin(), f.mounts.end(),
            [](const EnclaveMount& a, const EnclaveMount& b) {
              return a.enclave_path < b.enclave_path;
            });
  f.threads = manifest.threads;
  f.enclave_size_mib = manifest.enclave_size_mib;
  f.debug = manifest.debug;
  plan.encoding_ = EncodeLaunchPlan(f);
  plan.digest_ = Sha256(plan.encoding_);

  plan.argv_.push_back(manifest.exec);
  plan.argv_.insert(plan.argv_.end(), manifest.args.begin(),
                    manifest.args.end());
  plan.env_ = manifest.env;
  plan.args_digest_ = DigestArgsAndEnv(plan.argv_, plan.env_);
  TAO_ASSIGN_OR_RETURN(Subprincipal enclave,
                       Subprincipal::Enclave(plan.digest_));
  TAO_ASSIGN_OR_RETURN(Subprincipal args,
                       Subprincipal::Args(plan.args_digest_));
  plan.subprincipals_.push_back(std::move(enclave));
  plan.subprincipals_.push_back(std::move(args));
  return plan;
}

const TrustedFile* LaunchPlan::Find(absl::string_view path) const {
  auto it = std::lower_bound(
      files_.begin(), files_.end(), path,
      [](const TrustedFile& f, absl::string_view p) { return f.path < p; });
  if (it == files_.end() || it->path != path) return nullptr;
  return &*it;
}

std::string LaunchPlan::Describe() const {
  std::string out = "plan tao-enclave-plan-v1\n";
  absl::StrAppend(&out, "entry ", absl::CHexEscape(fields_.entry), "\n");
  for (const TrustedFile& file : files_) {
    absl::StrAppend(&out, "file ", TrustedFileRoleName(file.role),
                    " sha256:", HexEncode(file.digest), " ", file.size, " ",
                    absl::CHexEscape(file.path), "\n");
  }
  for (const EnclaveMount& m : fields_.mounts) {
    absl::StrAppend(&out, "mount ", MountKindName(m.kind), " ",
                    absl::CHexEscape(m.enclave_path));
    if (m.kind != EnclaveMount::Kind::kTmpfs) {
      absl::StrAppend(&out, " from ", absl::CHexEscape(m.host_path));
    }
    out.push_back('\n');
  }
  absl::StrAppend(&out, "threads ",
                  fields_.threads == 0 ? std::string("unlimited")
                                       : absl::StrCat(fields_.threads),
                  "\n");
  absl::StrAppend(&out, "enclave_size ",
                  fields_.enclave_size_mib == 0
                      ? std::string("unlimited")
                      : absl::StrCat(fields_.enclave_size_mib, " MiB"),
                  "\n");
  absl::StrAppend(&out, "debug ", fields_.debug ? "on" : "off", "\n");
  for (size_t i = 0; i < argv_.size(); ++i) {
    absl::StrAppend(&out, "argv[", i, "] \"", absl::CHexEscape(argv_[i]),
                    "\"\n");
  }
  for (const auto& [name, value] : env_) {
    absl::StrAppend(&out, "env ", name, "=\"", absl::CHexEscape(value), "\"\n");
  }
  for (const Subprincipal& sub : subprincipals_) {
    absl::StrAppend(&out, "name ", sub.ToString(), "\n");
  }
  return out;
}

}  // namespace tao
