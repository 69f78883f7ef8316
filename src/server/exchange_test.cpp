#include "server/exchange.h"

#include <gtest/gtest.h>

#include <thread>

namespace weblm::server {
namespace {

using namespace std::chrono_literals;

TEST(Exchange, EventsBeforeTheEndAreAllTakenWithIt) {
  Exchange exchange(true);
  exchange.accept(7);
  exchange.push_event("a");
  exchange.push_event("b");
  exchange.finish(api::Json{{"id", "x"}});
  const Exchange::Events got = exchange.take_events(0ms);
  EXPECT_TRUE(got.finished);
  ASSERT_EQ(got.events.size(), 2u);
  EXPECT_EQ(got.events[0], "a");
  EXPECT_EQ(got.events[1], "b");
  EXPECT_TRUE(exchange.take_events(0ms).events.empty());
  EXPECT_EQ(exchange.id(), 7);
}

TEST(Exchange, TakeEventsTimesOutWhenNothingCame) {
  Exchange exchange(true);
  exchange.accept(1);
  const Exchange::Events got = exchange.take_events(5ms);
  EXPECT_FALSE(got.finished);
  EXPECT_TRUE(got.events.empty());
}

TEST(Exchange, AWaitingReaderWakesForAnEventFromAnotherThread) {
  Exchange exchange(true);
  exchange.accept(1);
  std::thread producer([&] {
    std::this_thread::sleep_for(20ms);
    exchange.push_event("late");
  });
  const Exchange::Events got = exchange.take_events(10s);
  producer.join();
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0], "late");
}

TEST(Exchange, RejectionEndsTheWaitWithTheErrorAndNoId) {
  Exchange exchange(false);
  std::thread engine([&] { exchange.fail(api::ApiError(400, "invalid_request_error", "bad", "temperature")); });
  EXPECT_EQ(exchange.wait_submitted(), Exchange::State::Finished);
  engine.join();
  EXPECT_EQ(exchange.id(), 0);
  ASSERT_TRUE(exchange.error().has_value());
  EXPECT_EQ(exchange.error()->status(), 400);
  EXPECT_EQ(exchange.error()->param(), "temperature");
  EXPECT_FALSE(exchange.response().has_value());
}

}  // namespace
}  // namespace weblm::server
