"""Request header limits, enforced by the HTTP server before the app sees a request.

Without them uvicorn reads any amount of header (8 MB was accepted). The limits
are on the request line plus headers (bytes) and on the number of header lines;
a request over either is answered 431 with the gateway's JSON error body and the
connection is closed. Body size is limited inside the app (middleware.py, 413).

With httptools (uvicorn's choice when it is installed, as here) the check runs
in the parser's callbacks, and head bytes still arriving unparsed are capped
too, so one endless header line cannot grow without bound. The same protocol
answers a malformed request with the JSON error body too (uvicorn would write a
plain-text "Invalid HTTP request received."). With the pure-Python h11 server
the limit is h11's own buffer cap, and h11 answers a plain-text 400 that cannot
be JSON.
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# How much head a connection may send, unparsed, beyond the limit before it is cut off.
_UNPARSED_HEAD_FACTOR = 4


class _HeadTooLarge(Exception):
    """Stops the parser: the request's head is over a limit."""


def _json_answer(status_line: bytes, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 answer with the gateway's JSON error body; the connection closes."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return (
        status_line + b"\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"connection: close\r\n\r\n" + body
    )


def _json_431(max_bytes: int, max_count: int) -> bytes:
    message = f"request headers exceed {max_bytes} bytes or {max_count} lines"
    return _json_answer(b"HTTP/1.1 431 Request Header Fields Too Large", "headers_too_large", message)


def header_limited_protocol(max_bytes: int, max_count: int) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, refusing heads over max_bytes or max_count header lines."""
    refusal = _json_431(max_bytes, max_count)

    class HeaderLimitedProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._head_bytes = 0
            self._head_lines = 0
            self._unparsed = 0  # bytes received while a head is incomplete
            self._in_head = True
            self._head_began = False  # a new head began inside the chunk being parsed
            self._over = False

        def data_received(self, data: bytes) -> None:
            if self._over:
                return
            self._head_began = False
            super().data_received(data)
            if self._in_head and not self._over:
                # A head that began inside this chunk shares it with the previous request's
                # body, whose bytes are no head's: count from the next chunk (one read is
                # bounded by the transport, and complete header lines are counted anyway).
                self._unparsed = 0 if self._head_began else self._unparsed + len(data)
                if self._unparsed > max_bytes * _UNPARSED_HEAD_FACTOR:
                    self._refuse()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_bytes = self._head_lines = 0
            self._in_head = True

        def on_url(self, url: bytes) -> None:
            self._count(len(url), 0)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4, 1)  # ": " and CRLF
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._unparsed = 0
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._in_head = self._head_began = True

        def _count(self, size: int, lines: int) -> None:
            self._head_bytes += size
            self._head_lines += lines
            if self._head_bytes > max_bytes or self._head_lines > max_count:
                self._over = True
                raise _HeadTooLarge  # the parser stops; uvicorn calls send_400_response

        def send_400_response(self, msg: str) -> None:
            if self._over:
                self._refuse()
            elif not self.transport.is_closing():
                # uvicorn's own message ("Invalid HTTP request received."), never the client's bytes.
                self.transport.write(_json_answer(b"HTTP/1.1 400 Bad Request", "invalid_argument", msg))
                self.transport.close()

        def _refuse(self) -> None:
            self._over = True
            if not self.transport.is_closing():
                self.transport.write(refusal)
                self.transport.close()

    return HeaderLimitedProtocol


def server_options(max_header_bytes: int, max_header_count: int) -> dict[str, Any]:
    """uvicorn.run keyword arguments that apply the header limits."""
    return {
        "http": header_limited_protocol(max_header_bytes, max_header_count),
        # Used only if h11 is chosen instead: the same byte budget, answered by h11.
        "h11_max_incomplete_event_size": max_header_bytes,
    }
