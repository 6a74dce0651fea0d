// How long a decision waits for its audit record: AuditLog appends under
// batch and sync durability, from 1 and 50 threads, on the disk holding
// --dir (use a real disk, where the host keeps its state). For each case:
// the median and 99th percentile time until the caller may answer (batch:
// the write; sync: the write and its fdatasync, shared by group commit),
// the aggregate rate, and the fdatasyncs per record.
//
//   audit-append-bench --dir=/var/lib/tao-bench [--records=400]
#include <gflags/gflags.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tao/file_util.h"
#include "tao_domain/audit_log.h"

DEFINE_string(dir, "", "Directory for the trails (on the disk to measure).");
DEFINE_int32(records, 400, "Records per thread per case.");

namespace tao {
namespace {

struct Result {
  double median_us = 0, p99_us = 0, per_second = 0, syncs_per_record = 0;
};

Result RunCase(const std::string& path, AuditDurability mode, int threads) {
  AuditLogOptions options;
  options.durability = mode;
  auto log = AuditLog::Open(path, options);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().ToString().c_str());
    std::exit(3);
  }
  std::vector<std::vector<double>> lat(threads);
  absl::Time start = absl::Now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < FLAGS_records; ++i) {
        AuditRecord r{
            absl::Now(),
            absl::StrCat("program key(ecdsa-p256:bench).Program(", t, ")"),
            "Seal",
            "",
            true,
            "domain 'bench': rule 'all' grants Seal"};
        absl::Time t0 = absl::Now();
        auto ticket = (*log)->AppendNoWait(r);
        if (ticket.ok() && mode == AuditDurability::kSync) {
          (void)(*log)->WaitDurable(*ticket);
        }
        lat[t].push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
      }
    });
  }
  for (std::thread& w : workers) w.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  Result r;
  r.median_us = all[all.size() / 2];
  r.p99_us = all[all.size() * 99 / 100];
  r.per_second = static_cast<double>(all.size()) / seconds;
  r.syncs_per_record = static_cast<double>((*log)->stats().syncs) /
                       static_cast<double>(all.size());
  return r;
}

int Main() {
  if (FLAGS_dir.empty()) {
    std::fprintf(stderr, "--dir is required\n");
    return 2;
  }
  (void)EnsureDirectory(FLAGS_dir, 0700);
  std::printf("%-6s %7s %12s %12s %14s %14s\n", "mode", "threads", "median_us",
              "p99_us", "records/s", "syncs/record");
  int n = 0;
  for (AuditDurability mode :
       {AuditDurability::kBatch, AuditDurability::kSync}) {
    for (int threads : {1, 50}) {
      std::string path =
          absl::StrCat(FLAGS_dir, "/bench-", ::getpid(), "-", n++, ".log");
      Result r = RunCase(path, mode, threads);
      std::printf("%-6s %7d %12.1f %12.1f %14.0f %14.3f\n",
                  mode == AuditDurability::kSync ? "sync" : "batch", threads,
                  r.median_us, r.p99_us, r.per_second, r.syncs_per_record);
      ::unlink(path.c_str());
    }
  }
  return 0;
}

}  // namespace
}  // namespace tao

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return tao::Main();
}
