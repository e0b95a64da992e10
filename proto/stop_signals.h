#ifndef SSERPC_PROTO_STOP_SIGNALS_H_
#define SSERPC_PROTO_STOP_SIGNALS_H_

namespace sserpc {

// For the command-line programs: call BlockStopSignals() first thing in
// main(), before any thread starts, so SIGINT and SIGTERM reach no thread;
// later WaitForStopSignal() blocks until one arrives and returns it. Also
// ignores SIGPIPE (a peer closing a socket must not kill the process; the
// httplib server does this itself, a client-only process must).
void BlockStopSignals();
int WaitForStopSignal();

}  // namespace sserpc

#endif  // SSERPC_PROTO_STOP_SIGNALS_H_
