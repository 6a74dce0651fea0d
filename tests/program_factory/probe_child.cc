// probe-child: a program that reports what it was started with, for the
// ProcessFactory tests. No dependencies beyond libc.
//
//   probe-child marker        prints "probe: <PROBE_MARKER>"
//   probe-child env           prints every environment entry, one per line
//   probe-child fds           prints "fd N -> target" for every open descriptor
//   probe-child args          prints argv, one per line
//   probe-child cwd           prints the working directory
//   probe-child session       prints "pid P sid S pgid G"
//   probe-child signals       prints SigBlk and SigIgn from /proc/self/status
//   probe-child exit N        exits with N
//   probe-child sleep S       sleeps S seconds
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PROBE_MARKER
#define PROBE_MARKER "probe-child"
#endif

extern char** environ;

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "marker";
  if (strcmp(mode, "marker") == 0) {
    printf("probe: %s\n", PROBE_MARKER);
  } else if (strcmp(mode, "env") == 0) {
    for (char** e = environ; *e != nullptr; ++e) printf("env: %s\n", *e);
  } else if (strcmp(mode, "fds") == 0) {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return 3;
    int own = dirfd(dir);
    while (struct dirent* entry = readdir(dir)) {
      if (entry->d_name[0] == '.') continue;
      int fd = atoi(entry->d_name);
      if (fd == own) continue;
      char link[64], target[512];
      snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
      ssize_t n = readlink(link, target, sizeof(target) - 1);
      target[n < 0 ? 0 : n] = '\0';
      printf("fd %d -> %s\n", fd, target);
    }
    closedir(dir);
  } else if (strcmp(mode, "args") == 0) {
    for (int i = 0; i < argc; ++i) printf("arg %d: %s\n", i, argv[i]);
  } else if (strcmp(mode, "cwd") == 0) {
    char buf[4096];
    if (getcwd(buf, sizeof(buf)) == nullptr) return 3;
    printf("cwd: %s\n", buf);
  } else if (strcmp(mode, "session") == 0) {
    printf("pid %d sid %d pgid %d\n", static_cast<int>(getpid()),
           static_cast<int>(getsid(0)), static_cast<int>(getpgid(0)));
  } else if (strcmp(mode, "signals") == 0 || strcmp(mode, "ids") == 0) {
    // The lines of /proc/self/status about signals, or about credentials.
    const bool signals = strcmp(mode, "signals") == 0;
    FILE* status = fopen("/proc/self/status", "r");
    if (status == nullptr) return 3;
    char line[512];
    while (fgets(line, sizeof(line), status) != nullptr) {
      bool wanted = signals ? (strncmp(line, "SigBlk:", 7) == 0 ||
                               strncmp(line, "SigIgn:", 7) == 0 ||
                               strncmp(line, "SigCgt:", 7) == 0)
                            : (strncmp(line, "Uid:", 4) == 0 ||
                               strncmp(line, "Gid:", 4) == 0 ||
                               strncmp(line, "Groups:", 7) == 0);
      if (wanted) fputs(line, stdout);
    }
    fclose(status);
  } else if (strcmp(mode, "exit") == 0 && argc > 2) {
    return atoi(argv[2]);
  } else if (strcmp(mode, "sleep") == 0 && argc > 2) {
    printf("ready\n");
    fflush(stdout);
    sleep(static_cast<unsigned>(atoi(argv[2])));
  } else {
    return 2;
  }
  return 0;
}
