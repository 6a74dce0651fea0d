#include "channels/event_dispatcher.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "glog/logging.h"

namespace tao {

absl::StatusOr<std::unique_ptr<EventDispatcher>> EventDispatcher::Create() {
  UniqueFd epoll_fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd.valid()) return absl::ErrnoToStatus(errno, "epoll_create1");
  UniqueFd wake_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd.valid()) return absl::ErrnoToStatus(errno, "eventfd");
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, wake_fd.get(), &ev) != 0) {
    return absl::ErrnoToStatus(errno, "epoll_ctl wake fd");
  }
  return std::unique_ptr<EventDispatcher>(
      new EventDispatcher(std::move(epoll_fd), std::move(wake_fd)));
}

EventDispatcher::EventDispatcher(UniqueFd epoll_fd, UniqueFd wake_fd)
    : epoll_fd_(std::move(epoll_fd)), wake_fd_(std::move(wake_fd)) {}

absl::Status EventDispatcher::Control(int op, int fd, uint32_t events,
                                      uint64_t tag) {
  struct epoll_event ev = {};
  ev.events = events;
  ev.data.u64 = tag;
  if (::epoll_ctl(epoll_fd_.get(), op, fd, &ev) != 0) {
    return absl::ErrnoToStatus(errno, "epoll_ctl");
  }
  return absl::OkStatus();
}

absl::Status EventDispatcher::Watch(int fd, uint32_t events, uint64_t tag) {
  return Control(EPOLL_CTL_ADD, fd, events, tag);
}

absl::Status EventDispatcher::Rewatch(int fd, uint32_t events, uint64_t tag) {
  return Control(EPOLL_CTL_MOD, fd, events, tag);
}

absl::Status EventDispatcher::Unwatch(int fd) {
  return Control(EPOLL_CTL_DEL, fd, 0, 0);
}

void EventDispatcher::AddTimer(absl::Time at, uint64_t tag) {
  bool earliest;
  {
    absl::MutexLock lock(&timers_mu_);
    earliest = timers_.empty() || at < timers_.begin()->first;
    timers_.emplace(at, tag);
  }
  if (earliest) Wake();
}

void EventDispatcher::Wake() {
  uint64_t one = 1;
  ssize_t n = ::write(wake_fd_.get(), &one, sizeof(one));
  (void)n;  // EAGAIN means a wake-up is already pending
}

void EventDispatcher::Run(Handler& handler) {
  struct epoll_event events[64];
  absl::Duration max_wait = absl::InfiniteDuration();
  std::vector<uint64_t> again;
  std::vector<uint64_t> due;
  while (true) {
    absl::Duration timeout = max_wait;
    {
      absl::MutexLock lock(&timers_mu_);
      if (!timers_.empty()) {
        timeout = std::min(timeout, timers_.begin()->first - absl::Now());
      }
    }
    int timeout_ms = -1;
    if (!again_.empty() || timeout <= absl::ZeroDuration()) {
      timeout_ms = 0;
    } else if (timeout != absl::InfiniteDuration()) {
      // Rounded up, so a timer is never found not yet due on waking.
      timeout_ms = static_cast<int>(
          std::min<int64_t>(absl::ToInt64Milliseconds(timeout) + 1, 1 << 30));
    }
    int n = ::epoll_wait(epoll_fd_.get(), events, 64, timeout_ms);
    if (n < 0 && errno != EINTR) {
      PLOG(ERROR) << "epoll_wait";
      n = 0;
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kWakeTag) {
        uint64_t count;
        ssize_t r = ::read(wake_fd_.get(), &count, sizeof(count));
        (void)r;
        continue;
      }
      handler.OnReady(events[i].data.u64, events[i].events);
    }
    // Work left from the last turn; what it asks Again goes to the next.
    again.swap(again_);
    for (uint64_t tag : again) handler.OnReady(tag, 0);
    again.clear();
    {
      absl::MutexLock lock(&timers_mu_);
      const absl::Time now = absl::Now();
      while (!timers_.empty() && timers_.begin()->first <= now) {
        due.push_back(timers_.begin()->second);
        timers_.erase(timers_.begin());
      }
    }
    for (uint64_t tag : due) handler.OnTimer(tag);
    due.clear();
    max_wait = absl::InfiniteDuration();
    if (!handler.OnTurnEnd(&max_wait)) return;
  }
}

}  // namespace tao
