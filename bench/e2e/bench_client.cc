// tao_bench_client: the hosted program of the end-to-end harness
// (loop_bench.cc). It links the client library only (tao_client) and times
// its own calls with CLOCK_MONOTONIC, so what it reports is what a hosted
// program sees: framing, both context switches, the loop and the host's work.
//
//   rpc <op> <size> <iterations> <result_file>
//       op: random | seal | unseal | attest | name. `unseal` seals once and
//       unseals that bundle repeatedly. Writes median/p99/min/mean/total ns.
//   first-reply <result_file>
//       One GetTaoName; writes the CLOCK_MONOTONIC time its reply arrived.
//   seal-storm <start_at_monotonic_ns | @fifo> <count> <result_file>
//       Connects, one GetTaoName, sleeps until start_at, then `count` Seals of
//       32 bytes; writes when it started and finished. With @fifo it reads
//       start_at from that FIFO (blocking until the harness writes it).
//   raw <size> <iterations> <read_fd> <write_fd> <result_file>
//       The baseline: the same framing (4-byte big-endian length + body)
//       ping-ponged over a plain pipe pair with the harness's echo thread.
//
// Every mode also writes main_ns (CLOCK_MONOTONIC at entry to main) and
// first_reply_ns (when the first reply arrived). A failure writes error=...
// and exits non-zero.
//
// Built twice: tao_bench_client, and tao_bench_client_big with a ~10 MB
// initialized static array (TAO_BENCH_BIG_BLOB_BYTES) so that the executable
// file itself is ~10 MB, for the launch-latency rows.
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "channels/rpc_tao.h"
#include "tao/tao.h"

#ifdef TAO_BENCH_BIG_BLOB_BYTES
// Initialized (not all zero), so it lands in .rodata and takes file bytes,
// unlike a zero array in .bss. Externally visible and read below, so neither
// the compiler nor the linker may drop it.
extern const char kBigBlob[TAO_BENCH_BIG_BLOB_BYTES];
const char kBigBlob[TAO_BENCH_BIG_BLOB_BYTES] =
    "tao_bench_client_big: padding that makes this executable ~10 MB";
#endif

namespace {

int64_t MonoNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int64_t CpuNs() {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int64_t g_main_ns = 0;
int64_t g_first_reply_ns = 0;
std::string g_result_file;

void NoteReply() {
  if (g_first_reply_ns == 0) g_first_reply_ns = MonoNs();
}

// Writes `body` (plus main_ns and first_reply_ns) to the result file: temp
// file then rename, so the harness never reads half a result.
void WriteResult(std::string body) {
  if (g_result_file.empty()) return;
  absl::StrAppend(&body, "main_ns=", g_main_ns,
                  "\nfirst_reply_ns=", g_first_reply_ns, "\n");
  std::string tmp = absl::StrCat(g_result_file, ".tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror("open result file");
    std::exit(4);
  }
  const char* p = body.data();
  size_t left = body.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::perror("write result file");
      std::exit(4);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), g_result_file.c_str()) != 0) {
    std::perror("rename result file");
    std::exit(4);
  }
}

[[noreturn]] void Fail(const std::string& what) {
  std::string one_line = what;
  std::replace(one_line.begin(), one_line.end(), '\n', ' ');
  std::fprintf(stderr, "tao_bench_client: %s\n", one_line.c_str());
  WriteResult(absl::StrCat("error=", one_line, "\n"));
  std::exit(3);
}

void FailIf(const absl::Status& status, const char* what) {
  if (!status.ok()) Fail(absl::StrCat(what, ": ", status.ToString()));
}

int64_t ParseInt(const char* text, const char* what) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v) || v < 0)
    Fail(absl::StrCat("bad ", what, ": ", text));
  return v;
}

// Median, p99, min, mean and the total of the per-operation times.
std::string Summary(std::vector<int64_t> ns, int64_t total_ns, int64_t cpu_ns) {
  std::sort(ns.begin(), ns.end());
  const size_t n = ns.size();
  int64_t sum = 0;
  for (int64_t v : ns) sum += v;
  size_t p99 = n == 0 ? 0 : std::min(n - 1, (n * 99 + 99) / 100 - 1);
  return absl::StrCat("iterations=", n, "\nmedian_ns=", n ? ns[n / 2] : 0,
                      "\np99_ns=", n ? ns[p99] : 0, "\nmin_ns=", n ? ns[0] : 0,
                      "\nmean_ns=", n ? sum / static_cast<int64_t>(n) : 0,
                      "\ntotal_ns=", total_ns, "\ncpu_ns=", cpu_ns, "\n");
}

std::unique_ptr<tao::Tao> Connect() {
  auto tao = tao::TaoFromEnvironment();
  FailIf(tao.status(), "connect to the host");
  return *std::move(tao);
}

int RunRpc(int argc, char** argv) {
  if (argc != 6) Fail("usage: rpc <op> <size> <iterations> <result_file>");
  const std::string op = argv[2];
  const size_t size = static_cast<size_t>(ParseInt(argv[3], "size"));
  const int64_t iterations = ParseInt(argv[4], "iterations");
  std::unique_ptr<tao::Tao> tao = Connect();
  FailIf(tao->GetTaoName().status(), "GetTaoName");
  NoteReply();

  const std::string data(size, 'd');
  std::string bundle;
  if (op == "unseal") {
    auto sealed = tao->Seal(data, "");
    FailIf(sealed.status(), "Seal (for unseal)");
    bundle = *std::move(sealed);
  }
  tao::Statement statement;
  statement.mutable_predicate()->set_name("bench");
  statement.mutable_predicate()->add_args("tao_bench_client");

  std::function<absl::Status()> call;
  if (op == "random") {
    call = [&] { return tao->GetRandomBytes(size).status(); };
  } else if (op == "seal") {
    call = [&] { return tao->Seal(data, "").status(); };
  } else if (op == "unseal") {
    call = [&]() -> absl::Status {
      auto unsealed = tao->Unseal(bundle);
      if (!unsealed.ok()) return unsealed.status();
      if (unsealed->data.size() != size)
        return absl::InternalError("wrong size back");
      return absl::OkStatus();
    };
  } else if (op == "attest") {
    call = [&] { return tao->Attest(statement).status(); };
  } else if (op == "name") {
    call = [&] { return tao->GetTaoName().status(); };
  } else {
    Fail(absl::StrCat("unknown op '", op, "'"));
  }

  // Warm up (page faults, allocator, OpenSSL's lazy fetches in the host).
  const int64_t warmup = std::min<int64_t>(50, iterations / 10 + 1);
  for (int64_t i = 0; i < warmup; ++i) FailIf(call(), op.c_str());

  std::vector<int64_t> ns;
  ns.reserve(static_cast<size_t>(iterations));
  const int64_t cpu0 = CpuNs();
  const int64_t begin = MonoNs();
  int64_t last = begin;
  for (int64_t i = 0; i < iterations; ++i) {
    FailIf(call(), op.c_str());
    int64_t now = MonoNs();
    ns.push_back(now - last);
    last = now;
  }
  WriteResult(Summary(std::move(ns), last - begin, CpuNs() - cpu0));
  return 0;
}

int RunFirstReply(int argc, char** /*argv*/) {
  if (argc != 3) Fail("usage: first-reply <result_file>");
  std::unique_ptr<tao::Tao> tao = Connect();
  FailIf(tao->GetTaoName().status(), "GetTaoName");
  NoteReply();
  WriteResult("");
  return 0;
}

// `spec` is a CLOCK_MONOTONIC time in ns, or "@<fifo>": block reading one
// 21-byte record ("%020ld\n") from that FIFO, which the harness holds open and
// fills with one record per child once every child is connected. (A FIFO,
// not inotify: 1,000 inotify instances exceed the default per-user limit of
// 128; and not polling, which would load the CPU the starts need.)
int64_t StartAt(const char* spec) {
  if (spec[0] != '@') return ParseInt(spec, "start_at");
  int fd = ::open(spec + 1, O_RDONLY | O_CLOEXEC);
  if (fd < 0) Fail(absl::StrCat("open the start FIFO: ", strerror(errno)));
  char record[21];
  size_t got = 0;
  while (got < sizeof(record)) {
    ssize_t n = ::read(fd, record + got, sizeof(record) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail("the start FIFO closed before a record arrived");
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  std::string t(record, 20);
  return ParseInt(t.c_str(), "start_at from the start FIFO");
}

int RunSealStorm(int argc, char** argv) {
  if (argc != 5)
    Fail(
        "usage: seal-storm <start_at_monotonic_ns|@fifo> <count> "
        "<result_file>");
  const int64_t count = ParseInt(argv[3], "count");
  std::unique_ptr<tao::Tao> tao = Connect();
  FailIf(tao->GetTaoName().status(), "GetTaoName");
  NoteReply();
  const int64_t connected = MonoNs();
  const int64_t start_at = StartAt(argv[2]);
  struct timespec at = {static_cast<time_t>(start_at / 1000000000),
                        static_cast<long>(start_at % 1000000000)};  // NOLINT
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) ==
         EINTR) {
  }
  const std::string data(32, 's');
  const int64_t first = MonoNs();
  for (int64_t i = 0; i < count; ++i)
    FailIf(tao->Seal(data, "").status(), "Seal");
  const int64_t finish = MonoNs();
  WriteResult(absl::StrCat("seals=", count, "\nconnected_ns=", connected,
                           "\nstart_at_ns=", start_at, "\nbegin_ns=", first,
                           "\nfinish_ns=", finish, "\n"));
  return 0;
}

void ReadFull(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t got = ::read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      Fail(got == 0 ? "raw: EOF from the echo" : "raw: read failed");
    p += got;
    n -= static_cast<size_t>(got);
  }
}

void WriteFull(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t put = ::write(fd, p, n);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) Fail("raw: write failed");
    p += put;
    n -= static_cast<size_t>(put);
  }
}

int RunRaw(int argc, char** argv) {
  if (argc != 7)
    Fail("usage: raw <size> <iterations> <read_fd> <write_fd> <result_file>");
  const size_t size = static_cast<size_t>(ParseInt(argv[2], "size"));
  const int64_t iterations = ParseInt(argv[3], "iterations");
  const int rfd = static_cast<int>(ParseInt(argv[4], "read_fd"));
  const int wfd = static_cast<int>(ParseInt(argv[5], "write_fd"));
  // The same framing as the Tao channel: 4-byte big-endian length, body.
  std::string frame(4 + size, 'r');
  frame[0] = static_cast<char>((size >> 24) & 0xff);
  frame[1] = static_cast<char>((size >> 16) & 0xff);
  frame[2] = static_cast<char>((size >> 8) & 0xff);
  frame[3] = static_cast<char>(size & 0xff);
  std::string back(frame.size(), '\0');
  auto round_trip = [&] {
    WriteFull(wfd, frame.data(), frame.size());
    ReadFull(rfd, back.data(), back.size());
  };
  round_trip();
  NoteReply();
  const int64_t warmup = std::min<int64_t>(50, iterations / 10 + 1);
  for (int64_t i = 0; i < warmup; ++i) round_trip();
  std::vector<int64_t> ns;
  ns.reserve(static_cast<size_t>(iterations));
  const int64_t cpu0 = CpuNs();
  const int64_t begin = MonoNs();
  int64_t last = begin;
  for (int64_t i = 0; i < iterations; ++i) {
    round_trip();
    int64_t now = MonoNs();
    ns.push_back(now - last);
    last = now;
  }
  if (back != frame) Fail("raw: the echo changed the bytes");
  WriteResult(Summary(std::move(ns), last - begin, CpuNs() - cpu0));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  g_main_ns = MonoNs();
#ifdef TAO_BENCH_BIG_BLOB_BYTES
  {
    // One byte chosen at run time: the blob stays in the binary.
    volatile char sink =
        kBigBlob[(static_cast<size_t>(argc) * 4099) % TAO_BENCH_BIG_BLOB_BYTES];
    (void)sink;
  }
#endif
  if (argc < 2) {
    std::fprintf(
        stderr, "usage: tao_bench_client rpc|first-reply|seal-storm|raw ...\n");
    return 2;
  }
  g_result_file = argv[argc - 1];
  const std::string mode = argv[1];
  if (mode == "rpc") return RunRpc(argc, argv);
  if (mode == "first-reply") return RunFirstReply(argc, argv);
  if (mode == "seal-storm") return RunSealStorm(argc, argv);
  if (mode == "raw") return RunRaw(argc, argv);
  g_result_file.clear();
  std::fprintf(stderr, "tao_bench_client: unknown mode '%s'\n", mode.c_str());
  return 2;
}
