// The dispatcher on its own: descriptors, timers in time order, work handed
// back with Again, and a wake-up from another thread.
#include "channels/event_dispatcher.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <functional>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::testing::ElementsAre;

// Records what it is handed; stops when `stop` says so.
class Recorder : public EventDispatcher::Handler {
 public:
  std::vector<uint64_t> ready, timers;
  int turns = 0;
  std::function<void(uint64_t)> on_ready = [](uint64_t) {};
  std::function<bool()> stop = [] { return true; };

  void OnReady(uint64_t tag, uint32_t) override {
    ready.push_back(tag);
    on_ready(tag);
  }
  void OnTimer(uint64_t tag) override { timers.push_back(tag); }
  bool OnTurnEnd(absl::Duration*) override {
    ++turns;
    return !stop();
  }
};

std::unique_ptr<EventDispatcher> NewDispatcher() {
  auto dispatcher = EventDispatcher::Create();
  EXPECT_OK(dispatcher.status());
  return dispatcher.ok() ? *std::move(dispatcher) : nullptr;
}

TEST(EventDispatcherTest, AReadyDescriptorIsHandedOutWithItsTag) {
  auto dispatcher = NewDispatcher();
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  ASSERT_OK(dispatcher->Watch(read_end.get(), EPOLLIN, 42));
  ASSERT_EQ(::write(write_end.get(), "x", 1), 1);
  Recorder recorder;
  recorder.stop = [&] { return !recorder.ready.empty(); };
  dispatcher->Run(recorder);
  EXPECT_THAT(recorder.ready, ElementsAre(42));
  ASSERT_OK(dispatcher->Unwatch(read_end.get()));
}

TEST(EventDispatcherTest, TimersFireInTimeOrderAndNotBeforeTheyAreDue) {
  auto dispatcher = NewDispatcher();
  const absl::Time start = absl::Now();
  dispatcher->AddTimer(start + absl::Milliseconds(60), 2);
  dispatcher->AddTimer(start + absl::Milliseconds(30), 1);
  Recorder recorder;
  std::vector<absl::Duration> at;
  recorder.stop = [&] {
    while (at.size() < recorder.timers.size())
      at.push_back(absl::Now() - start);
    return recorder.timers.size() == 2;
  };
  dispatcher->Run(recorder);
  EXPECT_THAT(recorder.timers, ElementsAre(1, 2));
  EXPECT_GE(at[0], absl::Milliseconds(30));
  EXPECT_GE(at[1], absl::Milliseconds(60));
}

TEST(EventDispatcherTest, AgainHandsATagBackWithoutWaiting) {
  auto dispatcher = NewDispatcher();
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  ASSERT_OK(dispatcher->Watch(read_end.get(), EPOLLIN, 7));
  ASSERT_EQ(::write(write_end.get(), "x", 1), 1);
  Recorder recorder;
  int served = 0;
  recorder.on_ready = [&](uint64_t tag) {
    if (tag == 7) {
      char byte;
      (void)!::read(read_end.get(), &byte, 1);  // nothing more will come
    }
    // Three rounds of work, then done.
    if (++served < 3) dispatcher->Again(8);
  };
  recorder.stop = [&] { return served == 3; };
  dispatcher->Run(recorder);
  // 7, then 8 after this turn's descriptors; the second 8 was asked for
  // while 8 was handed out: in the next turn, which did not wait.
  EXPECT_THAT(recorder.ready, ElementsAre(7, 8, 8));
  EXPECT_EQ(recorder.turns, 2);
}

TEST(EventDispatcherTest, WakeEndsAWaitFromAnotherThread) {
  auto dispatcher = NewDispatcher();
  Recorder recorder;
  std::atomic<bool> done{false};
  recorder.stop = [&] { return done.load(); };
  std::thread waker([&] {
    absl::SleepFor(absl::Milliseconds(30));
    done = true;
    dispatcher->Wake();
  });
  dispatcher->Run(recorder);  // waits forever unless woken
  waker.join();
  EXPECT_TRUE(recorder.ready.empty());  // the wake-up itself is not handed out
}

TEST(EventDispatcherTest, AnEarlierTimerAddedFromAnotherThreadWakesTheLoop) {
  auto dispatcher = NewDispatcher();
  dispatcher->AddTimer(absl::Now() + absl::Hours(1), 1);
  Recorder recorder;
  recorder.stop = [&] { return !recorder.timers.empty(); };
  std::thread adder([&] {
    absl::SleepFor(absl::Milliseconds(30));
    dispatcher->AddTimer(absl::Now(), 2);
  });
  const absl::Time start = absl::Now();
  dispatcher->Run(recorder);
  adder.join();
  EXPECT_THAT(recorder.timers, ElementsAre(2));
  EXPECT_LT(absl::Now() - start, absl::Minutes(1));
}

}  // namespace
}  // namespace tao
