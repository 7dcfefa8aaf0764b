"""Serve a built site on 127.0.0.1 (browsers refuse WebAssembly from file:// pages).

Example::

    with serving(Path("build/explorer"), port=0) as url:   # port 0: any free port
        ...                                                  # open `url` in a browser
"""

from __future__ import annotations

import contextlib
import errno
import functools
import http.server
import sys
import threading
from pathlib import Path

HOST = "127.0.0.1"
# Python's table lacks some of these; WebAssembly streaming compilation needs application/wasm.
TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
         ".onnx": "application/octet-stream", ".f32": "application/octet-stream", ".u8": "application/octet-stream"}


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the right types, no caching between builds, and no line per request."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")  # a rebuilt site is never mixed with an old one
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True  # Ctrl-C does not wait for a browser's open connections

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the browser went away mid-file (a reload, a closed tab): nothing to report
        super().handle_error(request, client_address)


def make_server(site: Path, port: int) -> Server:
    """A server for `site` bound to 127.0.0.1:`port`; OSError in one line if the port is taken."""
    handler = functools.partial(Handler, directory=str(site))
    try:
        return Server((HOST, port), handler)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise OSError(f"port {port} on {HOST} is taken (another explorer or server?): "
                          f"stop it or pass --port with a free port") from None
        raise OSError(f"cannot serve on {HOST}:{port} ({e.strerror or e})") from None


def url_of(server: http.server.HTTPServer) -> str:
    return f"http://{HOST}:{server.server_address[1]}/"


def serve_forever(site: Path, port: int, say=print) -> None:
    """Serve `site` until Ctrl-C, then close the socket and return (a clean stop, not an error)."""
    server = make_server(site, port)
    say(f"explorer: serving {site}/ at {url_of(server)} (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        say("explorer: stopped")
    finally:
        server.server_close()


@contextlib.contextmanager
def serving(site: Path, port: int = 0):
    """Serve `site` from a background thread for the block; yields the URL."""
    server = make_server(site, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url_of(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
