#ifndef SSERPC_CODEGEN_NAMES_H_
#define SSERPC_CODEGEN_NAMES_H_

#include <string>

namespace google::protobuf {
class Descriptor;
class FileDescriptor;
class MethodDescriptor;
class ServiceDescriptor;
}  // namespace google::protobuf

// How proto names become C++ names in the generated code.
namespace sserpc::codegen {

// `name` with '_' appended if it is a C++ keyword (as protoc's C++
// generator does for messages).
std::string SafeIdentifier(const std::string& name);

// "::a::b" for package "a.b"; "" for no package.
std::string CppNamespace(const google::protobuf::FileDescriptor* file);

// Fully qualified C++ class of a message, as protoc's C++ generator names it
// ("::a::b::Outer_Inner").
std::string CppMessageType(const google::protobuf::Descriptor* message);

// The generated class of a service, and the member names of a method.
// Names that would collide with the generated members (Handler, Caller,
// Register, kServiceName) or keywords get a trailing '_'.
std::string ServiceClassName(const google::protobuf::ServiceDescriptor* service);
std::string MethodFunctionName(const google::protobuf::MethodDescriptor* method);

// "a/b/c.proto" -> "a/b/c".
std::string StripProtoExtension(const std::string& filename);

// An include guard for a generated file name.
std::string IncludeGuard(const std::string& generated_filename);

}  // namespace sserpc::codegen

#endif  // SSERPC_CODEGEN_NAMES_H_
