#include "program_factory/enclave/library_search.h"

#include <glob.h>
#include <sys/stat.h>

#include <cerrno>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "program_factory/enclave/elf_reader.h"
#include "program_factory/enclave/manifest.h"
#include "tao/status_macros.h"

namespace tao {

#if defined(__x86_64__)
constexpr absl::string_view kTriple = "x86_64-linux-gnu";
#elif defined(__aarch64__)
constexpr absl::string_view kTriple = "aarch64-linux-gnu";
#endif

std::vector<std::string> DefaultLibraryDirs() {
  return {absl::StrCat("/lib/", kTriple), absl::StrCat("/usr/lib/", kTriple),
          "/lib", "/usr/lib"};
}

std::string JoinNormalPath(absl::string_view dir, absl::string_view name) {
  std::vector<absl::string_view> parts;
  std::string joined = absl::StrCat(dir, "/", name);
  for (absl::string_view part : absl::StrSplit(joined, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  return absl::StrCat("/", absl::StrJoin(parts, "/"));
}

namespace {

constexpr int kMaxConfDepth = 8;
constexpr size_t kMaxConfDirs = 1024;
constexpr size_t kMaxConfFiles = 256;

// `recorder` (nullptr: none) witnesses each file before it is read and the
// directory of each include glob before it is listed.
absl::Status ReadLdSoConf(const std::string& path, int depth,
                          size_t* files_read, std::vector<std::string>* dirs,
                          SearchRecorder* recorder) {
  if (++*files_read > kMaxConfFiles) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": more than ", kMaxConfFiles, " files included in all"));
  }
  if (depth > kMaxConfDepth) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": includes nested more than ", kMaxConfDepth, " deep"));
  }
  if (recorder != nullptr) recorder->Witness(path);
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return absl::OkStatus();
    return absl::ErrnoToStatus(errno, absl::StrCat("read ", path));
  }
  std::string base = path.substr(0, path.rfind('/'));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view l = line;
    l = l.substr(0, l.find('#'));
    l = absl::StripAsciiWhitespace(l);
    if (l.empty()) continue;
    if (absl::ConsumePrefix(&l, "include") &&
        (l.empty() || l[0] == ' ' || l[0] == '\t')) {
      for (absl::string_view pattern :
           absl::StrSplit(l, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
        std::string full(pattern);
        if (full[0] != '/') full = absl::StrCat(base, "/", pattern);
        if (recorder != nullptr) {
          // What a glob matches is a function of its directory's entries
          // when only its last component has wildcards.
          std::string dir = full.substr(0, full.rfind('/'));
          if (dir.find_first_of("*?[\\") != std::string::npos) {
            recorder->NotCacheable();
          }
          recorder->Witness(dir.empty() ? "/" : dir);
        }
        glob_t g;
        int rc = ::glob(full.c_str(), 0, nullptr, &g);
        if (rc == 0) {
          for (size_t i = 0; i < g.gl_pathc; ++i) {
            absl::Status s = ReadLdSoConf(g.gl_pathv[i], depth + 1, files_read,
                                          dirs, recorder);
            if (!s.ok()) {
              ::globfree(&g);
              return s;
            }
          }
        }
        if (rc != GLOB_NOMATCH) ::globfree(&g);
      }
      continue;
    }
    // ldconfig accepts "dir", "dir=TYPE" and lists separated by spaces,
    // tabs, commas or colons; "hwcap" lines name no directory.
    for (absl::string_view dir :
         absl::StrSplit(l, absl::ByAnyChar(" \t,:"), absl::SkipEmpty())) {
      dir = dir.substr(0, dir.find('='));
      while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
      if (!IsNormalAbsolutePath(dir)) continue;
      if (dirs->size() >= kMaxConfDirs) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": more than ", kMaxConfDirs, " directories"));
      }
      dirs->emplace_back(dir);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> RecordedSystemLibraryDirs(
    const std::string& ld_so_conf, SearchRecorder* recorder) {
  std::vector<std::string> listed;
  size_t files_read = 0;
  TAO_RETURN_IF_ERROR(
      ReadLdSoConf(ld_so_conf, 0, &files_read, &listed, recorder));
  for (std::string& dir : DefaultLibraryDirs()) listed.push_back(dir);
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (std::string& dir : listed) {
    if (seen.insert(dir).second) out.push_back(std::move(dir));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SystemLibraryDirs(
    const std::string& ld_so_conf) {
  return RecordedSystemLibraryDirs(ld_so_conf, nullptr);
}

namespace {

// Precedence when one file is reached in two roles: the lower number wins.
TrustedFileRole Stronger(TrustedFileRole a, TrustedFileRole b) {
  return static_cast<uint8_t>(a) < static_cast<uint8_t>(b) ? a : b;
}

std::string Dirname(absl::string_view path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : std::string(path.substr(0, slash));
}

// One search, as the loader runs it: objects in the order found, and each
// name an object was loaded by (its DT_NEEDED text, its soname, its path).
class Search {
 public:
  // `recorder` (nullptr: none) witnesses what the outcome depends on.
  Search(const LibrarySearchOptions& options, SearchRecorder* recorder)
      : options_(options), recorder_(recorder) {}

  absl::StatusOr<std::vector<TrustedFile>> Run(
      const std::string& exec, const std::vector<std::string>& modules);

 private:
  struct Object {
    ElfDependencies deps;
    int loader = -1;  // the object whose DT_NEEDED (or EXEC) brought it in
  };

  // Measures `path` as `role` (or finds it measured already). Returns its
  // index; kFailedPrecondition if it is an ELF for another machine.
  absl::StatusOr<size_t> Add(const std::string& path, TrustedFileRole role,
                             int loader);
  // What `file` declares: from options_.elf_cache by its digest, or read
  // from its sealed memfd (and then kept there). The statuses of
  // ReadElfDependencies, prefixed with the path.
  absl::StatusOr<ElfDependencies> ReadDependencies(const TrustedFile& file);
  absl::StatusOr<std::vector<std::string>> Expand(
      const std::vector<std::string>& list, size_t object,
      absl::string_view tag);
  absl::Status Resolve(size_t object, const std::string& needed);

  const LibrarySearchOptions& options_;
  SearchRecorder* const recorder_;
  std::vector<TrustedFile> files_;
  std::vector<Object> objects_;
  std::map<std::string, size_t> by_path_;
  std::map<std::string, size_t> by_name_;
  uint64_t total_bytes_ = 0;
};

absl::StatusOr<ElfDependencies> Search::ReadDependencies(
    const TrustedFile& file) {
  if (options_.elf_cache != nullptr) {
    if (std::optional<ElfDependencies> hit =
            options_.elf_cache->Lookup(file.digest)) {
      return *std::move(hit);
    }
  }
  TAO_ASSIGN_OR_RETURN(SealedBytes bytes, SealedBytes::Map(file));
  absl::StatusOr<ElfDependencies> deps = ReadElfDependencies(bytes.view());
  if (!deps.ok()) {
    return absl::Status(deps.status().code(),
                        absl::StrCat(file.path, ": ", deps.status().message()));
  }
  if (options_.elf_cache != nullptr) {
    options_.elf_cache->Insert(file.digest, *deps);
  }
  return deps;
}

absl::StatusOr<size_t> Search::Add(const std::string& path,
                                   TrustedFileRole role, int loader) {
  if (auto it = by_path_.find(path); it != by_path_.end()) {
    files_[it->second].role = Stronger(files_[it->second].role, role);
    return it->second;
  }
  if (files_.size() >= options_.max_files) {
    return absl::InvalidArgumentError(absl::StrCat(
        "more than ", options_.max_files, " trusted files (at ", path, ")"));
  }
  TAO_ASSIGN_OR_RETURN(
      TrustedFile file,
      MeasureTrustedFile(path, role, options_.max_file_bytes, options_.cache));
  TAO_ASSIGN_OR_RETURN(ElfDependencies deps, ReadDependencies(file));
  if (total_bytes_ + file.size > options_.max_total_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("trusted files add up to more than ",
                     options_.max_total_bytes, " bytes (at ", path, ")"));
  }
  total_bytes_ += file.size;
  size_t index = files_.size();
  by_path_[path] = index;
  by_name_.emplace(path, index);
  if (!deps.soname.empty()) by_name_.emplace(deps.soname, index);
  files_.push_back(std::move(file));
  objects_.push_back(Object{std::move(deps), loader});
  return index;
}

absl::StatusOr<std::vector<std::string>> Search::Expand(
    const std::vector<std::string>& list, size_t object,
    absl::string_view tag) {
  std::vector<std::string> out;
  const std::string origin = Dirname(files_[object].path);
  for (const std::string& entry : list) {
    std::string dir = absl::StrReplaceAll(
        entry, {{"${ORIGIN}", origin}, {"$ORIGIN", origin}});
    if (absl::StrContains(dir, "$")) {
      return absl::InvalidArgumentError(absl::StrCat(
          files_[object].path, ": ", tag, " entry '", entry,
          "' uses a token other than $ORIGIN ($LIB, $PLATFORM), which "
          "this host does not expand"));
    }
    if (dir.empty() || dir[0] != '/') {
      return absl::InvalidArgumentError(absl::StrCat(
          files_[object].path, ": ", tag, " entry '", entry,
          "' is relative to the working directory, which an enclave does "
          "not share"));
    }
    out.push_back(JoinNormalPath(dir, "."));
  }
  return out;
}

absl::Status Search::Resolve(size_t object, const std::string& needed) {
  if (by_name_.count(needed) != 0) return absl::OkStatus();
  const std::string& owner = files_[object].path;
  if (absl::StrContains(needed, '/')) {
    if (needed[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat(owner, ": DT_NEEDED '", needed,
                       "' is a relative path (relative to the working "
                       "directory)"));
    }
    TAO_ASSIGN_OR_RETURN(
        size_t index, Add(JoinNormalPath(needed, "."),
                          TrustedFileRole::kLibrary, static_cast<int>(object)));
    by_name_.emplace(needed, index);
    return absl::OkStatus();
  }
  // The loader's order: DT_RPATH of the object and of each object that
  // loaded it (unless the object has DT_RUNPATH; an object with DT_RUNPATH
  // has no DT_RPATH to the loader), then DT_RUNPATH, then the system's.
  std::vector<std::string> dirs;
  const ElfDependencies& deps = objects_[object].deps;
  if (deps.runpath.empty()) {
    for (int o = static_cast<int>(object); o >= 0; o = objects_[o].loader) {
      if (!objects_[o].deps.runpath.empty()) continue;
      TAO_ASSIGN_OR_RETURN(
          std::vector<std::string> rpath,
          Expand(objects_[o].deps.rpath, static_cast<size_t>(o), "DT_RPATH"));
      dirs.insert(dirs.end(), rpath.begin(), rpath.end());
    }
  } else {
    TAO_ASSIGN_OR_RETURN(std::vector<std::string> runpath,
                         Expand(deps.runpath, object, "DT_RUNPATH"));
    dirs.insert(dirs.end(), runpath.begin(), runpath.end());
  }
  dirs.insert(dirs.end(), options_.system_dirs.begin(),
              options_.system_dirs.end());
  std::vector<std::string> skipped;
  for (const std::string& dir : dirs) {
    std::string candidate = JoinNormalPath(dir, needed);
    if (recorder_ != nullptr) recorder_->Witness(JoinNormalPath(dir, "."));
    struct stat st;
    if (::stat(candidate.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) {
        // A name that is there but does not resolve (a dangling link) can
        // start to resolve without its directory changing.
        if (recorder_ != nullptr && ::lstat(candidate.c_str(), &st) == 0) {
          recorder_->NotCacheable();
        }
        continue;
      }
      return absl::ErrnoToStatus(errno, absl::StrCat("stat ", candidate));
    }
    absl::StatusOr<size_t> index =
        Add(candidate, TrustedFileRole::kLibrary, static_cast<int>(object));
    if (index.status().code() == absl::StatusCode::kFailedPrecondition) {
      skipped.push_back(candidate);  // another class or machine: go on
      if (recorder_ != nullptr) recorder_->NotCacheable();
      continue;
    }
    if (!index.ok()) return index.status();
    by_name_.emplace(needed, *index);
    return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat(
      needed, " (needed by ", owner, ") is not in ", absl::StrJoin(dirs, ":"),
      skipped.empty() ? ""
                      : absl::StrCat(" (skipped, not for this machine: ",
                                     absl::StrJoin(skipped, ", "), ")")));
}

absl::StatusOr<std::vector<TrustedFile>> Search::Run(
    const std::string& exec, const std::vector<std::string>& modules) {
  absl::StatusOr<size_t> entry = Add(exec, TrustedFileRole::kEntry, -1);
  if (!entry.ok()) {
    if (absl::StartsWith(entry.status().message(), exec + ": not an ELF")) {
      return absl::InvalidArgumentError(absl::StrCat(
          exec,
          " is not an ELF executable (for a script, EXEC its "
          "interpreter and pass the script as an ARG and a MODULE)"));
    }
    return absl::Status(entry.status().code(),
                        absl::StrCat("EXEC ", entry.status().message()));
  }
  for (const std::string& module : modules) {
    absl::StatusOr<size_t> index =
        Add(module, TrustedFileRole::kModule, static_cast<int>(*entry));
    if (!index.ok()) {
      return absl::Status(index.status().code(),
                          absl::StrCat("MODULE ", index.status().message()));
    }
  }
  // Each object's interpreter, then its DT_NEEDED, breadth first as the
  // loader maps them.
  for (size_t i = 0; i < objects_.size(); ++i) {
    const std::string interp = objects_[i].deps.interpreter;
    if (!interp.empty()) {
      if (!IsNormalAbsolutePath(interp)) {
        return absl::InvalidArgumentError(
            absl::StrCat(files_[i].path, ": PT_INTERP '", interp,
                         "' is not an absolute normal path"));
      }
      TAO_ASSIGN_OR_RETURN(
          size_t index,
          Add(interp, TrustedFileRole::kInterpreter, static_cast<int>(i)));
      (void)index;
    }
    const std::vector<std::string> needed = objects_[i].deps.needed;
    for (const std::string& name : needed) {
      TAO_RETURN_IF_ERROR(Resolve(i, name));
    }
  }
  return std::move(files_);
}

// What a search's outcome is a function of besides the files it reads: its
// inputs and bounds, length-prefixed.
std::string SearchKey(const std::string& exec,
                      const std::vector<std::string>& modules,
                      const LibrarySearchOptions& options) {
  std::string key;
  auto add = [&key](absl::string_view s) {
    absl::StrAppend(&key, s.size(), ":", s);
  };
  add(exec);
  absl::StrAppend(&key, "m", modules.size());
  for (const std::string& m : modules) add(m);
  absl::StrAppend(&key, "d", options.system_dirs.size());
  for (const std::string& d : options.system_dirs) add(d);
  if (options.system_dirs.empty()) add(options.ld_so_conf);
  absl::StrAppend(&key, "b", options.max_files, ",", options.max_file_bytes,
                  ",", options.max_total_bytes);
  return key;
}

}  // namespace

absl::StatusOr<std::vector<TrustedFile>> CollectTrustedFiles(
    const std::string& exec, const std::vector<std::string>& modules,
    const LibrarySearchOptions& options) {
  const bool cached =
      options.search_cache != nullptr && options.cache != nullptr;
  std::string key;
  if (cached) {
    key = SearchKey(exec, modules, options);
    if (std::optional<std::vector<TrustedFile>> files =
            options.search_cache->Replay(key, *options.cache)) {
      return *std::move(files);
    }
  }
  SearchRecorder recorder;
  SearchRecorder* record = cached ? &recorder : nullptr;
  LibrarySearchOptions resolved = options;
  if (resolved.system_dirs.empty()) {
    TAO_ASSIGN_OR_RETURN(resolved.system_dirs,
                         RecordedSystemLibraryDirs(options.ld_so_conf, record));
  }
  Search search(resolved, record);
  absl::StatusOr<std::vector<TrustedFile>> files = search.Run(exec, modules);
  if (files.ok() && cached) {
    options.search_cache->Insert(key, recorder, *files, *options.cache);
  }
  return files;
}

}  // namespace tao
