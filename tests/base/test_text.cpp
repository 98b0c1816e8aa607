// The shared string helpers: the CSV splitter that both CSV readers (S2-100k index, coordinates)
// use, and the prefix/suffix tests the state-dict loader and CLI rely on.
#include <cstdint>
#include <cstdlib>

#include <gtest/gtest.h>

#include "core/base/text.h"

namespace {

using satclip::split_csv_line;
using Fields = std::vector<std::string>;

TEST(SplitCsvLine, PlainFieldsKeepTheirBlanksAndEmptyOnes) {
  EXPECT_EQ(split_csv_line("a, b ,,c"), (Fields{"a", " b ", "", "c"}));
  EXPECT_EQ(split_csv_line(""), (Fields{""}));
  EXPECT_EQ(split_csv_line(","), (Fields{"", ""}));
  EXPECT_EQ(split_csv_line("x,"), (Fields{"x", ""}));
}

TEST(SplitCsvLine, QuotedFieldsHoldCommasAndDoubledQuotes) {
  EXPECT_EQ(split_csv_line(R"("a,b",c)"), (Fields{"a,b", "c"}));
  EXPECT_EQ(split_csv_line(R"("say ""hi""",2)"), (Fields{R"(say "hi")", "2"}));
  EXPECT_EQ(split_csv_line(R"("")"), (Fields{""}));
  EXPECT_EQ(split_csv_line(R"("""")"), (Fields{"\""}));
  // An unclosed quote runs to the end of the line; nothing is lost.
  EXPECT_EQ(split_csv_line(R"(1,"open,end)"), (Fields{"1", "open,end"}));
}

TEST(SplitCsvLine, CarriageReturnOfACrlfLineIsDroppedOutsideQuotes) {
  EXPECT_EQ(split_csv_line("lat,lon\r"), (Fields{"lat", "lon"}));
  EXPECT_EQ(split_csv_line("\"a\rb\",c\r"), (Fields{"a\rb", "c"}));
}

TEST(Text, TrimBlanksRemovesSpacesAndTabsAtBothEndsOnly) {
  EXPECT_EQ(satclip::trim_blanks(" \t a b\t "), "a b");
  EXPECT_EQ(satclip::trim_blanks(" \t "), "");
  EXPECT_EQ(satclip::trim_blanks(""), "");
  EXPECT_EQ(satclip::trim_blanks("x\n"), "x\n");  // only blanks, not line ends
}

TEST(Text, PrefixAndSuffixIncludingTheEmptyAndLongerCases) {
  EXPECT_TRUE(satclip::starts_with("visual.conv1", "visual."));
  EXPECT_TRUE(satclip::starts_with("abc", ""));
  EXPECT_TRUE(satclip::starts_with("abc", "abc"));
  EXPECT_FALSE(satclip::starts_with("ab", "abc"));
  EXPECT_FALSE(satclip::starts_with("xabc", "abc"));
  EXPECT_TRUE(satclip::ends_with("out.h5", ".h5"));
  EXPECT_TRUE(satclip::ends_with("abc", ""));
  EXPECT_FALSE(satclip::ends_with("h5", ".h5"));
  EXPECT_FALSE(satclip::ends_with("out.h5x", ".h5"));
}

TEST(Text, ToLowerChangesAsciiLettersOnly) {
  EXPECT_EQ(satclip::to_lower("LaT_1"), "lat_1");
  EXPECT_EQ(satclip::to_lower("\xC3\x84Z"), "\xC3\x84z");  // UTF-8 bytes of 'Ä' stay as they are
}

TEST(Text, ReplaceAllReplacesEveryOccurrenceLeftToRightOnce) {
  EXPECT_EQ(satclip::replace_all("`/proc/self/fd/7': /proc/self/fd/7", "/proc/self/fd/7", "a.tif"), "`a.tif': a.tif");
  EXPECT_EQ(satclip::replace_all("aaa", "a", "aa"), "aaaaaa");  // the replacement is not searched again
  EXPECT_EQ(satclip::replace_all("abc", "", "x"), "abc");
  EXPECT_EQ(satclip::replace_all("abc", "z", "x"), "abc");
}

TEST(Text, RoundTripNumbersAreShortExactAndNumbersToYaml11) {
  EXPECT_EQ(satclip::round_trip_number(0.1), "0.1");
  EXPECT_EQ(satclip::round_trip_number(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(satclip::round_trip_number(1e-5), "1.0e-05");  // PyYAML reads 1e-05 as a string
  EXPECT_EQ(satclip::round_trip_number(-2.5e20), "-2.5e+20");
  EXPECT_EQ(satclip::round_trip_number(3), "3");
  for (const double v : {0.1, 1.0 / 3, 2.6592600369327779, 1e-300, 6.02214076e23, -0.0}) {
    EXPECT_EQ(std::strtod(satclip::round_trip_number(v).c_str(), nullptr), v) << v;
  }
}

TEST(Text, ParseDecimalTakesPlainDecimalsOnly) {
  const auto read = [](const std::string& s) {
    double v = -7;
    return satclip::parse_decimal(s, v) ? v : -7;
  };
  EXPECT_EQ(read("0.5"), 0.5);
  EXPECT_EQ(read(".5"), 0.5);
  EXPECT_EQ(read("-5."), -5.0);
  EXPECT_EQ(read("+2E3"), 2000.0);
  EXPECT_EQ(read("1.0e-05"), 1e-5);
  EXPECT_EQ(read("47"), 47.0);
  EXPECT_EQ(read("0.30000000000000004"), 0.1 + 0.2);
  // What strtod also takes, refused; `out` is left as it was.
  for (const std::string bad : {"", "+", "-", ".", "e5", "1e", "1e+", "0x10", "0x1p4", "inf", "-inf", "nan",
                                "infinity", "1e400", "-1e400", " 1", "1 ", "\t1", "1,5", "47,37", "1.5.2",
                                "+-1", "--1", "1d", "1f", "\xd9\xa1"}) {
    EXPECT_EQ(read(bad), -7) << "'" << bad << "'";
  }
  for (const double v : {0.1, 1.0 / 3, 2.6592600369327779, 1e-300, 6.02214076e23, -0.0, 1e-5}) {
    double back = 0;
    EXPECT_TRUE(satclip::parse_decimal(satclip::round_trip_number(v), back)) << v;
    EXPECT_EQ(back, v) << v;
  }
}

TEST(Text, ParseIntegerTakesSignAndDigitsInInt64Range) {
  const auto read = [](const std::string& s) {
    int64_t v = -7;
    return satclip::parse_integer(s, v) ? v : -7;
  };
  EXPECT_EQ(read("0"), 0);
  EXPECT_EQ(read("+12"), 12);
  EXPECT_EQ(read("-3"), -3);
  EXPECT_EQ(read("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(read("-9223372036854775808"), INT64_MIN);
  for (const std::string bad : {"", "+", "-", "9223372036854775808", "-9223372036854775809", "1.0", "1e3", "0x10",
                                " 1", "1 ", "12abc", "+-1", "--1"}) {
    EXPECT_EQ(read(bad), -7) << "'" << bad << "'";
  }
}

TEST(Text, FilledFieldsEndAtTheLastFieldWithMoreThanBlanks) {
  EXPECT_EQ(satclip::filled_fields(split_csv_line("47,37,8,54")), 4u);
  EXPECT_EQ(satclip::filled_fields(split_csv_line("47.37,8.54,")), 2u);  // a trailing comma
  EXPECT_EQ(satclip::filled_fields(split_csv_line("47.37,8.54, \t,")), 2u);
  EXPECT_EQ(satclip::filled_fields(split_csv_line(",8.54")), 2u);  // an empty field before a filled one counts
  EXPECT_EQ(satclip::filled_fields(split_csv_line("")), 0u);
  EXPECT_EQ(satclip::filled_fields(Fields{}), 0u);
}

}  // namespace
