#!/usr/bin/env python3
"""An agent back end in Python (standard library only) on sserpc-server.

It needs no C++ and no sserpc library: it calls connected clients through
sserpc-server's calls endpoint (docs/PROTOCOL.md), the same way any language
would. Here it greets a client running demo.Greeter (examples/greeter) and
shows how each outcome reads:

    python3 backend.py --server http://127.0.0.1:8080 --client demo-laptop
"""
import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


class CallError(Exception):
    """A call that ended without an answer: `code` is the gRPC code name."""

    def __init__(self, code, message, http_status):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status


class SserpcBackend:
    def __init__(self, server, admin_token=None):
        self.server = server.rstrip("/")
        self.headers = {"Content-Type": "application/json"}
        if admin_token:
            self.headers["Authorization"] = "Bearer " + admin_token

    def _request(self, method, path, body=None, timeout=None):
        req = urllib.request.Request(self.server + path, data=body,
                                     headers=self.headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                err = json.loads(raw)
                raise CallError(err.get("code", "UNKNOWN"), err.get("message", ""),
                                e.code) from None
            except ValueError:
                raise CallError("UNKNOWN", raw.decode(errors="replace"),
                                e.code) from None

    def clients(self):
        return self._request("GET", "/sserpc/v1/clients")["clients"]

    def call(self, client_id, method, payload, timeout_ms=30000,
             wait_for_client=False):
        """Calls `method` on `client_id`; returns the answer or raises CallError."""
        query = {"timeout_ms": str(timeout_ms)}
        if wait_for_client:
            query["wait_for_client"] = "true"
        path = "/sserpc/v1/clients/{}/calls/{}?{}".format(
            urllib.parse.quote(client_id, safe=""),
            urllib.parse.quote(method, safe="/."),
            urllib.parse.urlencode(query))
        body = json.dumps(payload).encode()
        # The HTTP request must outlive the call's own deadline.
        return self._request("POST", path, body, timeout=timeout_ms / 1000 + 10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="http://127.0.0.1:8080")
    parser.add_argument("--client", default="demo-laptop")
    parser.add_argument("--admin-token")
    args = parser.parse_args()
    backend = SserpcBackend(args.server, args.admin_token)

    connected = [c["client_id"] for c in backend.clients()
                 if c["state"] == "connected"]
    print("connected clients:", ", ".join(connected) or "none")

    # Wait for the client if it is not there yet, as an agent would.
    answer = backend.call(args.client, "demo.Greeter/SayHello",
                          {"name": "Python"}, timeout_ms=10000,
                          wait_for_client=True)
    print("SayHello ->", answer["message"])

    failures = 0
    for what, method, payload, timeout_ms in [
        ("missing name", "demo.Greeter/SayHello", {}, 5000),
        ("too slow", "demo.Greeter/Countdown", {"seconds": 3}, 500),
        ("no such method", "demo.Greeter/Teleport", {}, 5000),
    ]:
        try:
            backend.call(args.client, method, payload, timeout_ms=timeout_ms)
            print(f"{what}: unexpectedly answered")
            failures += 1
        except CallError as e:
            # What each code means for the agent loop is in docs/AGENTS.md.
            print(f"{what} -> {e.code} (HTTP {e.http_status}): {e.message}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
