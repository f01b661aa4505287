"""A stand-in for a receiver's SBS-1 port (dump1090, readsb: 30003) on a real socket, and SBS lines."""

from __future__ import annotations

import socket
import threading
from datetime import datetime, timedelta

DAY = "2026/11/25"
T0 = datetime.fromisoformat("2026-11-25T10:00:00+00:00")


def _stamp(t: float | datetime) -> str:
    """A message's date and time fields: `t` seconds after T0, or the time given."""
    at = t if isinstance(t, datetime) else T0 + timedelta(seconds=t)
    return f"{at:%Y/%m/%d},{at:%H:%M:%S}.{at.microsecond // 1000:03d}"


def ident(icao: str, callsign: str, t: float | datetime = 0) -> str:
    return f"MSG,1,1,1,{icao},1,{_stamp(t)},{_stamp(t)},{callsign:<8},,,,,,,,,,,0"


def position(icao: str, t: float | datetime, lat: float = 48.85, lon: float = 2.35, alt_ft: float = 37000) -> str:
    return f"MSG,3,1,1,{icao},1,{_stamp(t)},{_stamp(t)},,{alt_ft:g},,,{lat:.5f},{lon:.5f},,,0,0,0,0"


def velocity(icao: str, t: float | datetime, gs_kt: float = 450, track_deg: float = 90, vr_fpm: float = 0) -> str:
    return f"MSG,4,1,1,{icao},1,{_stamp(t)},{_stamp(t)},,,{gs_kt:g},{track_deg:g},,,{vr_fpm:g},,,,,0"


def lines(*items: str, end: str = "\n") -> bytes:
    return "".join(item + end for item in items).encode()


class FakeSource:
    """Serves one script per connection, in order: the bytes are sent, then the connection is closed
    (a dropped feed) unless `hold` is true, when it stays open until `close()`. Pass `port` to listen
    on a port chosen beforehand (to start a source the feed could not reach at first)."""

    def __init__(self, scripts: list[tuple[bytes, bool]], port: int = 0) -> None:
        self.listener = socket.create_server(("127.0.0.1", port))
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        self.accepted = 0
        self._scripts = list(scripts)
        self._open: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while self._scripts and not self._closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            data, hold = self._scripts.pop(0)
            conn.sendall(data)
            if hold:
                self._open.append(conn)
            else:
                conn.close()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        for conn in self._open:
            conn.close()
        self.listener.close()

    def __enter__(self) -> FakeSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
