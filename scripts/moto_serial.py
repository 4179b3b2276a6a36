#!/usr/bin/env python3
"""moto's server, applying one request at a time.

Real DynamoDB evaluates each conditional write atomically. moto's DynamoDB
model takes no lock, and its server runs every request on a thread of its
own, so two racing conditional puts can both succeed on a loaded machine
(seen: 2 claims out of 50 racing deliveries of one event). A race test must
fail only for our bugs, so the test command serves moto through this: the
same moto application and request handler as `moto_server`, connections
still accepted on threads (a client's idle keep-alive connection blocks
nobody), but each request handled whole under one lock.

Usage: moto_serial.py HOST PORT
"""

import os
import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def serialised(app):
    lock = threading.Lock()

    def handle(environ, start_response):
        with lock:
            # The whole answer is produced under the lock: moto's model is
            # read and written only inside it.
            return list(app(environ, start_response))

    return handle


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: moto_serial.py HOST PORT")
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        host,
        port,
        serialised(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
