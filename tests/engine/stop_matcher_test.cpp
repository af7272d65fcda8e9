// Stop strings over streamed text: hold-back of possible starts, cuts at the first stop.
#include <gtest/gtest.h>

#include "engine/stop_matcher.h"

using ridge::engine::StopMatcher;

TEST(StopMatcher, WithoutStopsEverythingPassesThrough) {
  StopMatcher m({});
  EXPECT_EQ(m.push("hello "), "hello ");
  EXPECT_EQ(m.push("world"), "world");
  EXPECT_EQ(m.flush(), "");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, HoldsBackAPossibleStartThenReleasesIt) {
  StopMatcher m({"Lily"});
  EXPECT_EQ(m.push("named L"), "named ");
  EXPECT_EQ(m.push("i"), "");
  EXPECT_EQ(m.push("on"), "Lion");  // "Lio" cannot start "Lily": all released
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, CutsBeforeAStopSpanningPieces) {
  StopMatcher m({"Lily"});
  EXPECT_EQ(m.push("a girl L"), "a girl ");
  EXPECT_EQ(m.push("il"), "");
  EXPECT_EQ(m.push("y. She"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.flush(), "");
  EXPECT_EQ(m.push("more"), "");
}

TEST(StopMatcher, EarliestOfSeveralStopsWins) {
  StopMatcher m({"world", "o w"});
  EXPECT_EQ(m.push("hello world"), "hell");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, FlushReleasesAnUnfinishedStart) {
  StopMatcher m({"</end>"});
  EXPECT_EQ(m.push("text </e"), "text ");
  EXPECT_EQ(m.flush(), "</e");
}

TEST(StopMatcher, StopInsideOnePiece) {
  StopMatcher m({"\n\n"});
  EXPECT_EQ(m.push("line\n\nnext"), "line");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, HoldsBackTheLongestPossibleStart) {
  StopMatcher m({"aab"});
  EXPECT_EQ(m.push("xaa"), "x");
  EXPECT_EQ(m.push("a"), "a");   // "aaa": only "aa" can still start "aab"
  EXPECT_EQ(m.push("b"), "");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, MultiByteTextIsNotSplitInsideACharacter) {
  StopMatcher m({"é!"});
  EXPECT_EQ(m.push("café"), "caf");
  EXPECT_EQ(m.push("?"), "é?");
}
