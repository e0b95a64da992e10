// protoc-gen-sserpc run in-process on the test protos; the output must equal
// the checked-in golden files. To accept a deliberate change, run the test
// with SSERPC_UPDATE_GOLDEN=1 and review the diff.
#include <google/protobuf/compiler/code_generator.h>
#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "codegen/generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sserpc::codegen {
namespace {

using google::protobuf::FileDescriptor;
using google::protobuf::compiler::DiskSourceTree;
using google::protobuf::compiler::Importer;
using ::testing::HasSubstr;

class MemoryContext : public google::protobuf::compiler::GeneratorContext {
 public:
  google::protobuf::io::ZeroCopyOutputStream* Open(
      const std::string& filename) override {
    return new google::protobuf::io::StringOutputStream(&files[filename]);
  }
  std::map<std::string, std::string> files;
};

class Errors : public google::protobuf::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& file, int line, int column,
                const std::string& message) override {
    text += file + ":" + std::to_string(line) + ": " + message + "\n";
  }
  std::string text;
};

class GoldenTest : public ::testing::Test {
 protected:
  GoldenTest() : importer_(&tree_, &errors_) {
    tree_.MapPath("", SSERPC_CODEGEN_TEST_DIR "/protos");
    tree_.MapPath("", SSERPC_CODEGEN_TEST_DIR "/bad_protos");
    tree_.MapPath("", PROTOBUF_INCLUDE_DIR);
  }

  const FileDescriptor* Import(const std::string& name) {
    const FileDescriptor* f = importer_.Import(name);
    EXPECT_NE(f, nullptr) << errors_.text;
    return f;
  }

  void ExpectGolden(const std::string& proto) {
    const FileDescriptor* file = Import(proto);
    ASSERT_NE(file, nullptr);
    MemoryContext context;
    std::string error;
    ASSERT_TRUE(Generator().Generate(file, "", &context, &error)) << error;
    ASSERT_EQ(context.files.size(), 2u);
    for (const auto& [name, content] : context.files) {
      std::string flat = name;
      for (char& c : flat) c = c == '/' ? '_' : c;
      const std::string path =
          std::string(SSERPC_CODEGEN_TEST_DIR) + "/golden/" + flat + ".golden";
      if (std::getenv("SSERPC_UPDATE_GOLDEN") != nullptr) {
        std::ofstream(path) << content;
        continue;
      }
      std::ifstream in(path);
      ASSERT_TRUE(in) << "missing golden file " << path
                      << " (run with SSERPC_UPDATE_GOLDEN=1)";
      std::stringstream expected;
      expected << in.rdbuf();
      EXPECT_EQ(content, expected.str()) << "generated " << name
                                         << " differs from " << path;
    }
  }

  DiskSourceTree tree_;
  Errors errors_;
  Importer importer_;
};

TEST_F(GoldenTest, ShapesMatchesGolden) { ExpectGolden("sserpc_test/shapes.proto"); }
TEST_F(GoldenTest, FileWithoutPackageMatchesGolden) { ExpectGolden("nopackage.proto"); }
TEST_F(GoldenTest, FileWithoutServicesMatchesGolden) { ExpectGolden("nothing.proto"); }

TEST_F(GoldenTest, StreamingMethodIsRefusedNamingServiceAndMethod) {
  const FileDescriptor* file = Import("streaming.proto");
  ASSERT_NE(file, nullptr);
  MemoryContext context;
  std::string error;
  EXPECT_FALSE(Generator().Generate(file, "", &context, &error));
  EXPECT_THAT(error, HasSubstr("service sserpc_test.bad.Uploader, method Upload"));
  EXPECT_THAT(error, HasSubstr("streaming RPCs are not supported"));
  EXPECT_TRUE(context.files.empty());
}

TEST_F(GoldenTest, UnknownParameterIsRefused) {
  const FileDescriptor* file = Import("nopackage.proto");
  ASSERT_NE(file, nullptr);
  MemoryContext context;
  std::string error;
  EXPECT_FALSE(Generator().Generate(file, "lite", &context, &error));
  EXPECT_THAT(error, HasSubstr("takes no parameters"));
}

TEST_F(GoldenTest, DeclaresProto3OptionalSupport) {
  EXPECT_EQ(Generator().GetSupportedFeatures() &
                Generator::FEATURE_PROTO3_OPTIONAL,
            static_cast<uint64_t>(Generator::FEATURE_PROTO3_OPTIONAL));
}

}  // namespace
}  // namespace sserpc::codegen
