# sserpc_generate(TARGET <target> PROTOS <file.proto>...
#                 [IMPORT_DIRS <dir>...] [PROTOC_OUT_DIR <dir>])
#
# Runs protoc's C++ generator and protoc-gen-sserpc on each of PROTOS, adds
# the generated .pb.cc and .sserpc.cc files to TARGET, puts the output
# directory on its include path, and links the sserpc typed runtime.
#
# A .proto is named (and its outputs placed, and included) by its path
# relative to the first of IMPORT_DIRS that holds it; without IMPORT_DIRS,
# relative to its own directory. Protos importing each other therefore share
# an import root: IMPORT_DIRS ${CMAKE_CURRENT_SOURCE_DIR}/protos gives
# "pkg/a.proto" -> "pkg/a.pb.h", "pkg/a.sserpc.h". Outputs are rebuilt when
# the .proto, anything it imports (protoc's dependency file), protoc or the
# plugin changes.
function(sserpc_generate)
  cmake_parse_arguments(arg "" "TARGET;PROTOC_OUT_DIR" "PROTOS;IMPORT_DIRS" ${ARGN})
  if(NOT arg_TARGET OR NOT TARGET ${arg_TARGET})
    message(FATAL_ERROR "sserpc_generate: TARGET must name an existing target")
  endif()
  if(NOT arg_PROTOS)
    message(FATAL_ERROR "sserpc_generate: no PROTOS given")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "sserpc_generate: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(TARGET protoc-gen-sserpc)
    set(plugin protoc-gen-sserpc)
  elseif(TARGET sserpc::protoc-gen-sserpc)
    set(plugin sserpc::protoc-gen-sserpc)
  else()
    message(FATAL_ERROR "sserpc_generate: protoc-gen-sserpc not found (find_package(sserpc CONFIG) first)")
  endif()
  if(NOT arg_PROTOC_OUT_DIR)
    set(arg_PROTOC_OUT_DIR ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  file(MAKE_DIRECTORY ${arg_PROTOC_OUT_DIR})

  set(import_dirs)
  foreach(dir IN LISTS arg_IMPORT_DIRS)
    get_filename_component(abs ${dir} ABSOLUTE)
    list(APPEND import_dirs ${abs})
  endforeach()

  set(generated)
  foreach(proto IN LISTS arg_PROTOS)
    get_filename_component(abs_proto ${proto} ABSOLUTE)
    # The import root that holds this proto.
    set(root)
    foreach(dir IN LISTS import_dirs)
      string(FIND "${abs_proto}" "${dir}/" at)
      if(at EQUAL 0)
        set(root ${dir})
        break()
      endif()
    endforeach()
    if(NOT root)
      if(import_dirs)
        message(FATAL_ERROR "sserpc_generate: ${proto} is in none of IMPORT_DIRS")
      endif()
      get_filename_component(root ${abs_proto} DIRECTORY)
    endif()
    file(RELATIVE_PATH rel ${root} ${abs_proto})
    string(REGEX REPLACE "\\.proto$" "" base ${rel})
    set(outputs
      ${arg_PROTOC_OUT_DIR}/${base}.pb.h ${arg_PROTOC_OUT_DIR}/${base}.pb.cc
      ${arg_PROTOC_OUT_DIR}/${base}.sserpc.h ${arg_PROTOC_OUT_DIR}/${base}.sserpc.cc)
    set(include_args -I ${root})
    foreach(dir IN LISTS import_dirs)
      if(NOT dir STREQUAL root)
        list(APPEND include_args -I ${dir})
      endif()
    endforeach()
    string(MAKE_C_IDENTIFIER "${base}" depname)
    set(depfile ${CMAKE_CURRENT_BINARY_DIR}/sserpc_generate_${depname}.d)
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND protobuf::protoc ${include_args}
              --cpp_out=${arg_PROTOC_OUT_DIR}
              --sserpc_out=${arg_PROTOC_OUT_DIR}
              --plugin=protoc-gen-sserpc=$<TARGET_FILE:${plugin}>
              --dependency_out=${depfile}
              ${abs_proto}
      DEPENDS ${abs_proto} protobuf::protoc ${plugin}
      DEPFILE ${depfile}
      COMMENT "sserpc_generate: ${rel}"
      VERBATIM)
    list(APPEND generated ${outputs})
  endforeach()

  target_sources(${arg_TARGET} PRIVATE ${generated})
  target_include_directories(${arg_TARGET} PUBLIC ${arg_PROTOC_OUT_DIR})
  if(TARGET sserpc_server_typed)
    target_link_libraries(${arg_TARGET} PUBLIC sserpc_server_typed sserpc_client_typed)
  else()
    target_link_libraries(${arg_TARGET} PUBLIC sserpc::server_typed sserpc::client_typed)
  endif()
  target_link_libraries(${arg_TARGET} PUBLIC protobuf::libprotobuf)
endfunction()
