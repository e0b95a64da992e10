// The client side of the agent example, in process: WorkspaceRoot's path
// rules and WorkspaceTools' tools against a real temporary directory.
#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "examples/agent/confirmer.h"
#include "examples/agent/workspace_root.h"
#include "examples/agent/workspace_tools.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sserpc/client/call_context.h"
#include "sserpc/proto/sync.h"
#include "tests/agent/temp_dir.h"

namespace agent {
namespace {

namespace pb = ::agent::tools::v1;
using ::agent::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

// ws/                       the root
//   notes/a.txt  b.md
//   notes/sub/
//   notes/inside-rel  -> a.txt                 (symlinks that stay inside)
//   notes/inside-abs  -> <root>/notes/b.md
//   notes/to-sub      -> sub
//   notes/out-rel     -> ../../outside/secret.txt   (symlinks that escape)
//   notes/out-abs     -> <tmp>/outside/secret.txt
//   notes/out-dangling -> ../../outside/nothing-here
//   notes/out-dir     -> ../../outside
//   notes/loop        -> loop
// outside/secret.txt
class WorkspaceRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.Mkdir("ws");
    tmp_.Mkdir("ws/notes");
    tmp_.Mkdir("ws/notes/sub");
    tmp_.Write("ws/notes/a.txt", "alpha\n");
    tmp_.Write("ws/notes/b.md", "# beta\n");
    tmp_.Mkdir("outside");
    tmp_.Write("outside/secret.txt", "TOP SECRET\n");
    tmp_.Symlink("a.txt", "ws/notes/inside-rel");
    tmp_.Symlink(tmp_.Path("ws/notes/b.md"), "ws/notes/inside-abs");
    tmp_.Symlink("sub", "ws/notes/to-sub");
    tmp_.Symlink("../../outside/secret.txt", "ws/notes/out-rel");
    tmp_.Symlink(tmp_.Path("outside/secret.txt"), "ws/notes/out-abs");
    tmp_.Symlink("../../outside/nothing-here", "ws/notes/out-dangling");
    tmp_.Symlink("../../outside", "ws/notes/out-dir");
    tmp_.Symlink("loop", "ws/notes/loop");
    absl::StatusOr<WorkspaceRoot> root = WorkspaceRoot::Open(tmp_.Path("ws"));
    ASSERT_TRUE(root.ok()) << root.status();
    root_ = std::make_unique<WorkspaceRoot>(*std::move(root));
  }

  absl::StatusCode CodeOf(const std::string& path) {
    return root_->Resolve(path).status().code();
  }

  TempDir tmp_;
  std::unique_ptr<WorkspaceRoot> root_;
};

TEST_F(WorkspaceRootTest, OpenNeedsAnExistingDirectory) {
  EXPECT_EQ(WorkspaceRoot::Open("").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WorkspaceRoot::Open(tmp_.Path("missing")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(WorkspaceRoot::Open(tmp_.Path("ws/notes/a.txt")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Opened through a symlink, the root is its real path.
  absl::StatusOr<WorkspaceRoot> via_link =
      WorkspaceRoot::Open(tmp_.Path("ws/notes/to-sub"));
  ASSERT_TRUE(via_link.ok());
  EXPECT_EQ(via_link->path(), tmp_.Path("ws/notes/sub"));
}

TEST_F(WorkspaceRootTest, ResolvesPathsInsideTheRoot) {
  EXPECT_EQ(*root_->Resolve(""), tmp_.Path("ws"));
  EXPECT_EQ(*root_->Resolve("."), tmp_.Path("ws"));
  EXPECT_EQ(*root_->Resolve("notes/a.txt"), tmp_.Path("ws/notes/a.txt"));
  EXPECT_EQ(*root_->Resolve("./notes//sub/../a.txt"),
            tmp_.Path("ws/notes/a.txt"));
  EXPECT_EQ(*root_->Resolve("notes/"), tmp_.Path("ws/notes"));
}

TEST_F(WorkspaceRootTest, FollowsSymlinksThatStayInside) {
  EXPECT_EQ(*root_->Resolve("notes/inside-rel"), tmp_.Path("ws/notes/a.txt"));
  EXPECT_EQ(*root_->Resolve("notes/inside-abs"), tmp_.Path("ws/notes/b.md"));
  EXPECT_EQ(*root_->Resolve("notes/to-sub"), tmp_.Path("ws/notes/sub"));
  // ".." after a symlinked directory goes up from where the link led.
  EXPECT_EQ(*root_->Resolve("notes/to-sub/../a.txt"),
            tmp_.Path("ws/notes/a.txt"));
}

TEST_F(WorkspaceRootTest, RefusesEveryWayOut) {
  for (const char* path :
       {"..", "../outside/secret.txt", "notes/../../outside/secret.txt",
        "notes/sub/../../..", "/etc/passwd", "../etc/passwd", "notes/out-rel",
        "notes/out-abs", "notes/out-dangling", "notes/out-dir",
        "notes/out-dir/secret.txt", "notes/out-dir/nothing-here"}) {
    absl::StatusOr<std::string> r = root_->Resolve(path);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << path;
    // The message names the path asked for, never the root.
    EXPECT_THAT(r.status().message(), Not(HasSubstr(tmp_.path()))) << path;
  }
  EXPECT_EQ(CodeOf(tmp_.Path("ws/notes/a.txt")),
            absl::StatusCode::kPermissionDenied)
      << "absolute paths are refused even inside the root";
}

TEST_F(WorkspaceRootTest, OtherFailuresHaveTheirOwnCodes) {
  EXPECT_EQ(CodeOf("notes/missing.txt"), absl::StatusCode::kNotFound);
  EXPECT_EQ(CodeOf("missing/a.txt"), absl::StatusCode::kNotFound);
  EXPECT_EQ(CodeOf("notes/a.txt/x"), absl::StatusCode::kNotFound);
  EXPECT_EQ(CodeOf("notes/loop"), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CodeOf(std::string("notes/a\0b", 9)),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(std::string(PATH_MAX, 'x')),
            absl::StatusCode::kInvalidArgument);
}

// A call context that is not cancelled unless the test cancels it.
struct TestCall {
  sserpc::Cancellation cancellation;
  sserpc::CallContext ctx{"call-1", "agent.tools.v1.Workspace/Test", "laptop",
                          absl::Now() + absl::Seconds(30), &cancellation};
};

class WorkspaceToolsTest : public WorkspaceRootTest {
 protected:
  WorkspaceTools Tools(WorkspaceToolsOptions options = {}) {
    return WorkspaceTools(
        *root_, confirmer_,
        [this](absl::string_view message, double fraction) {
          sserpc::MutexLock lock(&mu_);
          progress_.emplace_back(std::string(message), fraction);
        },
        options);
  }

  FixedConfirmer confirmer_{true};
  sserpc::Mutex mu_;
  std::vector<std::pair<std::string, double>> progress_ ABSL_GUARDED_BY(mu_);
};

TEST_F(WorkspaceToolsTest, ListDirReturnsSortedEntriesWithKindsAndSizes) {
  TestCall call;
  pb::ListDirRequest request;
  request.set_path("notes");
  absl::StatusOr<pb::ListDirResponse> r = Tools().ListDir(call.ctx, request);
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<std::string> names;
  for (const pb::DirEntry& e : r->entries()) names.push_back(e.name());
  EXPECT_THAT(names, ElementsAre("a.txt", "b.md", "inside-abs", "inside-rel",
                                 "loop", "out-abs", "out-dangling", "out-dir",
                                 "out-rel", "sub", "to-sub"));
  EXPECT_EQ(r->entries(0).kind(), pb::DirEntry::FILE);
  EXPECT_EQ(r->entries(0).size_bytes(), 6);
  EXPECT_EQ(r->entries(3).kind(), pb::DirEntry::SYMLINK);
  EXPECT_EQ(r->entries(3).size_bytes(), 0);
  EXPECT_EQ(r->entries(9).kind(), pb::DirEntry::DIRECTORY);
  EXPECT_FALSE(r->truncated());
}

TEST_F(WorkspaceToolsTest,
       ListDirKeepsTheFirstEntriesByNameWhenThereAreTooMany) {
  TestCall call;
  WorkspaceToolsOptions options;
  options.max_dir_entries = 2;
  pb::ListDirRequest request;
  request.set_path("notes");
  absl::StatusOr<pb::ListDirResponse> r =
      Tools(options).ListDir(call.ctx, request);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->entries_size(), 2);
  EXPECT_EQ(r->entries(0).name(), "a.txt");
  EXPECT_EQ(r->entries(1).name(), "b.md");
  EXPECT_TRUE(r->truncated());
}

TEST_F(WorkspaceToolsTest, ListDirRefusesFilesMissingPathsAndEscapes) {
  TestCall call;
  WorkspaceTools tools = Tools();
  pb::ListDirRequest request;
  request.set_path("notes/a.txt");
  EXPECT_EQ(tools.ListDir(call.ctx, request).status().code(),
            absl::StatusCode::kFailedPrecondition);
  request.set_path("nope");
  EXPECT_EQ(tools.ListDir(call.ctx, request).status().code(),
            absl::StatusCode::kNotFound);
  request.set_path("notes/out-dir");
  EXPECT_EQ(tools.ListDir(call.ctx, request).status().code(),
            absl::StatusCode::kPermissionDenied);
  request.set_path("..");
  EXPECT_EQ(tools.ListDir(call.ctx, request).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(WorkspaceToolsTest, ReadFileHonoursMaxBytesAndSaysWhenItTruncated) {
  tmp_.Write("ws/ten.txt", "0123456789");
  TestCall call;
  WorkspaceToolsOptions options;
  options.max_read_bytes = 8;
  WorkspaceTools tools = Tools(options);
  pb::ReadFileRequest request;
  request.set_path("ten.txt");

  request.set_max_bytes(4);
  absl::StatusOr<pb::ReadFileResponse> r = tools.ReadFile(call.ctx, request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->content(), "0123");
  EXPECT_TRUE(r->truncated());

  request.set_max_bytes(0);  // the client's own limit
  r = tools.ReadFile(call.ctx, request);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->content(), "01234567");
  EXPECT_TRUE(r->truncated());

  request.set_max_bytes(1000);  // more than the client allows: capped
  r = tools.ReadFile(call.ctx, request);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->content(), "01234567");

  request.set_path("notes/a.txt");  // 6 bytes
  request.set_max_bytes(6);
  r = tools.ReadFile(call.ctx, request);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->content(), "alpha\n");
  EXPECT_FALSE(r->truncated())
      << "a file of exactly max_bytes is not truncated";

  request.set_max_bytes(-1);
  EXPECT_EQ(tools.ReadFile(call.ctx, request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(WorkspaceToolsTest, ReadFileFollowsInsideLinksAndRefusesEscapes) {
  TestCall call;
  WorkspaceTools tools = Tools();
  pb::ReadFileRequest request;
  request.set_path("notes/inside-abs");
  absl::StatusOr<pb::ReadFileResponse> r = tools.ReadFile(call.ctx, request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->content(), "# beta\n");
  for (const std::string& path :
       {std::string("../etc/passwd"), std::string("/etc/passwd"),
        tmp_.Path("outside/secret.txt"), std::string("notes/out-rel"),
        std::string("notes/out-abs")}) {
    request.set_path(path);
    r = tools.ReadFile(call.ctx, request);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << path;
  }
}

TEST_F(WorkspaceToolsTest, ReadFileRefusesWhatIsNotARegularFile) {
  ASSERT_EQ(mkfifo(tmp_.Path("ws/fifo").c_str(), 0600), 0);
  TestCall call;
  WorkspaceTools tools = Tools();
  pb::ReadFileRequest request;
  request.set_path("notes");
  absl::StatusOr<pb::ReadFileResponse> r = tools.ReadFile(call.ctx, request);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("is a directory"));
  request.set_path("fifo");  // must not wait for a writer
  EXPECT_EQ(tools.ReadFile(call.ctx, request).status().code(),
            absl::StatusCode::kFailedPrecondition);
  request.set_path("notes/missing.txt");
  EXPECT_EQ(tools.ReadFile(call.ctx, request).status().code(),
            absl::StatusCode::kNotFound);
}

// The suite runs as root, which reads any file, so the errno mapping behind
// an unreadable file is checked directly.
TEST(ErrnoStatusTest, MapsFileErrorsToStatusCodes) {
  EXPECT_EQ(ErrnoStatus(EACCES, "open", "locked.txt").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(EPERM, "open", "x").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(ENOENT, "open", "x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(ENOTDIR, "open", "x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(EMFILE, "open", "x").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(ErrnoStatus(EACCES, "open", "locked.txt").message()),
              ::testing::HasSubstr("locked.txt"));
}

TEST_F(WorkspaceToolsTest, ProgressReachesTheSinkAndChecksTheFraction) {
  TestCall call;
  WorkspaceTools tools = Tools();
  pb::ProgressRequest request;
  request.set_message("halfway");
  request.set_fraction(0.5);
  EXPECT_TRUE(tools.Progress(call.ctx, request).ok());
  request.set_fraction(1.5);
  EXPECT_EQ(tools.Progress(call.ctx, request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_fraction(-0.1);
  EXPECT_EQ(tools.Progress(call.ctx, request).status().code(),
            absl::StatusCode::kInvalidArgument);
  sserpc::MutexLock lock(&mu_);
  EXPECT_THAT(progress_, ElementsAre(Pair("halfway", 0.5)));
}

TEST_F(WorkspaceToolsTest, ConfirmNeedsAQuestionAndPassesTheAnswerOn) {
  TestCall call;
  FixedConfirmer no(false);
  WorkspaceTools tools(*root_, no, nullptr);
  pb::ConfirmRequest request;
  EXPECT_EQ(tools.Confirm(call.ctx, request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_question("Go?");
  absl::StatusOr<pb::ConfirmResponse> r = tools.Confirm(call.ctx, request);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->approved());
}

}  // namespace
}  // namespace agent
