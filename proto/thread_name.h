#ifndef SSERPC_PROTO_THREAD_NAME_H_
#define SSERPC_PROTO_THREAD_NAME_H_

namespace sserpc {

// Names the calling thread (shown by top -H, ps -L, gdb and perf); names
// longer than 15 characters are cut. Every thread sserpc starts is named
// "sserpc-<role>" so a profile or a thread dump shows who does what.
void NameThisThread(const char* name);

}  // namespace sserpc

#endif  // SSERPC_PROTO_THREAD_NAME_H_
