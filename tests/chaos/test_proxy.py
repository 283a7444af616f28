"""The per-link proxies: bytes pass, a cut closes the link's connections and refuses new ones, heal restores."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from raftstore.chaos.proxy import ProxyNet


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def net() -> Iterator[ProxyNet]:
    servers = {sid: socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo) for sid in (1, 2, 3)}
    for s in servers.values():
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
    proxies = ProxyNet({sid: f"127.0.0.1:{s.server_address[1]}" for sid, s in servers.items()})
    yield proxies
    proxies.close()
    for s in servers.values():
        s.shutdown()
        s.server_close()


def _connect(addr: str) -> socket.socket:
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=2)


def _echo(conn: socket.socket, payload: bytes) -> bytes:
    """_echo sends payload and reads as much back; b"" (or less) when the connection was closed or reset."""
    got = b""
    try:
        conn.sendall(payload)
        while len(got) < len(payload):
            chunk = conn.recv(65536)
            if not chunk:
                break
            got += chunk
    except ConnectionError:
        pass
    return got


def test_every_ordered_pair_has_its_own_proxy(net: ProxyNet) -> None:
    assert sorted(net.links) == [(1, 2), (1, 3), (2, 1), (2, 3), (3, 1), (3, 2)]
    assert len({net.addr(a, b) for a, b in net.links}) == 6


def test_bytes_pass_until_cut_and_again_after_heal(net: ProxyNet) -> None:
    with _connect(net.addr(1, 2)) as conn:
        assert _echo(conn, b"x" * 100_000) == b"x" * 100_000
        net.cut([(1, 2)])
        assert net.cut_links == {(1, 2)}
        assert _echo(conn, b"lost") == b""  # the open connection was closed (reset)
    with _connect(net.addr(1, 2)) as refused:
        assert _echo(refused, b"no") == b""  # accepted, closed at once
    with _connect(net.addr(2, 1)) as other_way:
        assert _echo(other_way, b"still") == b"still"  # a cut is one direction of one link
    net.heal_all()
    assert net.cut_links == set()
    with _connect(net.addr(1, 2)) as conn:
        assert _echo(conn, b"back") == b"back"
