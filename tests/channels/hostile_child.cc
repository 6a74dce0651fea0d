// hostile-child: a hosted program that breaks the channel protocol on
// purpose, one way per mode, to show that the listen loop survives it and
// keeps serving the program's siblings. It talks straight to the descriptors
// named by TAO_CHANNEL (no RpcTao), so it can send what no client would;
// over a shm channel, to a socket bridged byte for byte to the rings
// (tests/testing/shm_bridge.h).
//
//   hostile-child oversize          a header announcing 0xFFFFFFFF bytes;
//                                   expects EOF
//   hostile-child garbage           a small frame that does not parse;
//                                   expects EOF
//   hostile-child text              HTTP text instead of frames; expects EOF
//   hostile-child half              half a frame, then silence until killed
//   hostile-child half-close        half a frame, then closes the channel
//   hostile-child close-mid         a large Seal request, then closes at once
//   hostile-child flood METHOD N [SIZE]
//                                   N requests (random|attest|seal|name|unseal|
//                                   secret; SIZE bytes of random, sealed,
//                                   unsealed or shared-secret data) written
//                                   without reading a reply
//                                   until the host stops taking them
//                                   (backpressure) or all are written; then
//                                   reads and checks every reply
//                                   (attest-limited: attest, where a
//                                   PERMISSION_DENIED "rate limited" reply
//                                   is expected too, and counted)
//   hostile-child unknown           requests with no method (an unknown field,
//                                   an empty frame): INVALID_ARGUMENT replies,
//                                   and the channel stays up
//   hostile-child bad-args          hostile arguments to every method: each is
//                                   refused, and the channel stays up
//   hostile-child forge-attest FILE asks the host to sign statements for names
//                                   it does not have (its name extended by a
//                                   Program, Args or Publisher, a sibling, the
//                                   host; a delegation for one): each must be
//                                   refused; any attestation the host signs
//                                   anyway is written to FILE. Its own name
//                                   and its Ext(...) extensions must work.
//   hostile-child ignore-term       blocks SIGTERM, says "ready", sleeps
//   hostile-child sleep SECONDS     says "ready", sleeps
//   hostile-child spam BYTES CHUNK  writes BYTES to stdout, CHUNK at a time
//
// Exit codes: 0 the host behaved as expected, 1 it did not (why on stdout),
// 2 usage.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "channels/framing.h"
#include "channels/tao_rpc.pb.h"
#include "tao/file_util.h"
#include "tests/testing/raw_channel.h"
#include "tests/testing/shm_bridge.h"

namespace {

using ::tao::test::Bad;
using ::tao::test::ParseChannelOrBridge;
using ::tao::test::read_fd;
using ::tao::test::Say;
using ::tao::test::write_fd;
using ::tao::test::WriteAll;

// Reads exactly `n` bytes. 1: done, 0: EOF, -1: timeout or error.
int ReadFull(char* buf, size_t n, int timeout_ms) {
  size_t got = 0;
  while (got < n) {
    struct pollfd p = {read_fd, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    ssize_t k = ::read(read_fd, buf + got, n - got);
    if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (k < 0) return -1;
    if (k == 0) return 0;
    got += static_cast<size_t>(k);
  }
  return 1;
}

// True if the host closes the channel (EOF, or a reset) within `timeout_ms`.
bool ExpectEof(int timeout_ms) {
  char buf[4096];
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    struct pollfd p = {read_fd, POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    if (r <= 0) continue;
    ssize_t k = ::read(read_fd, buf, sizeof(buf));
    if (k == 0) return true;
    if (k < 0 && errno != EINTR && errno != EAGAIN) return true;  // ECONNRESET
  }
  return false;
}

std::string Frame(const tao::TaoRequest& request) {
  std::string out;
  absl::Status s = tao::AppendFrame(request, tao::kDefaultMaxFrameSize, &out);
  if (!s.ok()) std::abort();
  return out;
}

std::string RawFrame(absl::string_view body) {
  std::string out;
  uint32_t n = static_cast<uint32_t>(body.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(body.data(), body.size());
  return out;
}

bool ReadResponse(tao::TaoResponse* response, int timeout_ms) {
  unsigned char header[4];
  if (ReadFull(reinterpret_cast<char*>(header), 4, timeout_ms) != 1)
    return false;
  uint32_t n = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
               (uint32_t{header[2]} << 8) | uint32_t{header[3]};
  if (n > (32u << 20)) return false;
  std::string body(n, '\0');
  if (n > 0 && ReadFull(body.data(), n, timeout_ms) != 1) return false;
  return response->ParseFromString(body);
}

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// Sends `request` and returns the host's answer; false if none came.
bool Call(const tao::TaoRequest& request, tao::TaoResponse* response) {
  if (!WriteAll(Frame(request))) return false;
  if (!ReadResponse(response, 5000)) return false;
  return response->id() == request.id();
}

bool NameStillWorks(uint64_t id) {
  tao::TaoRequest request;
  request.set_id(id);
  request.mutable_get_tao_name();
  tao::TaoResponse response;
  if (!Call(request, &response) || response.code() != 0 ||
      response.name().empty()) {
    return false;
  }
  Say("name still works: " + response.name().substr(0, 24) + "...");
  return true;
}

int Unknown() {
  // id 7 and field 15 (no such method): parses, but names no method.
  std::string body = {'\x08', '\x07', '\x78', '\x01'};
  if (!WriteAll(RawFrame(body))) return Bad("write");
  tao::TaoResponse response;
  if (!ReadResponse(&response, 5000))
    return Bad("no reply to an unknown method");
  Say("unknown method: id " + std::to_string(response.id()) + " " +
      CodeName(response.code()) + ": " + response.message());
  if (response.id() != 7 || response.code() != 3)
    return Bad("expected id 7 INVALID_ARGUMENT");
  // An empty frame: an empty request (id 0, no method).
  if (!WriteAll(RawFrame(""))) return Bad("write");
  if (!ReadResponse(&response, 5000)) return Bad("no reply to an empty frame");
  Say("empty frame: id " + std::to_string(response.id()) + " " +
      CodeName(response.code()));
  if (response.code() != 3)
    return Bad("expected INVALID_ARGUMENT for an empty frame");
  if (!NameStillWorks(8)) return Bad("the channel did not survive");
  return 0;
}

int BadArgs() {
  std::vector<std::pair<std::string, tao::TaoRequest>> requests;
  auto add = [&requests](const std::string& what) -> tao::TaoRequest& {
    requests.emplace_back(what, tao::TaoRequest());
    requests.back().second.set_id(requests.size());
    return requests.back().second;
  };
  add("random-4GiB").mutable_get_random_bytes()->set_size(0xFFFFFFFFu);
  add("random-2MiB").mutable_get_random_bytes()->set_size(2u << 20);
  add("secret-2GiB").mutable_get_shared_secret()->set_size(0x7FFFFFFFu);
  add("secret-0").mutable_get_shared_secret()->set_size(0);
  add("secret-bad-policy")
      .mutable_get_shared_secret()
      ->set_policy("NoSuchPolicy");
  add("extend-program")
      .mutable_extend_tao_name()
      ->set_subprincipal("Program(sha256:" + std::string(64, '0') + ")");
  add("extend-publisher")
      .mutable_extend_tao_name()
      ->set_subprincipal("Publisher(x)");
  add("extend-malformed")
      .mutable_extend_tao_name()
      ->set_subprincipal("Ext((((");
  add("seal-bad-policy").mutable_seal()->set_policy("SameProgram ");
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "AllOf(";
  deep += "SameProgram";
  for (int i = 0; i < 40; ++i) deep += ")";
  add("seal-deep-policy").mutable_seal()->set_policy(deep);
  add("unseal-garbage").mutable_unseal()->set_bundle("not a bundle at all");
  add("unseal-empty").mutable_unseal();
  add("attest-foreign-speaker")
      .mutable_attest()
      ->set_speaker("key(ecdsa-p256:AAAA)");
  {
    tao::TaoRequest& r = add("attest-bad-window");
    r.mutable_attest()->set_not_before(100);
    r.mutable_attest()->set_not_after(1);
    r.mutable_attest()->mutable_predicate()->set_name("p");
  }
  for (const auto& [what, request] : requests) {
    tao::TaoResponse response;
    if (!Call(request, &response)) return Bad("no reply to " + what);
    Say(what + ": " + CodeName(response.code()) + ": " + response.message());
    if (response.code() == 0) return Bad(what + " was accepted");
    if (response.message().empty())
      return Bad(what + " was refused without a reason");
  }
  if (!NameStillWorks(1000)) return Bad("the channel did not survive");
  return 0;
}

// Asks for statements the host must refuse to sign, and two it must sign.
int ForgeAttest(const std::string& file) {
  tao::TaoRequest ask;
  ask.set_id(1);
  ask.mutable_get_tao_name();
  tao::TaoResponse named;
  if (!Call(ask, &named) || named.code() != 0) return Bad("no name");
  const std::string name = named.name();
  const std::string key = name.substr(0, name.find(").") + 1);
  const std::string digest = "sha256:" + std::string(64, 'e');
  auto claim = [](const std::string& speaker) {
    tao::Statement s;
    s.set_speaker(speaker);
    s.mutable_predicate()->set_name("runs");
    return s;
  };
  auto delegation = [&key](const std::string& delegator) {
    tao::Statement s;
    s.mutable_delegation()->set_delegate(key);
    s.mutable_delegation()->set_delegator(delegator);
    return s;
  };
  const std::vector<std::pair<std::string, tao::Statement>> forged = {
      {"forged-program", claim(name + ".Program(" + digest + ")")},
      {"forged-args", claim(name + ".Args(" + digest + ")")},
      {"forged-after-ext",
       claim(name + ".Ext(role:x).Program(" + digest + ")")},
      {"forged-host", claim(key)},
      {"forged-delegator", delegation(name + ".Program(" + digest + ")")},
  };
  uint64_t id = 10;
  std::string signed_anyway;
  for (const auto& [what, statement] : forged) {
    tao::TaoRequest request;
    request.set_id(++id);
    *request.mutable_attest() = statement;
    tao::TaoResponse response;
    if (!Call(request, &response)) return Bad("no reply to " + what);
    Say(what + ": " + CodeName(response.code()) + ": " + response.message());
    if (response.has_attestation()) {
      response.attestation().AppendToString(&signed_anyway);
    }
  }
  if (!signed_anyway.empty()) {
    if (!tao::WriteFileAtomically(file, signed_anyway).ok()) {
      return Bad("cannot write " + file);
    }
    return Bad("the host signed a forged statement");
  }
  const std::vector<std::pair<std::string, tao::Statement>> own = {
      {"own-name", claim(name)},
      {"own-ext", claim(name + ".Ext(role:x)")},
      {"own-delegation", delegation(name)},
  };
  for (const auto& [what, statement] : own) {
    tao::TaoRequest request;
    request.set_id(++id);
    *request.mutable_attest() = statement;
    tao::TaoResponse response;
    if (!Call(request, &response)) return Bad("no reply to " + what);
    Say(what + ": " + CodeName(response.code()));
    if (response.code() != 0 || !response.has_attestation()) {
      return Bad(what + " was refused: " + response.message());
    }
  }
  return 0;
}

int Flood(const std::string& method, size_t n, uint32_t size) {
  // unseal: one Seal of SIZE distinct bytes first; the flood unseals it.
  std::string secret, bundle;
  if (method == "unseal") {
    for (uint32_t i = 0; i < size; ++i)
      secret.push_back(static_cast<char>('a' + i % 26));
    tao::TaoRequest request;
    request.set_id(n + 1);
    request.mutable_seal()->set_data(secret);
    tao::TaoResponse response;
    if (!Call(request, &response) || response.code() != 0)
      return Bad("the seal before the flood failed: " + response.message());
    bundle = response.data();
  }
  std::string all;
  for (size_t i = 1; i <= n; ++i) {
    tao::TaoRequest request;
    request.set_id(i);
    if (method == "random") {
      request.mutable_get_random_bytes()->set_size(size);
    } else if (method == "attest" || method == "attest-limited") {
      request.mutable_attest()->mutable_predicate()->set_name("flood");
    } else if (method == "seal") {
      request.mutable_seal()->set_data(std::string(size, 'x'));
    } else if (method == "name") {
      request.mutable_get_tao_name();
    } else if (method == "unseal") {
      request.mutable_unseal()->set_bundle(bundle);
    } else if (method == "secret") {
      request.mutable_get_shared_secret()->set_size(size);
    } else {
      return 2;
    }
    all += Frame(request);
  }
  auto start = std::chrono::steady_clock::now();
  // Phase 1: write without ever reading, until the host stops taking bytes.
  int flags = ::fcntl(write_fd, F_GETFL);
  ::fcntl(write_fd, F_SETFL, flags | O_NONBLOCK);
  size_t pos = 0;
  bool stalled = false;
  while (pos < all.size()) {
    ssize_t k = ::write(write_fd, all.data() + pos, all.size() - pos);
    if (k > 0) {
      pos += static_cast<size_t>(k);
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno != EAGAIN) return Bad("write failed during the flood");
    struct pollfd p = {write_fd, POLLOUT, 0};
    if (::poll(&p, 1, 500) == 0) {
      stalled = true;
      break;
    }
  }
  ::fcntl(write_fd, F_SETFL, flags);
  if (stalled) {
    Say("stalled after " + std::to_string(pos) + " of " +
        std::to_string(all.size()) + " bytes");
  } else {
    Say("no stall: wrote all " + std::to_string(all.size()) + " bytes");
  }
  // Phase 2: read every reply while writing the rest.
  size_t received = 0, limited = 0;
  std::string error;
  std::thread reader([&] {
    for (size_t i = 1; i <= n; ++i) {
      tao::TaoResponse response;
      if (!ReadResponse(&response, 10000)) {
        error = "no reply " + std::to_string(i);
        return;
      }
      if (method == "attest-limited" && response.id() == i &&
          response.code() == 7 &&
          response.message().find("rate limited") != std::string::npos) {
        ++limited;
        ++received;
        continue;
      }
      if (response.id() != i || response.code() != 0) {
        error = "reply " + std::to_string(i) + " has id " +
                std::to_string(response.id()) + " and code " +
                CodeName(response.code());
        return;
      }
      if (method == "random" && response.data().size() != size) {
        error = "short random reply";
        return;
      }
      if (method == "unseal" && response.unsealed().data() != secret) {
        error = "reply " + std::to_string(i) + " unsealed other bytes";
        return;
      }
      if (method == "secret") {
        if (i == 1) secret = response.data();
        if (response.data().size() != size || response.data() != secret) {
          error = "reply " + std::to_string(i) + " is another secret";
          return;
        }
      }
      ++received;
    }
  });
  bool wrote = WriteAll(absl::string_view(all).substr(pos));
  reader.join();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start)
                .count();
  Say("received " + std::to_string(received) + " replies in " +
      std::to_string(ms) + " ms");
  if (method == "attest-limited") {
    Say("rate limited " + std::to_string(limited));
  }
  if (!wrote) return Bad("write failed after the stall");
  if (!error.empty()) return Bad(error);
  return 0;
}

int Run(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string mode = argv[1];
  ::signal(SIGPIPE, SIG_IGN);
  if (mode == "sleep" || mode == "ignore-term") {
    if (mode == "ignore-term") {
      sigset_t term;
      sigemptyset(&term);
      sigaddset(&term, SIGTERM);
      sigprocmask(SIG_BLOCK, &term, nullptr);
    }
    int seconds = 60;
    if (argc > 2 && !absl::SimpleAtoi(argv[2], &seconds)) return 2;
    Say("ready");
    ::sleep(static_cast<unsigned>(seconds));
    return 0;
  }
  if (mode == "spam") {
    size_t bytes = 0, chunk = 0;
    if (argc < 4 || !absl::SimpleAtoi(argv[2], &bytes) ||
        !absl::SimpleAtoi(argv[3], &chunk) || chunk == 0) {
      return 2;
    }
    std::string block(chunk, '.');
    size_t line = 0;
    for (size_t done = 0; done < bytes; done += chunk, ++line) {
      std::string piece = block.substr(0, std::min(chunk, bytes - done));
      std::string tag = "chunk " + std::to_string(line) + "\n";
      if (piece.size() > tag.size()) piece.replace(0, tag.size(), tag);
      size_t off = 0;
      while (off < piece.size()) {
        ssize_t k = ::write(1, piece.data() + off, piece.size() - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return 1;
        off += static_cast<size_t>(k);
      }
    }
    return 0;
  }
  if (!ParseChannelOrBridge()) {
    return Bad("TAO_CHANNEL is missing or malformed");
  }
  if (mode == "oversize") {
    if (!WriteAll(std::string("\xff\xff\xff\xff", 4))) return Bad("write");
    if (!ExpectEof(5000)) return Bad("the host kept the channel open");
    Say("eof");
    return 0;
  }
  if (mode == "garbage") {
    if (!WriteAll(std::string("\x00\x00\x00\x04\xff\xff\xff\xff", 8)))
      return Bad("write");
    if (!ExpectEof(5000)) return Bad("the host kept the channel open");
    Say("eof");
    return 0;
  }
  if (mode == "text") {
    if (!WriteAll("GET / HTTP/1.1\r\nHost: tao\r\n\r\n")) return Bad("write");
    if (!ExpectEof(5000)) return Bad("the host kept the channel open");
    Say("eof");
    return 0;
  }
  if (mode == "half" || mode == "half-close") {
    std::string frame = RawFrame(std::string(1000, 'x'));
    if (!WriteAll(frame.substr(0, 14))) return Bad("write");
    Say("ready");
    if (mode == "half") {
      ::sleep(60);
      return 0;
    }
    ::close(read_fd);
    if (write_fd != read_fd) ::close(write_fd);
    ::usleep(300 * 1000);
    Say("closed");
    return 0;
  }
  if (mode == "close-mid") {
    tao::TaoRequest request;
    request.set_id(1);
    request.mutable_seal()->set_data(std::string(4 << 20, 's'));
    if (!WriteAll(Frame(request))) return Bad("write");
    ::close(read_fd);
    if (write_fd != read_fd) ::close(write_fd);
    ::usleep(500 * 1000);
    Say("closed");
    return 0;
  }
  if (mode == "flood" && argc >= 4) {
    size_t n = 0;
    uint32_t size = 256;
    if (!absl::SimpleAtoi(argv[3], &n)) return 2;
    if (argc > 4 && !absl::SimpleAtoi(argv[4], &size)) return 2;
    return Flood(argv[2], n, size);
  }
  if (mode == "unknown") return Unknown();
  if (mode == "bad-args") return BadArgs();
  if (mode == "forge-attest" && argc >= 3) return ForgeAttest(argv[2]);
  return 2;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
