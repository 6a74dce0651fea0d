#include "program_factory/enclave/private_root.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "program_factory/enclave/manifest.h"

namespace tao {
namespace {

// Room in the root's tmpfs beyond the trusted files' bytes (directories,
// block rounding), and in each declared tmpfs (no ENCLAVE_SIZE given).
constexpr uint64_t kRootSlack = uint64_t{4} << 20;
constexpr uint32_t kDefaultTmpfsMib = 64;

constexpr unsigned long kNoDevSuid = MS_NOSUID | MS_NODEV;

void AddParents(absl::string_view path, std::set<std::string>* dirs) {
  for (size_t slash = path.find('/', 1); slash != absl::string_view::npos;
       slash = path.find('/', slash + 1)) {
    dirs->insert(std::string(path.substr(0, slash)));
  }
}

absl::string_view StepName(RootStep::Kind kind) {
  switch (kind) {
    case RootStep::Kind::kCheckNamespace:
      return "check the mount namespace of";
    case RootStep::Kind::kMountRootTmpfs:
      return "mount the root tmpfs at";
    case RootStep::Kind::kMkdir:
      return "make the directory";
    case RootStep::Kind::kWriteFile:
      return "write the trusted file";
    case RootStep::Kind::kMountPointFile:
      return "make the mount point";
    case RootStep::Kind::kBind:
      return "bind mount";
    case RootStep::Kind::kTmpfs:
      return "mount a tmpfs at";
    case RootStep::Kind::kRemountRootReadOnly:
    case RootStep::Kind::kRemountBindReadOnly:
      return "remount read-only";
    case RootStep::Kind::kBindPreparedRoot:
      return "bind the prepared root at";
  }
  return "?";
}

// Copies `size` bytes of `from` (from offset 0, leaving its file position
// alone) to `to`. Returns 0 or an errno.
int CopyAll(int from, int to, uint64_t size) {
  off_t offset = 0;
  while (static_cast<uint64_t>(offset) < size) {
    ssize_t n =
        ::sendfile(to, from, &offset, static_cast<size_t>(size - offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // the memfd is sealed: it cannot be shorter
  }
  return 0;
}

int ApplyStep(const RootStep& s, dev_t ns_dev, ino_t ns_ino) {
  switch (s.kind) {
    case RootStep::Kind::kCheckNamespace: {
      struct stat st;
      if (::stat("/proc/self/ns/mnt", &st) != 0) return errno;
      if (st.st_dev == ns_dev && st.st_ino == ns_ino) return EPERM;
      return 0;
    }
    case RootStep::Kind::kMountRootTmpfs:
      return ::mount("tmpfs", s.path.c_str(), "tmpfs", kNoDevSuid,
                     s.data.c_str()) == 0
                 ? 0
                 : errno;
    case RootStep::Kind::kTmpfs:
      // Declared mounts never run code: only the measured files do.
      return ::mount("tmpfs", s.path.c_str(), "tmpfs", kNoDevSuid | MS_NOEXEC,
                     s.data.c_str()) == 0
                 ? 0
                 : errno;
    case RootStep::Kind::kMkdir:
      return ::mkdir(s.path.c_str(), 0755) == 0 ? 0 : errno;
    case RootStep::Kind::kWriteFile:
    case RootStep::Kind::kMountPointFile: {
      bool trusted = s.kind == RootStep::Kind::kWriteFile;
      int fd = ::open(s.path.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      trusted ? 0555 : 0444);
      if (fd < 0) return errno;
      int err = trusted ? CopyAll(s.fd, fd, s.size) : 0;
      if (::close(fd) != 0 && err == 0) err = errno;
      return err;
    }
    case RootStep::Kind::kBind: {
      if (::mount(s.source.c_str(), s.path.c_str(), nullptr, MS_BIND,
                  nullptr) != 0) {
        return errno;
      }
      unsigned long flags = MS_REMOUNT | MS_BIND | kNoDevSuid | MS_NOEXEC;
      if (s.read_only) flags |= MS_RDONLY;
      return ::mount(nullptr, s.path.c_str(), nullptr, flags, nullptr) == 0
                 ? 0
                 : errno;
    }
    case RootStep::Kind::kRemountRootReadOnly:
      return ::mount(nullptr, s.path.c_str(), nullptr,
                     MS_REMOUNT | MS_RDONLY | kNoDevSuid, s.data.c_str()) == 0
                 ? 0
                 : errno;
    case RootStep::Kind::kBindPreparedRoot:
      // Not recursive: nothing mounted on the prepared root comes along.
      return ::mount(s.source.c_str(), s.path.c_str(), nullptr, MS_BIND,
                     nullptr) == 0
                 ? 0
                 : errno;
    case RootStep::Kind::kRemountBindReadOnly:
      return ::mount(nullptr, s.path.c_str(), nullptr,
                     MS_REMOUNT | MS_BIND | MS_RDONLY | kNoDevSuid,
                     nullptr) == 0
                 ? 0
                 : errno;
  }
  return EINVAL;
}

}  // namespace

absl::StatusOr<PrivateRootLayout> PrivateRootLayout::Create(
    const LaunchPlan& plan, const std::string& root_dir,
    const std::vector<EnclaveMount>& extra_mounts) {
  return Build(plan, root_dir, extra_mounts, Mode::kFull, "");
}

absl::StatusOr<PrivateRootLayout> PrivateRootLayout::CreateContent(
    const LaunchPlan& plan, const std::string& dir,
    const std::vector<EnclaveMount>& extra_mounts, uid_t owner_uid,
    gid_t owner_gid) {
  return Build(plan, dir, extra_mounts, Mode::kContent, "",
               absl::StrCat("mode=0700,uid=", owner_uid, ",gid=", owner_gid));
}

absl::StatusOr<PrivateRootLayout> PrivateRootLayout::CreateOver(
    const LaunchPlan& plan, const std::string& root_dir,
    const std::string& prepared_dir,
    const std::vector<EnclaveMount>& extra_mounts) {
  if (!IsNormalAbsolutePath(prepared_dir) || prepared_dir == "/") {
    return absl::InvalidArgumentError(
        absl::StrCat("the prepared root '", prepared_dir,
                     "' must be an absolute normal path other than /"));
  }
  return Build(plan, root_dir, extra_mounts, Mode::kOver, prepared_dir);
}

absl::StatusOr<PrivateRootLayout> PrivateRootLayout::Build(
    const LaunchPlan& plan, const std::string& root_dir,
    const std::vector<EnclaveMount>& extra_mounts, Mode mode,
    const std::string& prepared_dir, const std::string& owner) {
  if (!IsNormalAbsolutePath(root_dir) || root_dir == "/") {
    return absl::InvalidArgumentError(
        absl::StrCat("the private root '", root_dir,
                     "' must be an absolute normal path other than /"));
  }
  PrivateRootLayout layout;
  struct stat ns;
  if (::stat("/proc/self/ns/mnt", &ns) != 0) {
    return absl::ErrnoToStatus(errno, "stat /proc/self/ns/mnt");
  }
  layout.namespace_dev_ = ns.st_dev;
  layout.namespace_ino_ = ns.st_ino;
  const bool content = mode != Mode::kOver;  // this layout fills a tmpfs
  auto step = [&](RootStep::Kind kind, std::string path) -> RootStep& {
    RootStep s;
    s.kind = kind;
    s.path = std::move(path);
    layout.steps_.push_back(std::move(s));
    return layout.steps_.back();
  };
  // What the content is, whatever the directory: the plan's digest covers
  // every trusted file's path and bytes; the directories and mount points
  // follow, relative to the root.
  layout.content_key_ = absl::StrCat(absl::BytesToHexString(plan.digest()));
  // The host builds a content layout in its own namespace on purpose
  // (PreparedRoot); every layout that an enclave applies checks first.
  if (mode != Mode::kContent) step(RootStep::Kind::kCheckNamespace, root_dir);

  uint64_t bytes = kRootSlack;
  std::set<std::string> dirs = {"/dev", "/proc", "/tmp"};
  for (const TrustedFile& f : plan.files()) {
    bytes += (f.size + 4095) / 4096 * 4096;
    AddParents(f.path, &dirs);
  }
  struct MountPoint {
    const EnclaveMount* mount;
    bool is_dir;
  };
  std::vector<MountPoint> points;
  std::vector<EnclaveMount> mounts = plan.fields().mounts;
  mounts.insert(mounts.end(), extra_mounts.begin(), extra_mounts.end());
  std::sort(mounts.begin(), mounts.end(),
            [](const EnclaveMount& a, const EnclaveMount& b) {
              return a.enclave_path < b.enclave_path;
            });
  for (const EnclaveMount& m : mounts) {
    AddParents(m.enclave_path, &dirs);
    bool is_dir = true;
    if (m.kind != EnclaveMount::Kind::kTmpfs) {
      struct stat st;
      if (::stat(m.host_path.c_str(), &st) != 0) {
        return absl::ErrnoToStatus(
            errno, absl::StrCat("MOUNT host path ", m.host_path));
      }
      if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        return absl::InvalidArgumentError(
            absl::StrCat("MOUNT host path ", m.host_path,
                         " is neither a directory nor a regular file"));
      }
      is_dir = S_ISDIR(st.st_mode);
    }
    if (is_dir) dirs.insert(m.enclave_path);
    points.push_back({&m, is_dir});
  }
  const std::string tmpfs_data = absl::StrCat(
      owner.empty() ? std::string("mode=0755") : owner, ",size=", bytes,
      ",nr_inodes=", plan.files().size() + dirs.size() + points.size() + 64);
  for (const std::string& dir : dirs) {
    absl::StrAppend(&layout.content_key_, "|d", dir);
  }
  for (const MountPoint& p : points) {
    if (!p.is_dir)
      absl::StrAppend(&layout.content_key_, "|f", p.mount->enclave_path);
  }
  if (content) {
    step(RootStep::Kind::kMountRootTmpfs, root_dir).data = tmpfs_data;
    // Sorted, so each parent comes before its children.
    for (const std::string& dir : dirs) {
      step(RootStep::Kind::kMkdir, root_dir + dir);
    }
    for (const TrustedFile& f : plan.files()) {
      RootStep& s = step(RootStep::Kind::kWriteFile, root_dir + f.path);
      s.fd = f.memfd.get();
      s.size = f.size;
      layout.bytes_ += f.size;
    }
  } else {
    step(RootStep::Kind::kBindPreparedRoot, root_dir).source = prepared_dir;
  }
  if (mode == Mode::kContent) {
    for (const MountPoint& p : points) {
      if (!p.is_dir) {
        step(RootStep::Kind::kMountPointFile, root_dir + p.mount->enclave_path);
      }
    }
    step(RootStep::Kind::kRemountRootReadOnly, root_dir).data = tmpfs_data;
    return layout;
  }
  uint32_t tmpfs_mib = plan.fields().enclave_size_mib != 0
                           ? plan.fields().enclave_size_mib
                           : kDefaultTmpfsMib;
  // Mounts in enclave-path order (the plan's), so a parent mount is made
  // before one inside it.
  for (const MountPoint& p : points) {
    std::string target = root_dir + p.mount->enclave_path;
    if (!p.is_dir && content) step(RootStep::Kind::kMountPointFile, target);
    if (p.mount->kind == EnclaveMount::Kind::kTmpfs) {
      step(RootStep::Kind::kTmpfs, target).data =
          absl::StrCat("mode=1777,size=", tmpfs_mib, "m");
    } else {
      RootStep& s = step(RootStep::Kind::kBind, target);
      s.source = p.mount->host_path;
      s.read_only = p.mount->kind == EnclaveMount::Kind::kBindReadOnly;
    }
  }
  if (content) {
    step(RootStep::Kind::kRemountRootReadOnly, root_dir).data = tmpfs_data;
  } else {
    // Read-only already (the prepared root's superblock is); said again,
    // so that a root that is not stops here.
    step(RootStep::Kind::kRemountBindReadOnly, root_dir);
  }
  return layout;
}

RootFailure PrivateRootLayout::Apply() const {
  for (size_t i = 0; i < steps_.size(); ++i) {
    int err = ApplyStep(steps_[i], namespace_dev_, namespace_ino_);
    if (err != 0) return RootFailure{static_cast<int>(i), err};
  }
  return RootFailure{};
}

std::string PrivateRootLayout::Describe(const RootFailure& failure) const {
  if (failure.step < 0) return "ok";
  if (static_cast<size_t>(failure.step) >= steps_.size()) return "unknown step";
  const RootStep& s = steps_[failure.step];
  if (s.kind == RootStep::Kind::kCheckNamespace && failure.error == EPERM) {
    return "refused to build the private root in the host's own mount "
           "namespace (unshare CLONE_NEWNS first)";
  }
  std::string what = absl::StrCat(StepName(s.kind), " ", s.path);
  if (s.kind == RootStep::Kind::kBind) {
    what = absl::StrCat("bind mount ", s.source, " at ", s.path);
  }
  return absl::StrCat(what, ": ", std::strerror(failure.error));
}

}  // namespace tao
