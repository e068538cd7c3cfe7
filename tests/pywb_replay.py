"""Replay captures from a WARC through pywb's WSGI app, in a process of its own (pywb patches the
standard library with gevent when imported, which must not happen inside the test process).

    python tests/pywb_replay.py DIR WARC < [[url, timestamp14], ...]
    ->  DIR/replies.json: [[status, body], ...]
"""

from __future__ import annotations

import json
import os
import sys
import wsgiref.util


def main() -> None:
    from pywb.apps.frontendapp import FrontEndApp
    from pywb.manager.manager import CollectionsManager

    folder, warc = sys.argv[1], sys.argv[2]
    os.chdir(folder)
    manager = CollectionsManager("story", colls_dir=os.path.join(folder, "collections"), must_exist=False)
    manager.add_collection()
    manager.add_archives([warc])
    app = FrontEndApp()
    out = [get(app, f"/story/{when}id_/{url}") for url, when in json.load(sys.stdin)]
    with open(os.path.join(folder, "replies.json"), "w", encoding="utf-8") as fh:  # stdout is pywb's
        json.dump(out, fh)


def get(app, path: str) -> list:  # type: ignore[no-untyped-def]
    environ: dict = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ.update({"PATH_INFO": path, "REQUEST_METHOD": "GET", "QUERY_STRING": ""})
    status: list[str] = []

    def start_response(line, headers, exc_info=None):  # type: ignore[no-untyped-def]
        status.append(line)

    body = b"".join(app(environ, start_response))
    return [int(status[0].split()[0]), body.decode("utf-8", "replace")]


if __name__ == "__main__":
    main()
