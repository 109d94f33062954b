#!/usr/bin/python3
"""A KDC proxy (MS-KKDCP) for the e2e tests: Debian's python3-kdcproxy
WSGI application behind a small TLS server (wsgiref + ssl), serving
POST /KdcProxy on 127.0.0.1 at a free port (written to --port-file).
Every request is logged to --log (one line each), so tests can tell
whether the proxy was used. Runs until killed.

With --alt-svc VALUE every answer carries "Alt-Svc: VALUE" (RFC 7838),
e.g. h3=":8443", to advertise an HTTP/3 endpoint; with --port N it
listens on that port instead of a free one.

Usage: kdcproxy_server.py --cert PEM --key KEY --config KDCPROXY.CONF
                          --port-file FILE --log FILE [--alt-svc VALUE]
                          [--port N]
"""
import argparse
import os
import ssl
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--alt-svc")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    # kdcproxy reads its realm -> KDC table from here when it starts
    os.environ["KDCPROXY_CONFIG"] = args.config
    import kdcproxy

    app = kdcproxy.Application()
    log = open(args.log, "a", buffering=1)

    def proxy(env, start_response):
        log.write("%s %s %s\n" % (env["REQUEST_METHOD"], env["PATH_INFO"],
                                  env.get("CONTENT_LENGTH", "-")))
        if env["PATH_INFO"] != "/KdcProxy":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if not args.alt_svc:
            return app(env, start_response)

        def with_alt_svc(status, headers, exc_info=None):
            return start_response(status, headers + [("Alt-Svc",
                                                      args.alt_svc)],
                                  exc_info)
        return app(env, with_alt_svc)

    class Handler(WSGIRequestHandler):
        def log_message(self, fmt, *a):
            log.write("http: " + (fmt % a) + "\n")

    srv = make_server("127.0.0.1", args.port, proxy, handler_class=Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
