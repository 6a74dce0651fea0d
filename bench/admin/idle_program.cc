// tao_admin_idle: the hosted program of the admin benchmark. It does nothing:
// it blocks on a read of its channel and exits 0 when the channel reaches
// EOF (the host closed it, or the benchmark gave it /dev/null) or when it
// gets SIGTERM (the host stopping it). Plain libc only: it links nothing of
// the host, so what the host measures and executes is a ~16 KB binary.
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

namespace {

void OnTerm(int) { _exit(0); }

// The descriptor the host reads our requests from: the first number after
// the ':' of TAO_CHANNEL ("pipe:3,4" or "socket:3"); 3 without it.
int ChannelFd() {
  const char* env = getenv("TAO_CHANNEL");
  const char* colon = env != nullptr ? strchr(env, ':') : nullptr;
  if (colon == nullptr) return 3;
  int fd = atoi(colon + 1);
  return fd > 0 ? fd : 3;
}

}  // namespace

int main() {
  struct sigaction term;
  memset(&term, 0, sizeof(term));
  term.sa_handler = OnTerm;
  sigaction(SIGTERM, &term, nullptr);
  const int fd = ChannelFd();
  char buf[4096];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0 || (n < 0 && errno == EINTR)) continue;
    // EOF is the normal end; a read error (EBADF: started without a
    // channel) ends it too, with a failure.
    return n == 0 ? 0 : 1;
  }
}
