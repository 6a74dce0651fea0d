// identity-child: a hosted program that tries what a hostile program would
// against the host and its siblings, for the confinement tests. Each mode
// prints what happened; the test decides what should have.
//
//   identity-child ids            the Uid, Gid and Groups lines of
//                                 /proc/self/status
//   identity-child read PATH      "read PATH: ok" or "read PATH: errno N"
//   identity-child ptrace PID     "ptrace PID: ok" or "ptrace PID: errno N"
//   identity-child escape [stay]  forks a child that calls setsid() and
//                                 sleeps 300 s; prints "escaped PID"; then
//                                 exits (or, with stay, sleeps too)
//   identity-child state          prints TAO_STATE_DIRECTORY and the content
//                                 of its "marker" file, creating it ("first")
//                                 if missing
//   identity-child plant TARGET   in the state directory: a symlink "link"
//                                 to TARGET and a directory "sub" with a
//                                 symlink "sub/link" to TARGET
//   identity-child sleep S        prints "ready", sleeps S seconds
//   identity-child leave PROCS    writes "0" to PROCS (a cgroup.procs outside
//                                 its cgroup): "leave: ok" or "leave: errno N"
//   identity-child kill PID       SIGTERM to PID: "kill PID: ok" or errno
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "ids") {
    FILE* status = fopen("/proc/self/status", "r");
    if (status == nullptr) return 3;
    char line[512];
    while (fgets(line, sizeof(line), status) != nullptr) {
      if (strncmp(line, "Uid:", 4) == 0 || strncmp(line, "Gid:", 4) == 0 ||
          strncmp(line, "Groups:", 7) == 0) {
        fputs(line, stdout);
      }
    }
    fclose(status);
  } else if (mode == "read" && argc > 2) {
    int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    char buf[64];
    if (fd >= 0 && read(fd, buf, sizeof(buf)) >= 0) {
      printf("read %s: ok\n", argv[2]);
    } else {
      printf("read %s: errno %d\n", argv[2], errno);
    }
  } else if (mode == "ptrace" && argc > 2) {
    pid_t pid = static_cast<pid_t>(atoi(argv[2]));
    if (ptrace(PTRACE_ATTACH, pid, nullptr, nullptr) == 0) {
      printf("ptrace %d: ok\n", pid);
      ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
    } else {
      printf("ptrace %d: errno %d\n", pid, errno);
    }
  } else if (mode == "escape") {
    int ready[2];
    if (pipe(ready) != 0) return 3;
    pid_t child = fork();
    if (child < 0) return 3;
    if (child == 0) {
      close(ready[0]);
      setsid();  // out of the program's process group and session
      if (write(ready[1], "x", 1) != 1) _exit(3);
      close(ready[1]);
      // Stay, whatever the group is sent.
      signal(SIGTERM, SIG_IGN);
      signal(SIGHUP, SIG_IGN);
      sleep(300);
      _exit(0);
    }
    close(ready[1]);
    char c;
    if (read(ready[0], &c, 1) != 1) return 3;
    printf("escaped %d\n", static_cast<int>(child));
    fflush(stdout);
    if (argc > 2 && strcmp(argv[2], "stay") == 0) sleep(300);
  } else if (mode == "state") {
    const char* dir = getenv("TAO_STATE_DIRECTORY");
    if (dir == nullptr) {
      printf("no TAO_STATE_DIRECTORY\n");
      return 1;
    }
    printf("state: %s\n", dir);
    std::string marker = std::string(dir) + "/marker";
    char buf[64] = {};
    int fd = open(marker.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t n = read(fd, buf, sizeof(buf) - 1);
      printf("marker: %s\n", n > 0 ? buf : "");
      close(fd);
    } else {
      fd = open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0 || write(fd, "first", 5) != 5) {
        printf("cannot write the marker: errno %d\n", errno);
        return 1;
      }
      close(fd);
      printf("wrote the marker\n");
    }
  } else if (mode == "plant" && argc > 2) {
    const char* dir = getenv("TAO_STATE_DIRECTORY");
    if (dir == nullptr) return 1;
    std::string d = dir;
    if (symlink(argv[2], (d + "/link").c_str()) != 0) return 1;
    if (mkdir((d + "/sub").c_str(), 0700) != 0) return 1;
    if (symlink(argv[2], (d + "/sub/link").c_str()) != 0) return 1;
    printf("planted\n");
  } else if (mode == "leave" && argc > 2) {
    int fd = open(argv[2], O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && write(fd, "0", 1) == 1) {
      printf("leave: ok\n");
    } else {
      printf("leave: errno %d\n", errno);
    }
  } else if (mode == "kill" && argc > 2) {
    pid_t pid = static_cast<pid_t>(atoi(argv[2]));
    if (kill(pid, SIGTERM) == 0) {
      printf("kill %d: ok\n", pid);
    } else {
      printf("kill %d: errno %d\n", pid, errno);
    }
  } else if (mode == "sleep" && argc > 2) {
    printf("ready\n");
    fflush(stdout);
    sleep(static_cast<unsigned>(atoi(argv[2])));
  } else {
    return 2;
  }
  return 0;
}
