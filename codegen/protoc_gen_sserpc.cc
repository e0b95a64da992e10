// protoc-gen-sserpc: protoc runs it as `--sserpc_out=DIR`.
#include <google/protobuf/compiler/plugin.h>

#include "codegen/generator.h"

int main(int argc, char* argv[]) {
  sserpc::codegen::Generator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
