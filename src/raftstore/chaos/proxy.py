"""raftstore.chaos.proxy: per-link TCP proxies between stores, which the harness cuts and heals.

Every ordered pair of stores (src, dst) gets its own proxy: store src reaches store dst only through
`ProxyNet.addr(src, dst)` (src's --initial-cluster names it for dst), so each direction of each link can
be cut on its own. A link's state is either passing (bytes forwarded both ways) or cut. Cutting a link
closes its open connections and refuses new ones (accepted, then closed at once), so the sender's gRPC
stream fails, its messages are dropped and reported unreachable, and it reconnects with backoff once the
link passes again. Cutting (src, dst) is a one-way partition: src cannot send to dst (the reverse bytes
on that connection are only dst's acknowledgements); dst's own link to src is untouched.

All proxies run on one asyncio loop in one daemon thread; `cut`/`heal` are thread-safe and take effect
before they return.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterable

__all__ = ["Link", "ProxyNet"]

HOST = "127.0.0.1"
# _CHUNK: bytes read per forwarding step.
_CHUNK = 64 * 1024

# Link: (src store, dst store), the direction src -> dst.
Link = tuple[int, int]


class _LinkProxy:
    """_LinkProxy: the proxy of one link. Invariant: while `cut`, `conns` is empty."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.cut = False
        self.conns: set[asyncio.StreamWriter] = set()
        self.server: asyncio.base_events.Server | None = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        if self.cut:  # cut while connecting
            writer.close()
            up_writer.close()
            return
        self.conns |= {writer, up_writer}
        try:
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        finally:
            self.conns -= {writer, up_writer}
            writer.close()
            up_writer.close()

    def close_all(self) -> None:
        for w in list(self.conns):
            transport = w.transport
            transport.abort()  # RST: the peer's gRPC sees the connection fail at once
        self.conns.clear()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """_pump copies reader to writer until EOF or an error; then half-closes writer."""
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, RuntimeError):
        writer.transport.abort()


class ProxyNet:
    """ProxyNet: a proxy for every ordered pair of `stores`, forwarding to `addrs[dst]` (HOST:PORT).

    `addr(src, dst)` is the address src uses for dst. `cut(links)` / `heal(links)` / `heal_all()` change
    links; `cut_links` is the set cut now."""

    def __init__(self, addrs: dict[int, str]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="chaos-proxies", daemon=True)
        self._thread.start()
        self._proxies: dict[Link, _LinkProxy] = {}
        self._addrs: dict[Link, str] = {}
        for src, dst in itertools.permutations(sorted(addrs), 2):
            host, port = addrs[dst].rsplit(":", 1)
            proxy = _LinkProxy((host, int(port)))
            self._call(self._listen(proxy))
            assert proxy.server is not None
            self._proxies[src, dst] = proxy
            self._addrs[src, dst] = f"{HOST}:{proxy.server.sockets[0].getsockname()[1]}"

    async def _listen(self, proxy: _LinkProxy) -> None:
        proxy.server = await asyncio.start_server(proxy.serve, HOST, 0)

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)  # type: ignore[arg-type]

    def addr(self, src: int, dst: int) -> str:
        """addr is the address store src dials to reach store dst."""
        return self._addrs[src, dst]

    @property
    def links(self) -> list[Link]:
        return list(self._proxies)

    @property
    def cut_links(self) -> set[Link]:
        return {link for link, p in self._proxies.items() if p.cut}

    def cut(self, links: Iterable[Link]) -> None:
        """cut stops the given links (src cannot reach dst) until healed."""
        self._set(links, True)

    def heal(self, links: Iterable[Link]) -> None:
        self._set(links, False)

    def heal_all(self) -> None:
        self._set(self._proxies, False)

    def _set(self, links: Iterable[Link], cut: bool) -> None:
        chosen = [self._proxies[link] for link in links]

        async def apply() -> None:
            for p in chosen:
                p.cut = cut
                if cut:
                    p.close_all()

        self._call(apply())

    def close(self) -> None:
        """close stops every proxy and the loop's thread."""

        async def shutdown() -> None:
            for p in self._proxies.values():
                p.close_all()
                if p.server is not None:
                    p.server.close()

        self._call(shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
