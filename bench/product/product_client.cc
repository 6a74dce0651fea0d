// product-client: the hosted program of the product-path benchmark
// (bench/product/product_bench.py). It is compiled by the harness against
// the INSTALLED client library (pkg-config tao-client), exactly as a user's
// program would be, and started by a real taohost through taoctl.
//
//   product-client <op> <size> <iterations> [<start_at_unix_ns>]
//       op: seal | unseal | attest | random. `unseal` seals once and
//       unseals that bundle repeatedly. With start_at, the program connects,
//       asks its name, then sleeps until that CLOCK_REALTIME instant before
//       the timed calls, so that many programs start their calls together.
//
// It prints one line to stdout (the host captures it; taoctl logs shows it):
//   result op=.. size=.. n=.. median_ns=.. p99_ns=.. mean_ns=..
//          begin_unix_ns=.. end_unix_ns=..
// A failure prints "error: ..." to stderr and exits 3.
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "channels/rpc_tao.h"
#include "tao/tao.h"

namespace {

int64_t Now(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "error: %s: %s\n", what.c_str(),
               status.ToString().c_str());
  std::exit(3);
}

int64_t ParseCount(const char* text) {
  char* end = nullptr;
  long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v < 0) {
    std::fprintf(stderr, "error: bad number '%s'\n", text);
    std::exit(2);
  }
  return v;
}

void SleepUntil(int64_t unix_ns) {
  struct timespec at;
  at.tv_sec = unix_ns / 1000000000;
  at.tv_nsec = unix_ns % 1000000000;
  while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, nullptr) != 0) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr,
                 "usage: product-client seal|unseal|attest|random SIZE "
                 "ITERATIONS [START_AT_UNIX_NS]\n");
    return 2;
  }
  const std::string op = argv[1];
  const size_t size = static_cast<size_t>(ParseCount(argv[2]));
  const int64_t iterations = ParseCount(argv[3]);
  const int64_t start_at = argc == 5 ? ParseCount(argv[4]) : 0;

  auto connected = tao::TaoFromEnvironment();
  if (!connected.ok()) Fail("connect", connected.status());
  std::unique_ptr<tao::Tao> tao = *std::move(connected);
  auto name = tao->GetTaoName();
  if (!name.ok()) Fail("GetTaoName", name.status());

  const std::string data(size, 'd');
  std::string bundle;
  if (op == "unseal") {
    auto sealed = tao->Seal(data, "");
    if (!sealed.ok()) Fail("Seal", sealed.status());
    bundle = *std::move(sealed);
  }
  tao::Statement statement;
  statement.mutable_predicate()->set_name("bench");
  statement.mutable_predicate()->add_args("product-client");

  std::function<absl::Status()> call;
  if (op == "seal") {
    call = [&] { return tao->Seal(data, "").status(); };
  } else if (op == "unseal") {
    call = [&] { return tao->Unseal(bundle).status(); };
  } else if (op == "attest") {
    call = [&] { return tao->Attest(statement).status(); };
  } else if (op == "random") {
    call = [&] { return tao->GetRandomBytes(size).status(); };
  } else {
    std::fprintf(stderr, "error: unknown op '%s'\n", op.c_str());
    return 2;
  }

  if (start_at > 0) {
    SleepUntil(start_at);
  } else {
    // Warm up: page faults, the allocator, OpenSSL's lazy fetches.
    for (int i = 0; i < 20; ++i) {
      absl::Status s = call();
      if (!s.ok()) Fail(op, s);
    }
  }
  std::vector<int64_t> ns;
  ns.reserve(static_cast<size_t>(iterations));
  const int64_t begin_unix = Now(CLOCK_REALTIME);
  int64_t last = Now(CLOCK_MONOTONIC);
  for (int64_t i = 0; i < iterations; ++i) {
    absl::Status s = call();
    if (!s.ok()) Fail(op, s);
    int64_t now = Now(CLOCK_MONOTONIC);
    ns.push_back(now - last);
    last = now;
  }
  const int64_t end_unix = Now(CLOCK_REALTIME);
  std::sort(ns.begin(), ns.end());
  int64_t sum = 0;
  for (int64_t v : ns) sum += v;
  const size_t n = ns.size();
  const size_t p99 = n == 0 ? 0 : std::min(n - 1, (n * 99) / 100);
  std::printf(
      "result op=%s size=%zu n=%zu median_ns=%lld p99_ns=%lld mean_ns=%lld "
      "begin_unix_ns=%lld end_unix_ns=%lld\n",
      op.c_str(), size, n, static_cast<long long>(n ? ns[n / 2] : 0),
      static_cast<long long>(n ? ns[p99] : 0),
      static_cast<long long>(n ? sum / static_cast<int64_t>(n) : 0),
      static_cast<long long>(begin_unix), static_cast<long long>(end_unix));
  std::fflush(stdout);
  return 0;
}
