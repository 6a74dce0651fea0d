#include "channels/event_bus.h"

#include <algorithm>
#include <utility>

namespace tao {

EventBus::EventBus(size_t max_queued)
    : max_queued_(std::max<size_t>(1, max_queued)) {}

EventBus::~EventBus() = default;

std::unique_ptr<EventBus::Subscription> EventBus::Subscribe() {
  auto queue = std::make_shared<Subscription::Queue>();
  absl::MutexLock lock(&mu_);
  if (closed_) {
    absl::MutexLock queue_lock(&queue->mu);
    queue->closed = true;
  }
  queues_.push_back(queue);
  return std::unique_ptr<Subscription>(new Subscription(*this, queue));
}

void EventBus::Remove(const Subscription::Queue* queue) {
  absl::MutexLock lock(&mu_);
  queues_.erase(
      std::remove_if(queues_.begin(), queues_.end(),
                     [queue](const auto& q) { return q.get() == queue; }),
      queues_.end());
}

void EventBus::Publish(const ProgramEvent& event) {
  absl::MutexLock lock(&mu_);
  for (const auto& queue : queues_) {
    absl::MutexLock queue_lock(&queue->mu);
    if (queue->closed) continue;
    if (queue->events.size() >= max_queued_) {
      queue->events.pop_front();
      ++queue->dropped;
    }
    queue->events.push_back(event);
    queue->cv.Signal();
  }
}

void EventBus::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  for (const auto& queue : queues_) {
    absl::MutexLock queue_lock(&queue->mu);
    queue->closed = true;
    queue->cv.SignalAll();
  }
}

size_t EventBus::subscribers() const {
  absl::MutexLock lock(&mu_);
  return queues_.size();
}

EventBus::Subscription::~Subscription() { bus_.Remove(queue_.get()); }

bool EventBus::Subscription::Next(absl::Time deadline,
                                  std::vector<ProgramEvent>* out) {
  absl::MutexLock lock(&queue_->mu);
  while (queue_->events.empty() && !queue_->closed) {
    if (queue_->cv.WaitWithDeadline(&queue_->mu, deadline)) break;
  }
  const bool had = !queue_->events.empty();
  for (ProgramEvent& event : queue_->events) out->push_back(std::move(event));
  queue_->events.clear();
  return had || !queue_->closed;
}

uint64_t EventBus::Subscription::dropped() const {
  absl::MutexLock lock(&queue_->mu);
  return queue_->dropped;
}

}  // namespace tao
