#include "codegen/names.h"

#include <google/protobuf/compiler/cpp/names.h>
#include <google/protobuf/descriptor.h>

#include <cctype>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sserpc::codegen {
namespace {

bool IsCppKeyword(const std::string& name) {
  static const auto* const kKeywords = new absl::flat_hash_set<std::string>{
      "NULL", "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand",
      "bitor", "bool", "break", "case", "catch", "char", "char8_t", "char16_t",
      "char32_t", "class", "compl", "concept", "const", "consteval",
      "constexpr", "constinit", "const_cast", "continue", "co_await",
      "co_return", "co_yield", "decltype", "default", "delete", "do", "double",
      "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false",
      "final", "float", "for", "friend", "goto", "if", "inline", "int", "long",
      "mutable", "namespace", "new", "noexcept", "not", "not_eq", "nullptr",
      "operator", "or", "or_eq", "override", "private", "protected", "public",
      "register", "reinterpret_cast", "requires", "return", "short", "signed",
      "sizeof", "static", "static_assert", "static_cast", "struct", "switch",
      "template", "this", "thread_local", "throw", "true", "try", "typedef",
      "typeid", "typename", "union", "unsigned", "using", "virtual", "void",
      "volatile", "wchar_t", "while", "xor", "xor_eq"};
  return kKeywords->contains(name);
}

bool IsGeneratedMemberName(const std::string& name) {
  return name == "Handler" || name == "Caller" || name == "Register" ||
         name == "kServiceName" || name == "server_";
}

}  // namespace

std::string SafeIdentifier(const std::string& name) {
  return IsCppKeyword(name) ? name + "_" : name;
}

std::string CppNamespace(const google::protobuf::FileDescriptor* file) {
  std::string ns;
  if (file->package().empty()) return ns;
  for (absl::string_view part : absl::StrSplit(file->package(), '.')) {
    absl::StrAppend(&ns, "::", SafeIdentifier(std::string(part)));
  }
  return ns;
}

std::string CppMessageType(const google::protobuf::Descriptor* message) {
  return google::protobuf::compiler::cpp::QualifiedClassName(message);
}

std::string ServiceClassName(const google::protobuf::ServiceDescriptor* service) {
  const std::string& name = service->name();
  return IsCppKeyword(name) || IsGeneratedMemberName(name) ? name + "_" : name;
}

std::string MethodFunctionName(const google::protobuf::MethodDescriptor* method) {
  const std::string& name = method->name();
  return IsCppKeyword(name) || IsGeneratedMemberName(name) ? name + "_" : name;
}

std::string StripProtoExtension(const std::string& filename) {
  return google::protobuf::compiler::cpp::StripProto(filename);
}

std::string IncludeGuard(const std::string& generated_filename) {
  std::string guard = "SSERPC_GENERATED_";
  for (char c : generated_filename) {
    guard.push_back(std::isalnum(static_cast<unsigned char>(c))
                        ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                        : '_');
  }
  guard.push_back('_');
  return guard;
}

}  // namespace sserpc::codegen
