#include "codegen/generator.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/printer.h>
#include <google/protobuf/io/zero_copy_stream.h>

#include <map>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "codegen/names.h"

namespace sserpc::codegen {
namespace {

using google::protobuf::FileDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;
using google::protobuf::SourceLocation;
using google::protobuf::io::Printer;
using Vars = std::map<std::string, std::string>;

// The .proto's leading comments as C++ line comments. A line ending in a
// backslash would splice the next generated line into the comment, so
// trailing backslashes are dropped.
template <typename Descriptor>
void PrintComments(const Descriptor* d, Printer& p) {
  SourceLocation location;
  if (!d->GetSourceLocation(&location)) return;
  std::string text = location.leading_comments;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  if (text.empty()) return;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::string l(line);
    while (!l.empty() && (l.back() == '\\' || l.back() == ' ' ||
                          l.back() == '\t' || l.back() == '\r')) {
      l.pop_back();
    }
    if (l.empty()) {
      p.Print("//\n");
    } else {
      p.Print("//$line$\n", "line", l);
    }
  }
}

Vars MethodVars(const MethodDescriptor* m) {
  return {
      {"method", MethodFunctionName(m)},
      {"constant", absl::StrCat("k", m->name(), "Method")},
      {"wire_name", absl::StrCat(m->service()->full_name(), "/", m->name())},
      {"request", CppMessageType(m->input_type())},
      {"response", CppMessageType(m->output_type())},
  };
}

void OpenNamespace(const FileDescriptor* file, Printer& p) {
  std::string ns = CppNamespace(file);
  if (!ns.empty()) p.Print("namespace $ns$ {\n\n", "ns", ns.substr(2));
}

void CloseNamespace(const FileDescriptor* file, Printer& p) {
  std::string ns = CppNamespace(file);
  if (!ns.empty()) p.Print("}  // namespace $ns$\n", "ns", ns.substr(2));
}

// --- Header -----------------------------------------------------------------

void GenerateServiceDeclaration(const ServiceDescriptor* s, Printer& p) {
  Vars vars = {{"class", ServiceClassName(s)},
               {"full_name", s->full_name()}};
  PrintComments(s, p);
  p.Print(vars, "class $class$ final {\n public:\n");
  p.Indent();
  p.Print(vars, "static constexpr char kServiceName[] = \"$full_name$\";\n");
  for (int i = 0; i < s->method_count(); ++i) {
    p.Print(MethodVars(s->method(i)),
            "static constexpr char $constant$[] = \"$wire_name$\";\n");
  }

  // Handler.
  p.Print(vars,
          "\n"
          "// What a client implements. Every method answers UNIMPLEMENTED\n"
          "// until overridden. Methods run on the client's worker threads,\n"
          "// several at once.\n"
          "class Handler {\n"
          " public:\n");
  p.Indent();
  p.Print("virtual ~Handler() = default;\n");
  for (int i = 0; i < s->method_count(); ++i) {
    const MethodDescriptor* m = s->method(i);
    p.Print("\n");
    PrintComments(m, p);
    p.Print(MethodVars(m),
            "virtual ::absl::StatusOr<$response$> $method$(\n"
            "    ::sserpc::CallContext& context, const $request$& request);\n");
  }
  p.Outdent();
  p.Print("};\n\n");

  // Register.
  p.Print(
      "// Registers every method of `handler` with `client`; call before\n"
      "// client.Start(). `handler` must outlive `client`.\n"
      "static ::absl::Status Register(::sserpc::Client& client, "
      "Handler* handler);\n\n");

  // Caller.
  p.Print(vars,
          "// Calls $full_name$ on connected clients, from the server process.\n"
          "class Caller {\n"
          " public:\n");
  p.Indent();
  p.Print(
      "// `server` must outlive this object.\n"
      "explicit Caller(::sserpc::Server& server) : server_(server) {}\n");
  for (int i = 0; i < s->method_count(); ++i) {
    const MethodDescriptor* m = s->method(i);
    p.Print("\n");
    PrintComments(m, p);
    p.Print(MethodVars(m),
            "::absl::StatusOr<$response$> $method$(\n"
            "    ::absl::string_view client_id, const $request$& request,\n"
            "    const ::sserpc::CallOptions& options = "
            "::sserpc::CallOptions()) const;\n"
            "// $method$ without waiting: `done` runs exactly once. Returns the\n"
            "// call id, or \"\" when the call failed at once.\n"
            "std::string $method$Async(\n"
            "    ::absl::string_view client_id, const $request$& request,\n"
            "    const ::sserpc::CallOptions& options,\n"
            "    ::absl::AnyInvocable<void(::absl::StatusOr<$response$>)> done) "
            "const;\n");
  }
  p.Outdent();
  p.Print("\n private:\n  ::sserpc::Server& server_;\n};\n");
  p.Outdent();
  p.Print("};\n\n");
}

void GenerateHeader(const FileDescriptor* file, const std::string& name,
                    Printer& p) {
  Vars vars = {{"source", file->name()},
               {"guard", IncludeGuard(name)},
               {"pb_h", StripProtoExtension(file->name()) + ".pb.h"}};
  p.Print(vars,
          "// Generated by protoc-gen-sserpc from $source$. DO NOT EDIT.\n"
          "#ifndef $guard$\n"
          "#define $guard$\n"
          "\n"
          "#include <string>\n"
          "\n"
          "#include \"absl/functional/any_invocable.h\"\n"
          "#include \"absl/status/status.h\"\n"
          "#include \"absl/status/statusor.h\"\n"
          "#include \"absl/strings/string_view.h\"\n"
          "#include \"$pb_h$\"\n"
          "#include \"sserpc/client/call_context.h\"\n"
          "#include \"sserpc/proto/version.h\"\n"
          "#include \"sserpc/server/call.h\"\n"
          "\n"
          "#if SSERPC_CODEGEN_ABI != 2\n"
          "#error \"$source$ was generated by a protoc-gen-sserpc for another "
          "sserpc runtime; regenerate it.\"\n"
          "#endif\n"
          "\n"
          "namespace sserpc {\n"
          "class Client;\n"
          "class Server;\n"
          "}  // namespace sserpc\n"
          "\n");
  OpenNamespace(file, p);
  if (file->service_count() == 0) p.Print("// $source$ has no services.\n\n", "source", file->name());
  for (int i = 0; i < file->service_count(); ++i) {
    GenerateServiceDeclaration(file->service(i), p);
  }
  CloseNamespace(file, p);
  p.Print(vars, "\n#endif  // $guard$\n");
}

// --- Source -----------------------------------------------------------------

void GenerateServiceDefinition(const ServiceDescriptor* s, Printer& p) {
  const std::string cls = ServiceClassName(s);
  for (int i = 0; i < s->method_count(); ++i) {
    Vars vars = MethodVars(s->method(i));
    vars["class"] = cls;
    p.Print(vars,
            "::absl::StatusOr<$response$> $class$::Handler::$method$(\n"
            "    ::sserpc::CallContext&, const $request$&) {\n"
            "  return ::sserpc::UnimplementedMethod($constant$);\n"
            "}\n\n");
  }
  p.Print("::absl::Status $class$::Register(::sserpc::Client& client, "
          "Handler* handler) {\n",
          "class", cls);
  p.Indent();
  for (int i = 0; i < s->method_count(); ++i) {
    p.Print(MethodVars(s->method(i)),
            "if (::absl::Status s = client.Register(\n"
            "        $constant$,\n"
            "        ::sserpc::TypedHandler<$request$, $response$>(\n"
            "            [handler](::sserpc::CallContext& context,\n"
            "                      const $request$& request) {\n"
            "              return handler->$method$(context, request);\n"
            "            }),\n"
            "        ::sserpc::TypedHandlerOptions());\n"
            "    !s.ok()) {\n"
            "  return s;\n"
            "}\n");
  }
  p.Print("return ::absl::OkStatus();\n");
  p.Outdent();
  p.Print("}\n\n");
  for (int i = 0; i < s->method_count(); ++i) {
    Vars vars = MethodVars(s->method(i));
    vars["class"] = cls;
    p.Print(vars,
            "::absl::StatusOr<$response$> $class$::Caller::$method$(\n"
            "    ::absl::string_view client_id, const $request$& request,\n"
            "    const ::sserpc::CallOptions& options) const {\n"
            "  return ::sserpc::TypedCall<$response$>(server_, client_id, "
            "$constant$,\n"
            "                                          request, options);\n"
            "}\n\n"
            "std::string $class$::Caller::$method$Async(\n"
            "    ::absl::string_view client_id, const $request$& request,\n"
            "    const ::sserpc::CallOptions& options,\n"
            "    ::absl::AnyInvocable<void(::absl::StatusOr<$response$>)> done) "
            "const {\n"
            "  return ::sserpc::TypedCallAsync<$response$>(\n"
            "      server_, client_id, $constant$, request, options, "
            "std::move(done));\n"
            "}\n\n");
  }
}

void GenerateSource(const FileDescriptor* file, const std::string& header,
                    Printer& p) {
  p.Print("// Generated by protoc-gen-sserpc from $source$. DO NOT EDIT.\n"
          "#include \"$header$\"\n"
          "\n"
          "#include <utility>\n"
          "\n"
          "#include \"sserpc/client/client.h\"\n"
          "#include \"sserpc/client/typed_handler.h\"\n"
          "#include \"sserpc/server/server.h\"\n"
          "#include \"sserpc/server/typed_call.h\"\n"
          "\n",
          "source", file->name(), "header", header);
  OpenNamespace(file, p);
  for (int i = 0; i < file->service_count(); ++i) {
    GenerateServiceDefinition(file->service(i), p);
  }
  CloseNamespace(file, p);
}

bool CheckSupported(const FileDescriptor* file, std::string* error) {
  for (int i = 0; i < file->service_count(); ++i) {
    const ServiceDescriptor* s = file->service(i);
    for (int j = 0; j < s->method_count(); ++j) {
      const MethodDescriptor* m = s->method(j);
      if (m->client_streaming() || m->server_streaming()) {
        // protoc puts the file name in front of the message.
        *error = absl::StrCat(
            "service ", s->full_name(), ", method ", m->name(),
            ": streaming RPCs are not supported by sserpc (each call is one "
            "request and one answer)");
        return false;
      }
    }
  }
  return true;
}

}  // namespace

bool Generator::Generate(const FileDescriptor* file,
                         const std::string& parameter,
                         google::protobuf::compiler::GeneratorContext* context,
                         std::string* error) const {
  if (!parameter.empty()) {
    *error = absl::StrCat("protoc-gen-sserpc takes no parameters (got \"",
                          parameter, "\")");
    return false;
  }
  if (!CheckSupported(file, error)) return false;
  const std::string base = StripProtoExtension(file->name());
  const std::string header = base + ".sserpc.h";
  {
    std::unique_ptr<google::protobuf::io::ZeroCopyOutputStream> out(
        context->Open(header));
    Printer p(out.get(), '$');
    GenerateHeader(file, header, p);
  }
  {
    std::unique_ptr<google::protobuf::io::ZeroCopyOutputStream> out(
        context->Open(base + ".sserpc.cc"));
    Printer p(out.get(), '$');
    GenerateSource(file, header, p);
  }
  return true;
}

}  // namespace sserpc::codegen
