"""A real HTTP server on 127.0.0.1 for the download tests, and small IDX files to serve.

Each route is a path with a behaviour: serve bytes, answer an HTTP error,
send part of a body and close, or stall. Every request is logged, so a test
can tell that none was made.
"""

import gzip
import hashlib
import http.server
import threading

import numpy as np

from framework.datasets import idx

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz")


def fake_mnist(n_train=120, n_test=40, seed=0):
    """``{file name: gzip IDX bytes}`` of a small MNIST look-alike whose classes are learnable.

    Class c lights up a 3-row band starting at row 2c + 2, plus noise.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 * label + 2 : 2 * label + 5] = 250
        out[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(idx.to_idx(images), mtime=0)
        out[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(idx.to_idx(labels), mtime=0)
    return out


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class DataServer:
    """``with DataServer() as server:`` serves ``server.routes[path]`` at ``server.url + path``."""

    def __init__(self):
        self.routes = {}
        self.log = []
        self.release = threading.Event()  # ends every stall when the server stops

    def serve(self, path, body):
        self.routes[path] = ("body", body)

    def fail(self, path, status):
        self.routes[path] = ("status", status)

    def truncate(self, path, body, keep):
        """Announce all of `body` but send only `keep` bytes, then close."""
        self.routes[path] = ("truncate", body, keep)

    def stall(self, path, body, after=0):
        """Send `after` bytes of `body`, then hang until the server stops."""
        self.routes[path] = ("stall", body, after)

    def requests(self, path):
        return [entry for entry in self.log if entry == path]

    def __enter__(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.log.append(self.path)
                kind, *args = server.routes.get(self.path, ("status", 404))
                if kind == "status":
                    self.send_error(args[0])
                    return
                body = args[0]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if kind == "body":
                    self.wfile.write(body)
                elif kind == "truncate":
                    self.wfile.write(body[: args[1]])
                    self.close_connection = True
                elif kind == "stall":
                    self.wfile.write(body[: args[1]])
                    self.wfile.flush()
                    server.release.wait(30)
                    self.close_connection = True

            def log_message(self, *args):  # keep the test output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
