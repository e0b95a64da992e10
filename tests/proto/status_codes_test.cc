#include "proto/status_codes.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace sserpc {
namespace {

using Code = absl::StatusCode;

const std::vector<std::pair<Code, absl::string_view>>& AllCodes() {
  static const auto* const kCodes =
      new std::vector<std::pair<Code, absl::string_view>>{
          {Code::kOk, "OK"},
          {Code::kCancelled, "CANCELLED"},
          {Code::kUnknown, "UNKNOWN"},
          {Code::kInvalidArgument, "INVALID_ARGUMENT"},
          {Code::kDeadlineExceeded, "DEADLINE_EXCEEDED"},
          {Code::kNotFound, "NOT_FOUND"},
          {Code::kAlreadyExists, "ALREADY_EXISTS"},
          {Code::kPermissionDenied, "PERMISSION_DENIED"},
          {Code::kResourceExhausted, "RESOURCE_EXHAUSTED"},
          {Code::kFailedPrecondition, "FAILED_PRECONDITION"},
          {Code::kAborted, "ABORTED"},
          {Code::kOutOfRange, "OUT_OF_RANGE"},
          {Code::kUnimplemented, "UNIMPLEMENTED"},
          {Code::kInternal, "INTERNAL"},
          {Code::kUnavailable, "UNAVAILABLE"},
          {Code::kDataLoss, "DATA_LOSS"},
          {Code::kUnauthenticated, "UNAUTHENTICATED"},
      };
  return *kCodes;
}

TEST(StatusCodeNameTest, NamesEveryCodeAsGrpcDoes) {
  ASSERT_EQ(AllCodes().size(), 17u);
  for (const auto& [code, name] : AllCodes()) {
    EXPECT_EQ(StatusCodeName(code), name);
  }
}

TEST(StatusCodeNameTest, EveryNameRoundTrips) {
  for (const auto& [code, name] : AllCodes()) {
    Code parsed = Code::kDataLoss;
    if (code == Code::kDataLoss) parsed = Code::kOk;
    ASSERT_TRUE(ParseStatusCodeName(StatusCodeName(code), &parsed)) << name;
    EXPECT_EQ(parsed, code) << name;
  }
}

TEST(ParseStatusCodeNameTest, RejectsUnknownNamesAndLeavesCodeAlone) {
  for (absl::string_view bad :
       {"", "cancelled", "Cancelled", " CANCELLED", "CANCELLED ", "CANCELED",
        "1", "0", "kCancelled", "NOPE", "OK\n", "DEADLINE-EXCEEDED"}) {
    Code code = Code::kAborted;
    EXPECT_FALSE(ParseStatusCodeName(bad, &code)) << bad;
    EXPECT_EQ(code, Code::kAborted) << bad;
  }
}

// The table of docs/PROTOCOL.md ("Status codes").
const std::vector<std::pair<Code, int>>& DocumentedHttpStatuses() {
  static const auto* const kTable = new std::vector<std::pair<Code, int>>{
      {Code::kInvalidArgument, 400},  {Code::kUnauthenticated, 401},
      {Code::kPermissionDenied, 403}, {Code::kNotFound, 404},
      {Code::kAlreadyExists, 409},    {Code::kResourceExhausted, 429},
      {Code::kCancelled, 499},        {Code::kInternal, 500},
      {Code::kUnimplemented, 501},    {Code::kUnavailable, 503},
      {Code::kDeadlineExceeded, 504},
  };
  return *kTable;
}

TEST(HttpStatusForCodeTest, FollowsTheDocumentedTable) {
  for (const auto& [code, http] : DocumentedHttpStatuses()) {
    EXPECT_EQ(HttpStatusForCode(code), http) << StatusCodeName(code);
  }
}

TEST(HttpStatusForCodeTest, OkIs200) {
  EXPECT_EQ(HttpStatusForCode(Code::kOk), 200);
}

TEST(HttpStatusForCodeTest, EveryErrorCodeIsAnHttpError) {
  for (const auto& [code, name] : AllCodes()) {
    if (code == Code::kOk) continue;
    const int http = HttpStatusForCode(code);
    EXPECT_GE(http, 400) << name;
    EXPECT_LE(http, 599) << name;
  }
}

TEST(HttpStatusForCodeTest, UnknownCodeValueIs500) {
  EXPECT_EQ(HttpStatusForCode(static_cast<Code>(42)), 500);
}

TEST(CodeForHttpStatusTest, InvertsTheDocumentedTable) {
  for (const auto& [code, http] : DocumentedHttpStatuses()) {
    if (code == Code::kInternal) continue;  // 500 carries no precise code
    EXPECT_EQ(CodeForHttpStatus(http), code) << http;
  }
  EXPECT_EQ(CodeForHttpStatus(200), Code::kOk);
}

TEST(CodeForHttpStatusTest, UnlistedStatusesAreUnknown) {
  for (int http : {0, 100, 201, 204, 302, 405, 418, 500, 505, 599, 999}) {
    EXPECT_EQ(CodeForHttpStatus(http), Code::kUnknown) << http;
  }
}

TEST(CodeForHttpStatusTest, GatewayAndSizeStatusesMapToRetryableCodes) {
  EXPECT_EQ(CodeForHttpStatus(502), Code::kUnavailable);
  EXPECT_EQ(CodeForHttpStatus(413), Code::kResourceExhausted);
  EXPECT_EQ(CodeForHttpStatus(410), Code::kNotFound);
}

TEST(StatusCodesTest, NonCanonicalCodesTravelAsUnknown) {
  EXPECT_EQ(StatusCodeName(static_cast<absl::StatusCode>(42)), "UNKNOWN");
}

}  // namespace
}  // namespace sserpc
