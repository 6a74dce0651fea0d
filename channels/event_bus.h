// EventBus: the one fan-out of ProgramEvents. The loop publishes what happens
// to its programs (and the host publishes policy reloads); each subscriber
// (an admin WatchEvents stream) reads from a bounded queue of its own, so a
// slow watcher loses its oldest events (counted) and never slows the loop or
// the other watchers.
#ifndef TAO_CHANNELS_EVENT_BUS_H_
#define TAO_CHANNELS_EVENT_BUS_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "channels/loop_types.h"

namespace tao {

// Thread-safe. Lock order: the bus's lock, then a subscription's; neither is
// held while calling out, so Publish may be called with any other lock held
// (the loop's, say) and never blocks on a reader.
class EventBus {
 public:
  // Unread events each subscriber may hold (positive); past it the oldest
  // are dropped.
  explicit EventBus(size_t max_queued = 10000);
  ~EventBus();

  // One subscriber's queue. Thread-safe. Unsubscribes when destroyed; the
  // bus must outlive it.
  class Subscription {
   public:
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

    // Waits until an event is queued, the bus is closed or `deadline`
    // passes, then moves every queued event to the end of `*out`. Returns
    // false once the bus is closed and every event was taken.
    bool Next(absl::Time deadline, std::vector<ProgramEvent>* out);
    // Events dropped from this queue because it was full.
    uint64_t dropped() const;

   private:
    friend class EventBus;
    struct Queue {
      mutable absl::Mutex mu;
      absl::CondVar cv;
      std::deque<ProgramEvent> events ABSL_GUARDED_BY(mu);
      uint64_t dropped ABSL_GUARDED_BY(mu) = 0;
      bool closed ABSL_GUARDED_BY(mu) = false;
    };
    Subscription(EventBus& bus, std::shared_ptr<Queue> queue)
        : bus_(bus), queue_(std::move(queue)) {}
    EventBus& bus_;
    const std::shared_ptr<Queue> queue_;
  };

  // A new subscriber, which sees every event published from now on (none
  // if the bus is closed: its Next returns false at once).
  std::unique_ptr<Subscription> Subscribe();

  // Queues `event` for every subscriber. Never blocks on a reader.
  void Publish(const ProgramEvent& event);

  // Ends every subscription (after what it has queued) and every later one.
  void Close();

  size_t subscribers() const;

 private:
  void Remove(const Subscription::Queue* queue);

  const size_t max_queued_;
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<Subscription::Queue>> queues_
      ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tao

#endif  // TAO_CHANNELS_EVENT_BUS_H_
