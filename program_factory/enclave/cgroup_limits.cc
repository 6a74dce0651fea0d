#include "program_factory/enclave/cgroup_limits.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

bool ReadSmall(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

absl::Status WriteValue(const std::string& path, absl::string_view value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT, 0644));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, "open " + path);
  if (::write(fd.get(), value.data(), value.size()) !=
      static_cast<ssize_t>(value.size())) {
    return absl::ErrnoToStatus(errno,
                               absl::StrCat("write ", value, " to ", path));
  }
  return absl::OkStatus();
}

// The host's own cgroup path in the hierarchy of `controller` (v1) or in
// the unified one (controller ""), from /proc/self/cgroup.
std::string OwnCgroup(const std::string& proc_self_cgroup,
                      absl::string_view controller) {
  std::string text;
  if (!ReadSmall(proc_self_cgroup, &text)) return "";
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<absl::string_view> parts = absl::StrSplit(line, ':');
    if (parts.size() < 3) continue;
    bool match =
        controller.empty() ? parts[0] == "0" && parts[1].empty() : false;
    for (absl::string_view c : absl::StrSplit(parts[1], ',')) {
      if (!controller.empty() && c == controller) match = true;
    }
    if (!match) continue;
    std::string path(parts[2]);
    for (size_t i = 3; i < parts.size(); ++i)
      absl::StrAppend(&path, ":", parts[i]);
    if (path.empty() || path[0] != '/' ||
        path.find("/..") != std::string::npos) {
      return "";
    }
    return path == "/" ? "" : path;
  }
  return "";
}

bool HasControllers(const std::string& dir,
                    const std::vector<std::string>& needed) {
  std::string text;
  if (!ReadSmall(dir + "/cgroup.controllers", &text)) return false;
  std::set<std::string> have;
  for (absl::string_view c :
       absl::StrSplit(text, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    have.insert(std::string(c));
  }
  for (const std::string& c : needed) {
    if (have.count(c) == 0) return false;
  }
  return true;
}

std::string FindV2Root(const CgroupLimitOptions& options) {
  if (options.v2_root == "none") return "";
  if (!options.v2_root.empty()) return options.v2_root;
  struct stat st;
  if (::stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) {
    return "/sys/fs/cgroup";
  }
  return "/sys/fs/cgroup/unified";
}

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > 128 || name == "." || name == "..") {
    return false;
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::Status MakeDir(const std::string& path, bool exclusive) {
  if (::mkdir(path.c_str(), 0755) == 0) return absl::OkStatus();
  if (errno == EEXIST && !exclusive) return absl::OkStatus();
  return absl::ErrnoToStatus(errno, "mkdir " + path);
}

}  // namespace

absl::StatusOr<std::unique_ptr<EnclaveCgroups>> EnclaveCgroups::Create(
    const std::string& name, const EnclaveLimits& limits,
    const CgroupLimitOptions& options) {
  if (!ValidName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cgroup name '", absl::CHexEscape(name),
                     "' must be 1-128 of [A-Za-z0-9._-]"));
  }
  std::unique_ptr<EnclaveCgroups> out(new EnclaveCgroups());
  if (limits.memory_bytes == 0 && limits.max_tasks == 0 && !limits.freezer) {
    return out;
  }
  std::vector<std::string> needed;
  if (limits.memory_bytes != 0) needed.push_back("memory");
  if (limits.max_tasks != 0) needed.push_back("pids");

  // Each hierarchy: its cgroup directory and the limits to write there.
  struct Hierarchy {
    std::string parent;  // <own>/tao-enclave
    std::vector<std::pair<std::string, std::string>> files;
    bool memory = false;
    bool freezer = false;
  };
  std::vector<Hierarchy> hierarchies;
  const std::string v2 = FindV2Root(options);
  const std::string v2_own =
      v2.empty() ? "" : v2 + OwnCgroup(options.proc_self_cgroup, "");
  if (!v2.empty() && HasControllers(v2_own, needed)) {
    out->version_ = Version::kV2;
    Hierarchy h;
    h.parent = v2_own + "/tao-enclave";
    if (limits.memory_bytes != 0) {
      h.files.emplace_back("memory.max", absl::StrCat(limits.memory_bytes));
      h.files.emplace_back("memory.swap.max", "0");
      h.memory = true;
    }
    if (limits.max_tasks != 0) {
      h.files.emplace_back("pids.max", absl::StrCat(limits.max_tasks));
    }
    h.freezer = limits.freezer;  // cgroup.freeze: v2 needs no controller
    hierarchies.push_back(std::move(h));
  } else {
    out->version_ = Version::kV1;
    std::vector<std::string> v1 = needed;
    if (limits.freezer) v1.push_back("freezer");
    for (const std::string& controller : v1) {
      std::string root = absl::StrCat(options.v1_root, "/", controller);
      std::string own = root + OwnCgroup(options.proc_self_cgroup, controller);
      std::string probe =
          controller == "memory" ? "/memory.limit_in_bytes" : "/cgroup.procs";
      struct stat st;
      if (::stat((own + probe).c_str(), &st) != 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            controller == "memory" ? "ENCLAVE_SIZE asks for a memory limit"
            : controller == "pids" ? "THREADS asks for a task limit"
                                   : "an enclave needs a freezer",
            ", but this machine offers no ", controller,
            " controller: not in cgroup v2 (",
            v2.empty() ? std::string("off") : v2_own + "/cgroup.controllers",
            ") nor v1 (", own, ")"));
      }
      Hierarchy h;
      h.parent = own + "/tao-enclave";
      if (controller == "memory") {
        h.files.emplace_back("memory.limit_in_bytes",
                             absl::StrCat(limits.memory_bytes));
        // With swap accounting, swap counts too: no escape into swap.
        if (::stat((own + "/memory.memsw.limit_in_bytes").c_str(), &st) == 0) {
          h.files.emplace_back("memory.memsw.limit_in_bytes",
                               absl::StrCat(limits.memory_bytes));
        }
        h.memory = true;
      } else if (controller == "pids") {
        h.files.emplace_back("pids.max", absl::StrCat(limits.max_tasks));
      } else {
        h.freezer = true;
      }
      hierarchies.push_back(std::move(h));
    }
  }
  for (const Hierarchy& h : hierarchies) {
    TAO_RETURN_IF_ERROR(MakeDir(h.parent, /*exclusive=*/false));
    if (out->version_ == Version::kV2) {
      // Let the parent hand its controllers down (v2's rule).
      std::string enable;
      for (const std::string& c : needed) absl::StrAppend(&enable, "+", c, " ");
      TAO_RETURN_IF_ERROR(
          WriteValue(h.parent + "/cgroup.subtree_control",
                     absl::StripTrailingAsciiWhitespace(enable)));
    }
    std::string path = h.parent + "/" + name;
    TAO_RETURN_IF_ERROR(MakeDir(path, /*exclusive=*/true));
    out->paths_.push_back(path);
    for (const auto& [file, value] : h.files) {
      TAO_RETURN_IF_ERROR(WriteValue(path + "/" + file, value));
    }
    if (h.memory) out->memory_path_ = path;
    if (h.freezer) out->freezer_path_ = path;
    UniqueFd procs(
        ::open((path + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    if (!procs.valid()) {
      return absl::ErrnoToStatus(errno, "open " + path + "/cgroup.procs");
    }
    out->procs_.push_back(std::move(procs));
    if (out->version_ == Version::kV2) {
      out->v2_dir_.Reset(
          ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!out->v2_dir_.valid()) {
        return absl::ErrnoToStatus(errno, "open " + path);
      }
    }
  }
  return out;
}

EnclaveCgroups::~EnclaveCgroups() {
  if (removed_ || paths_.empty()) return;
  (void)Kill();
  (void)Remove();
}

absl::Status EnclaveCgroups::AddProcess(pid_t pid) {
  std::string text = absl::StrCat(pid);
  for (const UniqueFd& fd : procs_) {
    if (::write(fd.get(), text.data(), text.size()) !=
        static_cast<ssize_t>(text.size())) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("move ", pid, " into its cgroup"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> EnclaveCgroups::OomKilled() const {
  if (memory_path_.empty()) return absl::NotFoundError("no memory limit");
  std::string text;
  std::string file =
      version_ == Version::kV2 ? "/memory.events" : "/memory.oom_control";
  if (!ReadSmall(memory_path_ + file, &text)) {
    return absl::ErrnoToStatus(errno, "read " + memory_path_ + file);
  }
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    uint64_t n = 0;
    if (absl::ConsumePrefix(&line, "oom_kill ") && absl::SimpleAtoi(line, &n)) {
      return n > 0;
    }
  }
  return false;
}

absl::Status EnclaveCgroups::SetFrozen(bool frozen) {
  if (freezer_path_.empty()) {
    return absl::FailedPreconditionError("the enclave has no freezer cgroup");
  }
  const bool v2 = version_ == Version::kV2;
  const std::string file =
      freezer_path_ + (v2 ? "/cgroup.freeze" : "/freezer.state");
  TAO_RETURN_IF_ERROR(WriteValue(
      file, v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED")));
  // v1 says FREEZING until every task stopped; v2 says "frozen 1" in
  // cgroup.events once it has.
  for (int i = 0; i < 500; ++i) {
    std::string text;
    if (v2) {
      if (!ReadSmall(freezer_path_ + "/cgroup.events", &text)) break;
      if (absl::StrContains(text, frozen ? "frozen 1" : "frozen 0")) {
        return absl::OkStatus();
      }
    } else {
      if (!ReadSmall(file, &text)) break;
      if (absl::StripAsciiWhitespace(text) == (frozen ? "FROZEN" : "THAWED")) {
        return absl::OkStatus();
      }
      if (frozen) WriteValue(file, "FROZEN").IgnoreError();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return absl::DeadlineExceededError(absl::StrCat("the enclave did not become ",
                                                  frozen ? "frozen" : "thawed",
                                                  " (", file, ")"));
}

absl::Status EnclaveCgroups::Kill() {
  for (int round = 0; round < 100; ++round) {
    bool any = false;
    for (const std::string& path : paths_) {
      std::string text;
      if (!ReadSmall(path + "/cgroup.procs", &text)) continue;
      for (absl::string_view line :
           absl::StrSplit(text, '\n', absl::SkipEmpty())) {
        int pid = 0;
        if (absl::SimpleAtoi(line, &pid) && pid > 0) {
          any = true;
          ::kill(pid, SIGKILL);
        }
      }
    }
    if (!any) return absl::OkStatus();
    // A frozen task takes its SIGKILL only once thawed.
    if (!freezer_path_.empty()) {
      WriteValue(freezer_path_ + (version_ == Version::kV2 ? "/cgroup.freeze"
                                                           : "/freezer.state"),
                 version_ == Version::kV2 ? "0" : "THAWED")
          .IgnoreError();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return absl::DeadlineExceededError("tasks remain in the enclave's cgroups");
}

absl::Status EnclaveCgroups::Remove() {
  procs_.clear();
  absl::Status result;
  for (const std::string& path : paths_) {
    bool gone = false;
    // A task that just exited leaves its cgroup busy for a moment: retry
    // often (up to ~1 s), since every enclave's exit waits on this.
    for (int i = 0; i < 1000 && !gone; ++i) {
      if (::rmdir(path.c_str()) == 0 || errno == ENOENT) {
        gone = true;
      } else if (errno == EBUSY) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      } else {
        break;
      }
    }
    if (!gone && result.ok()) {
      result = absl::ErrnoToStatus(errno, "rmdir " + path);
    }
  }
  removed_ = true;
  return result;
}

}  // namespace tao
