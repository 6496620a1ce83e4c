"""The web frontend's server (server/gateways/web.py), with real sockets: a
stand-in bridge (an aiohttp app) behind it and aiohttp as the browser."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web
from yarl import URL

from server.gateways.web import Trust, WebFront
from server.transport.pki import ensure_local_pki
from tests.e2e.serve import free_port


def _bridge_app(seen: list[dict[str, str]]) -> web.Application:
    """A bridge that echoes what reached it, refuses like the real one, and
    answers /ws messages."""

    async def echo(request: web.Request) -> web.Response:
        seen.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query_string,
                "authorization": request.headers.get("authorization", ""),
                "body": (await request.read()).decode(),
                "cookie": request.headers.get("cookie", ""),
            }
        )
        return web.json_response({"ok": True}, headers={"x-request-id": "r1"})

    async def refuse(_: web.Request) -> web.Response:
        body = {"code": 7, "message": "not yours", "details": [{"reason": "FORBIDDEN"}]}
        return web.json_response(body, status=403)

    async def socket(request: web.Request) -> web.WebSocketResponse:
        answer = web.WebSocketResponse()
        await answer.prepare(request)
        token = request.query.get("access_token", "")
        async for frame in answer:
            await answer.send_str(json.dumps({"echo": frame.data, "token": token}))
        return answer

    app = web.Application()
    app.router.add_get("/ws", socket)
    app.router.add_get("/accounts/OTHER", refuse)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


@asynccontextmanager
async def _serving(app: web.Application, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=tls).start()
    try:
        yield port
    finally:
        await runner.cleanup()


def _built(root: Path) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><div id=root></div>")
    (root / "assets" / "index-abc.js").write_text("console.log(1)")
    return root


def _run(
    root: Path,
    scenario: Callable[[aiohttp.ClientSession, str, list[dict[str, str]]], Awaitable[None]],
    bridge_up: bool = True,
    bridge_tls: ssl.SSLContext | None = None,
    trust: Trust | None = None,
) -> None:
    async def main() -> None:
        seen: list[dict[str, str]] = []
        async with _serving(_bridge_app(seen), bridge_tls) as bridge_port:
            scheme = "https" if bridge_tls else "http"
            bridge = f"{scheme}://127.0.0.1:{bridge_port if bridge_up else free_port()}"
            front = WebFront(root, bridge, trust or Trust(None))
            async with _serving(front.app) as port, aiohttp.ClientSession() as browser:
                await scenario(browser, f"http://127.0.0.1:{port}", seen)

    asyncio.run(main())


def test_api_requests_reach_the_bridge_whole_and_answers_come_back(tmp_path: Path) -> None:
    async def scenario(
        browser: aiohttp.ClientSession, base: str, seen: list[dict[str, str]]
    ) -> None:
        async with browser.post(
            f"{base}/api/orders:massCancel?x=1&x=2",
            data='{"account_id":"DEMO"}',
            headers={"authorization": "Bearer t0k", "cookie": "session=browser-only"},
        ) as answer:
            assert answer.status == 200
            assert await answer.json() == {"ok": True}
            assert answer.headers["x-request-id"] == "r1"
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert seen == [
            {
                "method": "POST",
                "path": "/orders:massCancel",
                "query": "x=1&x=2",
                "authorization": "Bearer t0k",
                "body": '{"account_id":"DEMO"}',
                "cookie": "",  # the browser's cookies stay with the web front
            }
        ]
        async with browser.get(f"{base}/api/accounts/OTHER") as refused:
            assert refused.status == 403
            assert (await refused.json())["details"][0]["reason"] == "FORBIDDEN"

    _run(_built(tmp_path / "dist"), scenario)


def test_the_websocket_is_relayed_both_ways_with_its_query(tmp_path: Path) -> None:
    async def scenario(browser: aiohttp.ClientSession, base: str, _: list[dict[str, str]]) -> None:
        async with browser.ws_connect(f"{base}/api/ws?access_token=abc") as socket:
            await socket.send_str('{"op":"subscribe","channel":"L1","symbol":"AAPL"}')
            message = json.loads((await socket.receive(timeout=10)).data)
        assert message == {
            "echo": '{"op":"subscribe","channel":"L1","symbol":"AAPL"}',
            "token": "abc",
        }

    _run(_built(tmp_path / "dist"), scenario)


def test_the_app_is_served_with_its_routes_falling_back_to_index(tmp_path: Path) -> None:
    async def scenario(browser: aiohttp.ClientSession, base: str, _: list[dict[str, str]]) -> None:
        for path in ("/", "/trading", "/risk/alerts"):
            async with browser.get(base + path) as page:
                assert page.status == 200
                assert "id=root" in await page.text()
                assert page.headers["Cache-Control"] == "no-cache"
                assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        async with browser.get(f"{base}/assets/index-abc.js") as asset:
            assert asset.status == 200
            assert "immutable" in asset.headers["Cache-Control"]
        # A path out of the build (sent encoded, as a client that does not
        # normalize it would) is refused like any missing asset.
        for missing in ("/assets/nothing.js", "/assets/" + "..%2F" * 20 + "etc%2Fpasswd"):
            async with browser.get(URL(base + missing, encoded=True)) as absent:
                assert absent.status == 404

    _run(_built(tmp_path / "dist"), scenario)


def test_an_unbuilt_app_and_an_unreachable_bridge_say_so(tmp_path: Path) -> None:
    async def scenario(browser: aiohttp.ClientSession, base: str, _: list[dict[str, str]]) -> None:
        async with browser.get(base + "/") as page:
            assert page.status == 503
            assert "make web" in await page.text()
        async with browser.get(f"{base}/api/instruments") as answer:
            assert answer.status == 503
            body = await answer.json()
            assert body["details"][0]["reason"] == "BACKEND_UNAVAILABLE"
        async with browser.ws_connect(f"{base}/api/ws") as socket:
            message = json.loads((await socket.receive(timeout=10)).data)
        assert message["type"] == "error"
        assert message["data"]["reason"] == "BACKEND_UNAVAILABLE"

    _run(tmp_path / "never-built", scenario, bridge_up=False)


def test_an_https_bridge_is_trusted_through_the_data_directorys_ca(tmp_path: Path) -> None:
    """As under `make run`: the bridge's certificate is signed by the local
    CA, which this process trusts once the file exists, and nothing else."""
    pki = ensure_local_pki(tmp_path / "tls")
    bridge_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    bridge_tls.load_cert_chain(pki.server_cert, pki.server_key)

    async def trusted(
        browser: aiohttp.ClientSession, base: str, seen: list[dict[str, str]]
    ) -> None:
        async with browser.get(f"{base}/api/instruments") as answer:
            assert answer.status == 200
        assert [request["path"] for request in seen] == ["/instruments"]

    async def untrusted(
        browser: aiohttp.ClientSession, base: str, seen: list[dict[str, str]]
    ) -> None:
        async with browser.get(f"{base}/api/instruments") as answer:
            assert answer.status == 503
            assert (await answer.json())["details"][0]["reason"] == "BACKEND_UNAVAILABLE"
        assert seen == []

    dist = _built(tmp_path / "dist")
    _run(dist, trusted, bridge_tls=bridge_tls, trust=Trust(pki.ca))
    _run(dist, untrusted, bridge_tls=bridge_tls, trust=Trust(tmp_path / "not-made-yet.pem"))
