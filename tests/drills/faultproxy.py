"""A fault-injecting TCP proxy for the drills (asyncio, one event loop thread for all proxies).

Modes, switched from any thread with `set_mode`:
- "pass": bytes flow both ways to the target;
- "cut": the listening socket is closed (new connections are refused) and every open
  connection is reset, as when the service dies;
- "blackhole": connections are accepted and held, nothing is forwarded or answered (open ones
  stall too), as when a network path drops packets; leaving it resets the stalled connections.
"""

import asyncio
import contextlib
import socket
import threading

MODES = ("pass", "cut", "blackhole")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Loop:
    """The event loop thread the proxies share."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="faultproxy", daemon=True)
        self.thread.start()

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


_shared: _Loop | None = None


def _loop() -> _Loop:
    global _shared
    if _shared is None:
        _shared = _Loop()
    return _shared


class FaultProxy:
    """127.0.0.1:`port` -> `target_host`:`target_port`, in one of MODES."""

    def __init__(self, name: str, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.name = name
        self.target = (target_host, target_port)
        self.port = free_port()
        self.mode = "pass"
        self.connections: set[asyncio.StreamWriter] = set()
        self.stalled: set[asyncio.StreamWriter] = set()
        self._server: asyncio.AbstractServer | None = None

    def start(self) -> "FaultProxy":
        _loop().run(self._listen())
        return self

    def stop(self) -> None:
        _loop().run(self._close(listener=True))

    def set_mode(self, mode: str) -> None:
        """Switch the mode (from any thread); returns once it is in force."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        _loop().run(self._switch(mode))

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def _close(self, *, listener: bool, only_stalled: bool = False) -> None:
        if listener and self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self.stalled if only_stalled else self.connections):
            transport = writer.transport
            # abort(): a reset, like a dead host's kernel answering for it.
            with contextlib.suppress(Exception):
                transport.abort()
        if only_stalled:
            self.connections -= self.stalled
            self.stalled.clear()
        else:
            self.connections.clear()
            self.stalled.clear()

    async def _switch(self, mode: str) -> None:
        previous, self.mode = self.mode, mode
        if mode == "cut":
            await self._close(listener=True)
        elif mode == "blackhole":
            self.stalled |= self.connections
            if self._server is None:
                await self._listen()
        else:
            if previous == "blackhole":
                await self._close(listener=False, only_stalled=True)
            if self._server is None:
                await self._listen()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.add(writer)
        if self.mode == "blackhole":
            self.stalled.add(writer)
            await self._swallow(reader, writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self.connections.discard(writer)
            writer.transport.abort()
            return
        self.connections.add(upstream_writer)
        await asyncio.gather(
            self._pump(reader, upstream_writer, writer),
            self._pump(upstream_reader, writer, upstream_writer),
        )

    async def _swallow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while await reader.read(65536):
                pass
        self.connections.discard(writer)
        self.stalled.discard(writer)
        writer.transport.abort()

    async def _pump(self, reader, writer, own: asyncio.StreamWriter) -> None:
        """Copy one direction; in a blackhole, read and drop (the peer sees a stall)."""
        try:
            while data := await reader.read(65536):
                if own in self.stalled or writer in self.stalled:
                    continue
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self.connections.discard(writer)
            self.stalled.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()
