// EventDispatcher: the listen loop's one thread of events. It owns the epoll
// set, the timers and the cross-thread wake-up; the loop's other parts (the
// connections, the output capture, the supervisor) register descriptors and
// timers with it and never touch epoll themselves.
//
// Every registration carries a 64-bit tag chosen by the caller; the
// dispatcher hands the tag back to its Handler when the descriptor is ready
// or the timer is due. Tags ~0 and ~1 are reserved (kWakeTag, and one the
// loop uses for the audit trail's descriptor).
#ifndef TAO_CHANNELS_EVENT_DISPATCHER_H_
#define TAO_CHANNELS_EVENT_DISPATCHER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tao/unique_fd.h"

namespace tao {

// Thread-safety: Watch, Rewatch, Unwatch, AddTimer and Wake may be called
// from any thread. Run, Again and every Handler callback run on the one
// thread that called Run (the loop thread). The timers are guarded by the
// dispatcher's own lock, a leaf: nothing is called while it is held.
class EventDispatcher {
 public:
  // The tag of the wake-up eventfd; never handed to a Handler.
  static constexpr uint64_t kWakeTag = ~uint64_t{0};
  // A tag the dispatcher never uses, free for one caller-owned descriptor.
  static constexpr uint64_t kReservedTag = ~uint64_t{1};

  // What Run calls, on the loop thread.
  class Handler {
   public:
    virtual ~Handler() = default;
    // The descriptor watched with `tag` is ready (`events` from epoll), or
    // `tag` was passed to Again in the previous turn (`events` is 0).
    virtual void OnReady(uint64_t tag, uint32_t events) = 0;
    // A timer added with `tag` is due.
    virtual void OnTimer(uint64_t tag) = 0;
    // The end of a turn. Return false to make Run return. `*max_wait`
    // (infinite on entry) bounds the next wait for events.
    virtual bool OnTurnEnd(absl::Duration* max_wait) = 0;
  };

  // An epoll set with the wake-up eventfd in it. errno statuses.
  static absl::StatusOr<std::unique_ptr<EventDispatcher>> Create();

  // Level-triggered epoll_ctl ADD / MOD / DEL of `fd`. errno statuses.
  // Closing a descriptor also removes it.
  absl::Status Watch(int fd, uint32_t events, uint64_t tag);
  absl::Status Rewatch(int fd, uint32_t events, uint64_t tag);
  absl::Status Unwatch(int fd);

  // Calls OnTimer(tag) on the loop thread once `at` has passed (there is no
  // cancel: a handler checks whether the timer still matters). Wakes the
  // loop if `at` is earlier than anything it waits for.
  void AddTimer(absl::Time at, uint64_t tag);

  // Loop thread only: OnReady(tag, 0) again once this turn's ready
  // descriptors have been handed out (asked from that hand-out itself: in
  // the next turn, which then does not wait for events). For work that no
  // descriptor will announce.
  void Again(uint64_t tag) { again_.push_back(tag); }

  // Makes the loop thread's wait return soon (from any thread).
  void Wake();

  // Runs turns until the Handler's OnTurnEnd returns false. Each turn waits
  // for events (bounded by the next timer and OnTurnEnd's max_wait; not at
  // all if Again has work), hands out each ready descriptor, then the tags
  // of Again, then the due timers.
  void Run(Handler& handler);

 private:
  EventDispatcher(UniqueFd epoll_fd, UniqueFd wake_fd);
  absl::Status Control(int op, int fd, uint32_t events, uint64_t tag);

  const UniqueFd epoll_fd_;
  const UniqueFd wake_fd_;
  std::vector<uint64_t> again_;  // loop thread only

  absl::Mutex timers_mu_;
  std::multimap<absl::Time, uint64_t> timers_ ABSL_GUARDED_BY(timers_mu_);
};

}  // namespace tao

#endif  // TAO_CHANNELS_EVENT_DISPATCHER_H_
