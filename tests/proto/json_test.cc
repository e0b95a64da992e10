#include "proto/json.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sserpc::json {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using namespace std::string_literals;  // NOLINT: "..."s keeps embedded NULs.

constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string NestedArrays(int depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string NestedObjects(int depth) {
  std::string out;
  for (int i = 0; i < depth; ++i) out += "{\"a\":";
  out += "1";
  out += std::string(depth, '}');
  return out;
}

std::string Quoted(absl::string_view s) {
  std::string out;
  AppendQuoted(s, &out);
  return out;
}

// Decodes a complete string literal, failing the test if it is not one.
std::string Decode(absl::string_view literal) {
  std::string out;
  size_t pos = 0;
  absl::Status s = ParseString(literal, &pos, &out);
  EXPECT_TRUE(s.ok()) << s << " for " << literal;
  EXPECT_EQ(pos, literal.size());
  return out;
}

// Printable form of a test document, so failures show control bytes.
std::string Printable(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7F) {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Validate: the RFC 8259 grammar.

class ValidJsonTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ValidJsonTest, IsAccepted) {
  absl::Status s = Validate(GetParam());
  EXPECT_TRUE(s.ok()) << s << " for " << Printable(GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Rfc8259, ValidJsonTest,
    ::testing::Values(
        // Numbers.
        "0", "-0", "1", "-1", "123", "1234567890123456789012345678901234567890",
        "0.5", "-0.5", "10.25", "1.0", "0e0", "1e10", "1E10", "1e+10", "1e-10",
        "1.5e3", "-1.5E-300", "0.0e+0",
        // Literals.
        "true", "false", "null",
        // Strings.
        "\"\"", "\"abc\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u0041\"",
        "\"\\u00e9\"", "\"\\u00E9\"", "\"\\u0000\"", "\"\\uFFFF\"",
        "\"\\uD83D\\uDE00\"", "\"\\uDBFF\\uDFFF\"", "\"\x7F\"",
        "\"\xC3\xA9\"",          // U+00E9
        "\"\xE2\x82\xAC\"",      // U+20AC
        "\"\xEF\xBF\xBF\"",      // U+FFFF
        "\"\xF0\x9F\x98\x80\"",  // U+1F600
        "\"\xF4\x8F\xBF\xBF\"",  // U+10FFFF, the largest code point
        // Containers.
        "[]", "{}", "[[]]", "[{}]", "[1,2,3]", "{\"a\":1}", "{\"\":0}",
        "{\"a\":1,\"a\":2}",  // RFC 8259 allows duplicate names
        "{\"a\":{\"b\":[1,{\"c\":null}]},\"d\":\"e\"}",
        // Whitespace is exactly space, tab, LF and CR, allowed around tokens.
        " \t\r\n[ 1 , 2 ] \n", "{ \"a\" : 1 , \"b\" : [ ] }", "[ ]", "{ }"));

class InvalidJsonTest : public ::testing::TestWithParam<std::string> {};

TEST_P(InvalidJsonTest, IsRejectedAsInvalidArgument) {
  absl::Status s = Validate(GetParam());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
      << s << " for " << Printable(GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, InvalidJsonTest,
    ::testing::Values(
        // Empty input.
        "", " ", "\n",
        // Numbers: leading zeros, signs, fractions, exponents.
        "01", "-01", "00", "0123", "+1", ".5", "1.", "1.e5", "-.5", "1e", "1e+",
        "1E-", "-", "--1", "0x10", "1_000", "NaN", "Infinity", "-Infinity",
        "[01]", "{\"a\":01}",
        // Literals.
        "tru", "True", "TRUE", "nul", "nulll", "falsey", "[nul]", "undefined",
        // Structure.
        "[", "]", "{", "}", "[1", "[1,", "{\"a\":1", "{\"a\"", "[}", "{]",
        "[1,]", "[,1]", "[1,,2]", "[,]", "[1 2]", "{\"a\":1,}", "{,}",
        "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{\"a\"::1}", "{a:1}", "{'a':1}",
        "{1:2}", "{\"a\":1 \"b\":2}", "{null:1}",
        // Trailing content.
        "1 2", "[] x", "{}{}", "\"a\"\"b\"", "1 // comment", "[]]", "1\0"s,
        // Whitespace outside RFC 8259's four characters.
        "\f1", "\v1", "[1,\f2]",
        "\xC2\xA0"
        "1",
        // Strings: termination, escapes.
        "\"", "\"abc", "\"\\\"", "\"\\", "\"\\x\"", "\"\\'\"", "\"\\a\"",
        "\"\\U0041\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\u\"", "\"\\u004\"",
        // Strings: raw control characters.
        "\"a\0b\""s, "\"\x01\"", "\"\x1F\"", "\"\n\"", "\"\r\"", "\"\t\"",
        // Strings: surrogates in \u escapes.
        "\"\\uD83D\"",         // unpaired high surrogate at the end
        "\"\\uDE00\"",         // lone low surrogate
        "\"\\uD83Dx\"",        // high surrogate followed by a character
        "\"\\uD83D\\u0041\"",  // high surrogate followed by a non-surrogate
        "\"\\uD83D\\uD83D\"",  // two high surrogates
        "\"\\uDE00\\uD83D\"",  // pair in the wrong order
        "\"\\uD83D\\n\"",      // high surrogate followed by another escape
        // Strings: invalid UTF-8.
        "\"\x80\"", "\"\xBF\"",          // lone continuation bytes
        "\"\xC0\x80\"", "\"\xC1\xBF\"",  // overlong 2-byte forms
        "\"\xE0\x80\xAF\"",              // overlong 3-byte '/'
        "\"\xE0\x9F\xBF\"",              // overlong 3-byte U+07FF
        "\"\xF0\x8F\xBF\xBF\"",          // overlong 4-byte U+FFFF
        "\"\xED\xA0\x80\"",              // U+D800 encoded in UTF-8
        "\"\xED\xBF\xBF\"",              // U+DFFF encoded in UTF-8
        "\"\xED\xA0\xBD\xED\xB8\x80\"",  // CESU-8 surrogate pair
        "\"\xF4\x90\x80\x80\"",          // U+110000
        "\"\xF5\x80\x80\x80\"", "\"\xF8\x88\x80\x80\x80\"", "\"\xFE\"",
        "\"\xFF\"", "\"\xC3\"", "\"\xE2\x82\"",
        "\"\xF0\x9F\x98\"",            // truncated sequences
        "\"\xC3", "\"\xF0\x9F",        // truncated at the end
        "\"\xC3x\"", "\"\xE2\x82x\"",  // bad continuation
        // Invalid UTF-8 in an object key.
        "{\"\xFF\":1}"));

TEST(ValidateTest, ErrorNamesTheByteOffset) {
  absl::Status s = Validate("[1,]");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("invalid JSON"));
  EXPECT_THAT(s.message(), HasSubstr("at byte 3"));
}

TEST(ValidateTest, AcceptsNestingExactlyAtTheLimit) {
  ASSERT_EQ(kMaxDepth, 64);
  EXPECT_TRUE(Validate(NestedArrays(kMaxDepth)).ok());
  EXPECT_TRUE(Validate(NestedObjects(kMaxDepth)).ok());
  // Mixed arrays and objects, with a scalar at the bottom.
  std::string mixed;
  for (int i = 0; i < kMaxDepth / 2; ++i) mixed += "[{\"k\":";
  mixed += "\"leaf\"";
  for (int i = 0; i < kMaxDepth / 2; ++i) mixed += "}]";
  EXPECT_TRUE(Validate(mixed).ok());
}

TEST(ValidateTest, RejectsNestingOneBeyondTheLimit) {
  absl::Status s = Validate(NestedArrays(kMaxDepth + 1));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("nesting too deep"));
  EXPECT_EQ(Validate(NestedObjects(kMaxDepth + 1)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidateTest, DepthIsCountedAcrossSiblingsNotAccumulated) {
  // Many containers side by side are not nesting.
  std::string wide = "[";
  for (int i = 0; i < 1000; ++i) {
    if (i > 0) wide += ",";
    wide += NestedArrays(kMaxDepth - 1);
  }
  wide += "]";
  EXPECT_TRUE(Validate(wide).ok());
}

TEST(ValidateTest, RejectsHostileDeepNestingWithoutCrashing) {
  EXPECT_EQ(Validate(std::string(100000, '[')).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Validate(NestedArrays(100000)).code(),
            absl::StatusCode::kInvalidArgument);
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  EXPECT_EQ(Validate(objects).code(), absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// SkipValue and SkipSpace.

TEST(SkipValueTest, StopsAfterOneValueLeavingTheRest) {
  const std::string text = "  [1, {\"a\": \"]\"}]  , 3";
  size_t pos = 0;
  ASSERT_TRUE(SkipValue(text, &pos).ok());
  EXPECT_EQ(text[SkipSpace(text, pos)], ',');
}

TEST(SkipValueTest, StartsAtTheGivenPosition) {
  const std::string text = "xx \"abc\"yy";
  size_t pos = 2;
  ASSERT_TRUE(SkipValue(text, &pos).ok());
  EXPECT_EQ(pos, 8u);
}

TEST(SkipValueTest, LeavesPositionAloneOnError) {
  const std::string text = "[1,]";
  size_t pos = 0;
  EXPECT_FALSE(SkipValue(text, &pos).ok());
  EXPECT_EQ(pos, 0u);
}

TEST(SkipValueTest, AllowsTrailingContentThatValidateRejects) {
  size_t pos = 0;
  EXPECT_TRUE(SkipValue("1 2", &pos).ok());
  EXPECT_FALSE(Validate("1 2").ok());
}

TEST(SkipSpaceTest, SkipsOnlyJsonWhitespace) {
  EXPECT_EQ(SkipSpace(" \t\r\nx", 0), 4u);
  EXPECT_EQ(SkipSpace("\fx", 0), 0u);
  EXPECT_EQ(SkipSpace("  ", 0), 2u);
  EXPECT_EQ(SkipSpace("a  b", 1), 3u);
  EXPECT_EQ(SkipSpace("", 0), 0u);
}

// ---------------------------------------------------------------------------
// ParseString and ParseStringValue.

TEST(ParseStringTest, DecodesEveryShortEscape) {
  EXPECT_EQ(Decode(R"("\"\\\/\b\f\n\r\t")"), "\"\\/\b\f\n\r\t");
}

TEST(ParseStringTest, DecodesUnicodeEscapesToUtf8) {
  EXPECT_EQ(Decode(R"("\u0041")"), "A");
  EXPECT_EQ(Decode(R"("\u00e9")"), "\xC3\xA9");
  EXPECT_EQ(Decode(R"("\u20AC")"), "\xE2\x82\xAC");
  EXPECT_EQ(Decode(R"("\uFFFF")"), "\xEF\xBF\xBF");
  EXPECT_EQ(Decode(R"("\u0000")"), "\0"s);
  EXPECT_EQ(Decode(R"("\u007F\u0080\u07FF\u0800")"),
            "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80");
}

TEST(ParseStringTest, CombinesSurrogatePairs) {
  EXPECT_EQ(Decode(R"("\uD83D\uDE00")"), "\xF0\x9F\x98\x80");  // U+1F600
  EXPECT_EQ(Decode(R"("\ud800\udc00")"), "\xF0\x90\x80\x80");  // U+10000
  EXPECT_EQ(Decode(R"("\uDBFF\uDFFF")"), "\xF4\x8F\xBF\xBF");  // U+10FFFF
  EXPECT_EQ(Decode(R"("a\uD83D\uDE00b")"),
            "a\xF0\x9F\x98\x80"
            "b");
}

TEST(ParseStringTest, RejectsUnpairedSurrogates) {
  for (absl::string_view bad :
       {R"("\uD83D")", R"("\uDE00")", R"("\uD83Dx")", R"("\uD83D\u0041")",
        R"("\uD83D\uD83D")", R"("\uDE00\uD83D")", R"("\uD83D\uDE0")"}) {
    std::string out;
    size_t pos = 0;
    EXPECT_EQ(ParseString(bad, &pos, &out).code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(ParseStringTest, KeepsValidUtf8Verbatim) {
  const std::string utf8 = "\"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\"";
  EXPECT_EQ(Decode(utf8), utf8.substr(1, utf8.size() - 2));
}

TEST(ParseStringTest, AdvancesPositionPastTheClosingQuote) {
  const std::string text = "x\"ab\" rest";
  size_t pos = 1;
  std::string out;
  ASSERT_TRUE(ParseString(text, &pos, &out).ok());
  EXPECT_EQ(out, "ab");
  EXPECT_EQ(pos, 5u);
}

TEST(ParseStringTest, ReplacesPreviousContentOfOut) {
  std::string out = "stale";
  size_t pos = 0;
  ASSERT_TRUE(ParseString("\"new\"", &pos, &out).ok());
  EXPECT_EQ(out, "new");
}

TEST(ParseStringTest, RequiresAQuoteAtThePosition) {
  std::string out;
  size_t pos = 0;
  EXPECT_EQ(ParseString(" \"a\"", &pos, &out).code(),
            absl::StatusCode::kInvalidArgument);
  pos = 0;
  EXPECT_EQ(ParseString("abc", &pos, &out).code(),
            absl::StatusCode::kInvalidArgument);
  pos = 0;
  EXPECT_EQ(ParseString("", &pos, &out).code(),
            absl::StatusCode::kInvalidArgument);
}

// The plain run of a string is scanned 8 bytes at a time: every byte that
// ends it must be found wherever it falls in (or across) those blocks.
TEST(ParseStringTest, FindsTheEndOfAPlainRunAtEveryOffset) {
  for (size_t before = 0; before < 20; ++before) {
    const std::string plain(before, 'a');
    // Each kind of byte that stops a plain run, then more plain bytes.
    struct Case {
      std::string raw;      // between the quotes
      bool ok;
      std::string decoded;  // when ok
    };
    const std::vector<Case> cases = {
        {plain, true, plain},                                  // the quote
        {plain + "\\n" + "tail tail", true, plain + "\n" + "tail tail"},
        {plain + "\\\\" + "zzzzzzzz", true, plain + "\\" + "zzzzzzzz"},
        {plain + "\xc3\xa9" + "01234567", true, plain + "\xc3\xa9" + "01234567"},
        {plain + "\x7f~}" + "0123456789", true, plain + "\x7f~}" + "0123456789"},
        {plain + " !#$%&" + "[]^_`{|}", true, plain + " !#$%&" + "[]^_`{|}"},
        {plain + "\x1f" + "abcdefgh", false, ""},
        {plain + std::string(1, '\0') + "abcdefgh", false, ""},
        {plain + "\x80" + "abcdefgh", false, ""},
        {plain + "\xff" + "abcdefgh", false, ""},
    };
    for (const Case& c : cases) {
      const std::string text = "\"" + c.raw + "\"";
      size_t pos = 0;
      std::string out;
      absl::Status st = ParseString(text, &pos, &out);
      ASSERT_EQ(st.ok(), c.ok) << before << " " << absl::CEscape(c.raw) << " " << st;
      if (c.ok) {
        EXPECT_EQ(out, c.decoded) << before;
        EXPECT_EQ(pos, text.size()) << before;
      }
    }
    // Unterminated: the scan must stop at the end of the text, not past it.
    size_t pos = 0;
    std::string out;
    const std::string open = "\"" + plain + "abcdefghijklmnop";
    EXPECT_FALSE(ParseString(absl::string_view(open.data(), open.size()), &pos,
                             &out)
                     .ok());
  }
}

TEST(ParseStringValueTest, AcceptsSurroundingWhitespace) {
  std::string out;
  ASSERT_TRUE(ParseStringValue(" \n\"a\\nb\"\t ", &out).ok());
  EXPECT_EQ(out, "a\nb");
}

TEST(ParseStringValueTest, RejectsNonStringsAndTrailingContent) {
  std::string out;
  for (absl::string_view bad :
       {"", "1", "null", "true", "[\"a\"]", "{\"a\":1}", "\"a\" b",
        "\"a\"\"b\"", "\"a\",", "\"unterminated"}) {
    EXPECT_EQ(ParseStringValue(bad, &out).code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

// ---------------------------------------------------------------------------
// AppendQuoted.

TEST(AppendQuotedTest, EscapesQuoteBackslashAndControlCharacters) {
  EXPECT_EQ(Quoted("plain"), "\"plain\"");
  EXPECT_EQ(Quoted(""), "\"\"");
  EXPECT_EQ(Quoted("\"\\\n\r\t"), R"("\"\\\n\r\t")");
  EXPECT_EQ(Quoted("\x01\x1F\b\f"), R"("\u0001\u001f\u0008\u000c")");
  EXPECT_EQ(Quoted("\0"s), R"("\u0000")");
  EXPECT_EQ(Quoted("/\x7F"), "\"/\x7F\"");
}

TEST(AppendQuotedTest, AppendsWithoutClearing) {
  std::string out = "prefix:";
  AppendQuoted("x", &out);
  EXPECT_EQ(out, "prefix:\"x\"");
}

TEST(AppendQuotedTest, RoundTripsEveryAsciiByte) {
  for (int b = 0; b < 128; ++b) {
    const std::string s(1, static_cast<char>(b));
    const std::string q = Quoted(s);
    EXPECT_TRUE(Validate(q).ok()) << "byte " << b << ": " << Printable(q);
    EXPECT_EQ(Decode(q), s) << "byte " << b;
  }
  std::string all;
  for (int b = 0; b < 128; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(Decode(Quoted(all)), all);
}

TEST(AppendQuotedTest, KeepsValidUtf8Verbatim) {
  const std::string s =
      "\xC3\xA9\xE2\x82\xAC\xEF\xBF\xBF\xF0\x9F\x98\x80"
      "\xF4\x8F\xBF\xBF";
  EXPECT_EQ(Quoted(s), "\"" + s + "\"");
  EXPECT_EQ(Decode(Quoted(s)), s);
}

TEST(AppendQuotedTest, ReplacesEachInvalidByteWithReplacementCharacter) {
  const std::string r(kReplacement);
  EXPECT_EQ(Decode(Quoted("\xFF")), r);
  EXPECT_EQ(Decode(Quoted("a\x80z")), "a" + r + "z");
  EXPECT_EQ(Decode(Quoted("\xC0\x80")), r + r);          // overlong NUL
  EXPECT_EQ(Decode(Quoted("\xED\xA0\x80")), r + r + r);  // U+D800
  EXPECT_EQ(Decode(Quoted("\xF4\x90\x80\x80")), r + r + r + r);
  // A truncated sequence keeps what follows it.
  EXPECT_EQ(Decode(Quoted("\xC3z")), r + "z");
  EXPECT_EQ(Decode(Quoted("\xC3\xA9\xC3")), "\xC3\xA9" + r);
}

TEST(AppendQuotedTest, TruncatedSequenceAtTheEndBecomesReplacementOnly) {
  // However many U+FFFD a truncated tail becomes, nothing else may appear.
  for (absl::string_view tail : {"\xE2\x82", "\xF0\x9F\x98", "\xF0"}) {
    std::string decoded = Decode(Quoted(absl::StrCat("ok", tail)));
    ASSERT_THAT(decoded, ::testing::StartsWith("ok"));
    absl::string_view rest = absl::string_view(decoded).substr(2);
    ASSERT_FALSE(rest.empty());
    while (!rest.empty()) {
      ASSERT_EQ(rest.substr(0, kReplacement.size()), kReplacement)
          << Printable(decoded);
      rest.remove_prefix(kReplacement.size());
    }
  }
}

TEST(AppendQuotedTest, OutputIsAlwaysValidJsonForArbitraryBytes) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 40);
  for (int n = 0; n < 5000; ++n) {
    std::string s;
    for (int k = length(rng); k > 0; --k)
      s.push_back(static_cast<char>(byte(rng)));
    const std::string q = Quoted(s);
    ASSERT_TRUE(Validate(q).ok()) << Printable(s);
    // Quoting decoded text again reproduces it: the output is a fixed point.
    const std::string decoded = Decode(q);
    ASSERT_EQ(Decode(Quoted(decoded)), decoded) << Printable(s);
  }
}

// ---------------------------------------------------------------------------
// ForEachMember and ForEachElement.

using Members = std::vector<std::pair<std::string, std::string>>;

absl::Status CollectMembers(absl::string_view text, Members* out) {
  return ForEachMember(text, [out](absl::string_view k, absl::string_view v) {
    out->emplace_back(std::string(k), std::string(v));
    return absl::OkStatus();
  });
}

absl::Status CollectElements(absl::string_view text,
                             std::vector<std::string>* out) {
  return ForEachElement(text, [out](absl::string_view v) {
    out->emplace_back(std::string(v));
    return absl::OkStatus();
  });
}

TEST(ForEachMemberTest, VisitsMembersInOrderWithRawValues) {
  Members m;
  ASSERT_TRUE(CollectMembers(
                  R"({"a":1,"b":"x\ny","c":{"d":[1,2]},"e":null,"f":[]})", &m)
                  .ok());
  EXPECT_THAT(m, ElementsAre(Pair("a", "1"), Pair("b", R"("x\ny")"),
                             Pair("c", R"({"d":[1,2]})"), Pair("e", "null"),
                             Pair("f", "[]")));
}

TEST(ForEachMemberTest, DecodesKeys) {
  Members m;
  ASSERT_TRUE(CollectMembers(R"({"a\u0062\n":true,"":false})", &m).ok());
  EXPECT_THAT(m, ElementsAre(Pair("ab\n", "true"), Pair("", "false")));
}

TEST(ForEachMemberTest, VisitsDuplicateKeysEachTime) {
  Members m;
  ASSERT_TRUE(CollectMembers(R"({"a":1,"a":2})", &m).ok());
  EXPECT_THAT(m, ElementsAre(Pair("a", "1"), Pair("a", "2")));
}

TEST(ForEachMemberTest, EmptyObjectVisitsNothing) {
  for (absl::string_view empty : {"{}", " { } ", "\n{\t}\r\n"}) {
    Members m;
    EXPECT_TRUE(CollectMembers(empty, &m).ok()) << empty;
    EXPECT_THAT(m, IsEmpty());
  }
}

TEST(ForEachMemberTest, ValueTextStartsAtTheValue) {
  Members m;
  ASSERT_TRUE(CollectMembers("{ \"a\" :\t 1,\"b\":\n\"s\"}", &m).ok());
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].second.front(), '1');
  EXPECT_EQ(m[1].second.front(), '"');
}

// Regression: ScanValue once skipped the whitespace after a top-level value
// before storing *pos, so member values came out as "1 " and "[2]\n".
TEST(ForEachMemberTest, ValueTextExcludesWhitespaceAfterTheValue) {
  Members m;
  ASSERT_TRUE(CollectMembers("{\"a\":1 ,\"b\":[2]\n}", &m).ok());
  EXPECT_THAT(m, ElementsAre(Pair("a", "1"), Pair("b", "[2]")));
}

TEST(ForEachMemberTest, StopsAtTheFirstErrorFromTheCallback) {
  int calls = 0;
  absl::Status s = ForEachMember(R"({"a":1,"b":2,"c":3})",
                                 [&](absl::string_view k, absl::string_view) {
                                   ++calls;
                                   if (k == "b")
                                     return absl::NotFoundError("stop at b");
                                   return absl::OkStatus();
                                 });
  EXPECT_EQ(s, absl::NotFoundError("stop at b"));
  EXPECT_EQ(calls, 2);
}

TEST(ForEachMemberTest, RejectsAnythingButOneObject) {
  for (absl::string_view bad :
       {"", "[]", "1", "\"a\"", "null", "{", "{\"a\":1", "{\"a\":1,}",
        "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1}{}", "{\"a\":1} x",
        "{\"a\":1 \"b\":2}", "{\"a\":[1,]}", "{\"a\":01}", "{\"\xFF\":1}"}) {
    Members m;
    EXPECT_EQ(CollectMembers(bad, &m).code(),
              absl::StatusCode::kInvalidArgument)
        << Printable(bad);
  }
}

TEST(ForEachMemberTest, ChecksNestingOfMemberValues) {
  Members m;
  EXPECT_EQ(CollectMembers("{\"a\":" + NestedArrays(100000) + "}", &m).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ForEachElementTest, VisitsElementsInOrderWithRawValues) {
  std::vector<std::string> e;
  ASSERT_TRUE(
      CollectElements(R"([1,"a",[2,[3]],{"b":4},null,true,-1.5e3])", &e).ok());
  EXPECT_THAT(e, ElementsAre("1", R"("a")", "[2,[3]]", R"({"b":4})", "null",
                             "true", "-1.5e3"));
}

TEST(ForEachElementTest, EmptyArrayVisitsNothing) {
  for (absl::string_view empty : {"[]", " [ ] ", "\n[\r\n]\t"}) {
    std::vector<std::string> e;
    EXPECT_TRUE(CollectElements(empty, &e).ok()) << empty;
    EXPECT_THAT(e, IsEmpty());
  }
}

// Regression: same cause as ValueTextExcludesWhitespaceAfterTheValue.
TEST(ForEachElementTest, ElementTextExcludesWhitespaceAfterTheValue) {
  std::vector<std::string> e;
  ASSERT_TRUE(CollectElements("[ 1 , 2 ]", &e).ok());
  EXPECT_THAT(e, ElementsAre("1", "2"));
}

TEST(ForEachElementTest, StopsAtTheFirstErrorFromTheCallback) {
  int calls = 0;
  absl::Status s = ForEachElement("[1,2,3]", [&](absl::string_view) {
    ++calls;
    return absl::AbortedError("enough");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(calls, 1);
}

TEST(ForEachElementTest, RejectsAnythingButOneArray) {
  for (absl::string_view bad :
       {"", "{}", "1", "\"a\"", "[", "[1", "[1,]", "[,1]", "[1 2]", "[1,,2]",
        "[] []", "[1] x", "[01]", "[\"\xC0\x80\"]"}) {
    std::vector<std::string> e;
    EXPECT_EQ(CollectElements(bad, &e).code(),
              absl::StatusCode::kInvalidArgument)
        << Printable(bad);
  }
}

// ---------------------------------------------------------------------------
// ParseInt64.

int64_t MustParseInt64(absl::string_view value) {
  int64_t out = -42;
  absl::Status s = ParseInt64(value, &out);
  EXPECT_TRUE(s.ok()) << s << " for " << value;
  return out;
}

TEST(ParseInt64Test, ParsesPlainIntegers) {
  EXPECT_EQ(MustParseInt64("0"), 0);
  EXPECT_EQ(MustParseInt64("-0"), 0);
  EXPECT_EQ(MustParseInt64("7"), 7);
  EXPECT_EQ(MustParseInt64("-7"), -7);
  EXPECT_EQ(MustParseInt64("30000"), 30000);
}

TEST(ParseInt64Test, ParsesTheProto3QuotedForm) {
  EXPECT_EQ(MustParseInt64("\"123\""), 123);
  EXPECT_EQ(MustParseInt64("\"-123\""), -123);
  EXPECT_EQ(MustParseInt64("\"0\""), 0);
}

TEST(ParseInt64Test, AcceptsTheRangeEdges) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(MustParseInt64("9223372036854775807"), kMax);
  EXPECT_EQ(MustParseInt64("-9223372036854775808"), kMin);
  EXPECT_EQ(MustParseInt64("\"9223372036854775807\""), kMax);
  EXPECT_EQ(MustParseInt64("\"-9223372036854775808\""), kMin);
  EXPECT_EQ(MustParseInt64("9223372036854775806"), kMax - 1);
  EXPECT_EQ(MustParseInt64("-9223372036854775807"), kMin + 1);
}

TEST(ParseInt64Test, RejectsValuesOneBeyondTheRange) {
  for (absl::string_view bad :
       {"9223372036854775808", "-9223372036854775809",
        "\"9223372036854775808\"", "\"-9223372036854775809\"",
        "18446744073709551615", "18446744073709551616", "-18446744073709551616",
        "99999999999999999999", "92233720368547758070"}) {
    int64_t out = 0;
    absl::Status s = ParseInt64(bad, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("out of range")) << bad;
  }
}

TEST(ParseInt64Test, RejectsNonIntegers) {
  for (absl::string_view bad :
       {"",       "-",       "+1",      "1.0",     "1.5",     "1e3",
        "1E3",    "0x10",    "true",    "null",    "[1]",     "{}",
        "\"\"",   "\"-\"",   "\"1.5\"", "\"1e3\"", "\"abc\"", "\" 1\"",
        "\"1 \"", "\"1\" x", "\"1",     "1a",      "--1",     "- 1"}) {
    int64_t out = 0;
    EXPECT_EQ(ParseInt64(bad, &out).code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace sserpc::json
