// The event bus without a loop: every subscriber gets every event in order,
// a slow subscriber's queue is bounded (the oldest are dropped and counted)
// without touching the others, and Close ends every stream after what it
// has queued.
#include "channels/event_bus.h"

#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tao {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

ProgramEvent Started(uint64_t id) {
  ProgramEvent event;
  event.kind = ProgramEvent::kStarted;
  event.id = id;
  event.name = absl::StrCat("program ", id);
  event.time = absl::Now();
  return event;
}

std::vector<uint64_t> Ids(const std::vector<ProgramEvent>& events) {
  std::vector<uint64_t> ids;
  for (const ProgramEvent& event : events) ids.push_back(event.id);
  return ids;
}

TEST(EventBusTest, EverySubscriberGetsEveryEventInOrder) {
  EventBus bus;
  auto a = bus.Subscribe();
  auto b = bus.Subscribe();
  for (uint64_t id = 1; id <= 3; ++id) bus.Publish(Started(id));
  std::vector<ProgramEvent> got_a, got_b;
  EXPECT_TRUE(a->Next(absl::InfinitePast(), &got_a));
  EXPECT_TRUE(b->Next(absl::InfinitePast(), &got_b));
  EXPECT_THAT(Ids(got_a), ElementsAre(1, 2, 3));
  EXPECT_THAT(Ids(got_b), ElementsAre(1, 2, 3));
  EXPECT_EQ(got_a[1].name, "program 2");
}

TEST(EventBusTest, ASubscriberSeesOnlyWhatIsPublishedAfterItSubscribed) {
  EventBus bus;
  bus.Publish(Started(1));
  auto late = bus.Subscribe();
  bus.Publish(Started(2));
  std::vector<ProgramEvent> got;
  EXPECT_TRUE(late->Next(absl::InfinitePast(), &got));
  EXPECT_THAT(Ids(got), ElementsAre(2));
}

TEST(EventBusTest, AFullQueueDropsItsOldestAndCountsThem) {
  EventBus bus(/*max_queued=*/3);
  auto slow = bus.Subscribe();
  auto fast = bus.Subscribe();
  std::vector<ProgramEvent> got_fast;
  for (uint64_t id = 1; id <= 5; ++id) {
    bus.Publish(Started(id));
    ASSERT_TRUE(fast->Next(absl::InfinitePast(), &got_fast));
  }
  std::vector<ProgramEvent> got_slow;
  EXPECT_TRUE(slow->Next(absl::InfinitePast(), &got_slow));
  // The slow one keeps the newest three; the one that kept up lost nothing.
  EXPECT_THAT(Ids(got_slow), ElementsAre(3, 4, 5));
  EXPECT_EQ(slow->dropped(), 2u);
  EXPECT_THAT(Ids(got_fast), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_EQ(fast->dropped(), 0u);
}

TEST(EventBusTest, NextWaitsUntilTheDeadline) {
  EventBus bus;
  auto sub = bus.Subscribe();
  std::vector<ProgramEvent> got;
  const absl::Time start = absl::Now();
  EXPECT_TRUE(sub->Next(start + absl::Milliseconds(50), &got));
  EXPECT_THAT(got, IsEmpty());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(45));
}

TEST(EventBusTest, APublishWakesAWaitingSubscriberAtOnce) {
  EventBus bus;
  auto sub = bus.Subscribe();
  std::vector<ProgramEvent> got;
  absl::Time woke;
  std::thread reader([&] {
    EXPECT_TRUE(sub->Next(absl::Now() + absl::Seconds(30), &got));
    woke = absl::Now();
  });
  absl::SleepFor(absl::Milliseconds(20));
  const absl::Time published = absl::Now();
  bus.Publish(Started(7));
  reader.join();
  EXPECT_THAT(Ids(got), ElementsAre(7));
  // Not a poll: the reader wakes with the event, well before its deadline.
  EXPECT_LT(woke - published, absl::Seconds(5));
}

TEST(EventBusTest, CloseEndsEveryStreamAfterWhatItQueued) {
  EventBus bus;
  auto sub = bus.Subscribe();
  bus.Publish(Started(1));
  bus.Close();
  bus.Publish(Started(2));  // after Close: for no one
  std::vector<ProgramEvent> got;
  EXPECT_TRUE(sub->Next(absl::Now() + absl::Seconds(30), &got));
  EXPECT_THAT(Ids(got), ElementsAre(1));
  got.clear();
  EXPECT_FALSE(sub->Next(absl::Now() + absl::Seconds(30), &got));
  EXPECT_THAT(got, IsEmpty());
  // A subscriber that comes after Close ends at once.
  auto late = bus.Subscribe();
  EXPECT_FALSE(late->Next(absl::Now() + absl::Seconds(30), &got));
}

TEST(EventBusTest, CloseWakesAWaitingSubscriber) {
  EventBus bus;
  auto sub = bus.Subscribe();
  bool open = true;
  std::thread reader([&] {
    std::vector<ProgramEvent> got;
    open = sub->Next(absl::Now() + absl::Seconds(30), &got);
  });
  absl::SleepFor(absl::Milliseconds(20));
  bus.Close();
  reader.join();
  EXPECT_FALSE(open);
}

TEST(EventBusTest, ADestroyedSubscriptionLeavesTheBus) {
  EventBus bus;
  auto a = bus.Subscribe();
  {
    auto b = bus.Subscribe();
    EXPECT_EQ(bus.subscribers(), 2u);
  }
  EXPECT_EQ(bus.subscribers(), 1u);
  bus.Publish(Started(1));  // reaches `a` only; nothing dangles
  std::vector<ProgramEvent> got;
  EXPECT_TRUE(a->Next(absl::InfinitePast(), &got));
  EXPECT_THAT(Ids(got), ElementsAre(1));
}

}  // namespace
}  // namespace tao
