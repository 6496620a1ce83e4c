"""The web frontend's server: ``web/dist`` (the built single-page app) on
http://localhost:3000, and ``/api/...`` passed on to the REST bridge.

The browser then talks to one origin: no CORS, and no need to trust the
exchange's local CA (this process trusts it, reading ``<data dir>/tls/ca.pem``
like the ``stx`` commands do). ``/api/ws`` is relayed frame by frame to the
bridge's ``/ws``. Run beside ``stx serve`` (``make run`` does)::

    python -m server.gateways.web --bridge https://127.0.0.1:8080 --port 3000

The page works with the bridge alone too: built with ``VITE_API_BASE_URL``
pointing at it, served by any static server, with its origin among the
bridge's ``cors_origins``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import ssl
from pathlib import Path

import aiohttp
from aiohttp import WSMsgType, web

from server.errors import error
from server.gateways.rest.bridge import status_response

_log = logging.getLogger("stx.web")

API_PREFIX = "/api"
BODY_LIMIT = 2 * 1024 * 1024
"""The largest request body relayed; the bridge itself refuses more than 1 MiB
with its own REQUEST_TOO_LARGE, which the browser then sees."""
_REQUEST_HEADERS = ("authorization", "content-type", "accept", "x-request-id")
_RESPONSE_HEADERS = ("content-type", "x-request-id", "retry-after")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Emotion (Material UI) writes <style> elements, hence 'unsafe-inline' for styles only.
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "web" / "dist"


class Trust:
    """How to verify an https bridge: against the CA file once it exists (a
    first ``make run`` makes it while this starts), else the system's
    authorities; read again when the file changes (a new data directory)."""

    def __init__(self, ca_file: Path | None) -> None:
        self.ca_file = ca_file
        self._loaded: tuple[float, ssl.SSLContext] | None = None

    def context(self) -> ssl.SSLContext | bool:
        if self.ca_file is None:
            return True
        try:
            stamp = self.ca_file.stat().st_mtime
        except OSError:
            return True
        if self._loaded is None or self._loaded[0] != stamp:
            self._loaded = (stamp, ssl.create_default_context(cafile=str(self.ca_file)))
        return self._loaded[1]


class WebFront:
    """The static files and the relay to the bridge, as one aiohttp application."""

    def __init__(self, root: Path, bridge: str, trust: Trust) -> None:
        self.root = root
        self.bridge = bridge.rstrip("/")
        self._trust = trust
        self._session: aiohttp.ClientSession | None = None
        self.app = web.Application(client_max_size=BODY_LIMIT)
        self.app.router.add_get(f"{API_PREFIX}/ws", self._websocket)
        self.app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._relay)
        self.app.router.add_get("/{tail:.*}", self._static)
        self.app.on_response_prepare.append(self._secure)
        self.app.on_cleanup.append(self._close)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            # No cookie jar: the bridge sets none, and one browser's state
            # must never ride along with another's request.
            self._session = aiohttp.ClientSession(
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=60),
                auto_decompress=False,
            )
        return self._session

    async def _close(self, _: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    @staticmethod
    async def _secure(_: web.Request, response: web.StreamResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)

    def _upstream(self, request: web.Request, path: str) -> str:
        query = request.query_string
        return f"{self.bridge}{path}" + (f"?{query}" if query else "")

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(API_PREFIX) :] or "/"
        headers = {
            name: request.headers[name] for name in _REQUEST_HEADERS if name in request.headers
        }
        body = await request.read()
        try:
            async with self.session.request(
                request.method,
                self._upstream(request, path),
                headers=headers,
                data=body or None,
                ssl=self._trust.context(),
                allow_redirects=False,
            ) as answer:
                payload = await answer.read()
                kept = {
                    name: answer.headers[name]
                    for name in _RESPONSE_HEADERS
                    if name in answer.headers
                }
                if "content-encoding" in answer.headers:
                    kept["content-encoding"] = answer.headers["content-encoding"]
                return web.Response(body=payload, status=answer.status, headers=kept)
        except (aiohttp.ClientError, TimeoutError) as failure:
            _log.warning("bridge %s unreachable: %s", self.bridge, failure)
            return status_response(
                error("BACKEND_UNAVAILABLE", f"the REST bridge is unreachable: {failure}")
            )

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        browser = web.WebSocketResponse(heartbeat=20.0)
        await browser.prepare(request)
        try:
            async with self.session.ws_connect(
                self._upstream(request, "/ws"), ssl=self._trust.context(), heartbeat=20.0
            ) as bridge:
                await _pump_both(browser, bridge)
        except (aiohttp.ClientError, TimeoutError) as failure:
            _log.warning("bridge /ws unreachable: %s", failure)
            await browser.send_json(
                {
                    "type": "error",
                    "data": {"message": f"the REST bridge is unreachable: {failure}",
                             "reason": "BACKEND_UNAVAILABLE"},
                }
            )  # fmt: skip
        await browser.close()
        return browser

    async def _static(self, request: web.Request) -> web.StreamResponse:
        index = self.root / "index.html"
        if not index.is_file():
            return web.Response(
                status=503,
                text=f"The web frontend is not built ({index} is missing): run `make web`.\n",
            )
        tail = request.match_info["tail"]
        if tail.startswith("assets/"):
            candidate = (self.root / tail).resolve()
            if candidate.is_relative_to(self.root.resolve()) and candidate.is_file():
                # Vite names each asset by its content's hash: cache it for good.
                return web.FileResponse(
                    candidate, headers={"Cache-Control": "public, max-age=31536000, immutable"}
                )
            raise web.HTTPNotFound
        # Every other path is the app's own: index.html, never cached, so a
        # new build is picked up at the next load.
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})


async def _pump_both(
    browser: web.WebSocketResponse, bridge: aiohttp.ClientWebSocketResponse
) -> None:
    """Relay text frames both ways until either side closes."""

    async def to_bridge() -> None:
        async for frame in browser:
            if frame.type == WSMsgType.TEXT:
                await bridge.send_str(frame.data)

    async def to_browser() -> None:
        async for frame in bridge:
            if frame.type == WSMsgType.TEXT:
                await browser.send_str(frame.data)

    tasks = [asyncio.ensure_future(to_bridge()), asyncio.ensure_future(to_browser())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task


async def serve(front: WebFront, host: str, port: int, stop: asyncio.Event) -> None:
    runner = web.AppRunner(front.app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        _log.info("web frontend on http://%s:%d (bridge %s)", host, port, front.bridge)
        await stop.wait()
    finally:
        await runner.cleanup()


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m server.gateways.web",
        description="Serve web/dist and relay /api to the REST bridge.",
    )
    parser.add_argument("--listen", default=os.environ.get("STX_WEB_LISTEN", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("STX_WEB_PORT", "3000")))
    parser.add_argument(
        "--bridge",
        default=os.environ.get("STX_WEB_BRIDGE", "https://127.0.0.1:8080"),
        help="the REST bridge's base URL (STX_WEB_BRIDGE)",
    )
    parser.add_argument(
        "--ca",
        type=Path,
        default=Path(os.environ.get("STX_CA_FILE", "data/tls/ca.pem")),
        help="the authority an https bridge's certificate is checked against "
        "(STX_CA_FILE); the system's while the file does not exist",
    )
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the built app")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    options = _options(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s web %(levelname)s %(message)s")
    front = WebFront(options.root, options.bridge, Trust(options.ca))

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        await serve(front, options.listen, options.port, stop)

    try:
        asyncio.run(run())
    except OSError as failure:
        _log.critical("cannot listen on %s:%d: %s", options.listen, options.port, failure.strerror)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
