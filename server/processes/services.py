"""The gateway's gRPC server: interceptors, services, health and reflection.

One builder for the gateway process and for the in-process ``Exchange``
(``server/app.py``, the harness of the in-process tests), so both serve the
same API with the same access rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import _async as health_aio  # the package exposes it as health.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.trace import Tracer
from stocktraderx.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    analytics_pb2,
    analytics_pb2_grpc,
    market_data_pb2,
    market_data_pb2_grpc,
    orders_pb2,
    orders_pb2_grpc,
    reference_data_pb2,
    reference_data_pb2_grpc,
    risk_pb2,
    risk_pb2_grpc,
    users_pb2,
    users_pb2_grpc,
)

from server.auth.administration import Administration
from server.auth.directory import UserDirectory
from server.auth.interceptor import AuthInterceptor
from server.auth.oidc import OidcSettings, OidcVerifier
from server.auth.tokens import TokenIssuer
from server.config import Settings
from server.consumers.surveillance.desk import AlertDesk
from server.gateways.grpc.admin import AdminService
from server.gateways.grpc.analytics import AnalyticsService
from server.gateways.grpc.intake import InputInterceptor
from server.gateways.grpc.market_data import MarketDataService
from server.gateways.grpc.orders import OrderService
from server.gateways.grpc.reference import ReferenceDataService
from server.gateways.grpc.risk import RiskService
from server.gateways.grpc.traced import TracingInterceptor
from server.gateways.grpc.users import UserService
from server.metrics.entry_history import EntryHistory
from server.model.view import CoreView
from server.shared import SharedState
from server.store import Store
from server.transport.listen import bind_grpc
from server.transport.security import ServerTls

DRAIN_SECONDS = 5.0
"""How long a stopping gRPC server lets calls in progress finish."""
SERVICES = (
    orders_pb2.DESCRIPTOR.services_by_name["OrderService"].full_name,
    reference_data_pb2.DESCRIPTOR.services_by_name["ReferenceDataService"].full_name,
    market_data_pb2.DESCRIPTOR.services_by_name["MarketDataService"].full_name,
    users_pb2.DESCRIPTOR.services_by_name["UserService"].full_name,
    risk_pb2.DESCRIPTOR.services_by_name["RiskService"].full_name,
    analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name,
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
)
"""The API's services, each reported SERVING by the health service."""


@dataclass(frozen=True)
class Backing:
    """What the services serve from: the engine's state (the core itself in
    process, a replica in a gateway), the store, the users and the alerts."""

    state: CoreView
    store: Store
    directory: UserDirectory
    tokens: TokenIssuer
    shared: SharedState
    alerts: AlertDesk
    entries: EntryHistory = field(default_factory=EntryHistory)
    """Order entry per interval for GetOrderEntryStatistics: the process
    serving runs its ``run`` task."""


async def interceptors(
    settings: Settings, tokens: TokenIssuer, shared: SharedState, tracer: Tracer | None = None
) -> list[grpc.aio.ServerInterceptor]:  # type: ignore[type-arg]
    """Order entry's spans when tracing (outermost: a span covers the sign-in
    check too), sign-in checks (when required), then input checks (innermost)."""
    chain: list[grpc.aio.ServerInterceptor] = []  # type: ignore[type-arg]
    if tracer is not None:
        chain.append(TracingInterceptor(tracer))
    if settings.auth_required:
        oidc = (
            OidcVerifier(
                OidcSettings(
                    settings.oidc_issuer,
                    settings.oidc_jwks_url,
                    settings.oidc_audience,
                    settings.oidc_roles_claim,
                )
            )
            if settings.oidc_issuer
            else None
        )
        auth = AuthInterceptor(tokens, shared, oidc)
        await auth.start()
        chain.append(auth)
    chain.append(InputInterceptor())  # innermost: after the access rules
    return chain


async def grpc_server(
    settings: Settings,
    backing: Backing,
    tls: ServerTls | None,
    health: health_aio.HealthServicer,
    stream_backlog: int,
    tracer: Tracer | None = None,
) -> tuple[grpc.aio.Server, int]:
    """The gRPC server, bound (``ListenError`` if the port is taken) and
    started; its port. The caller reports SERVING once the rest is up.
    ``tracer``: this process traces order entry (``server/tracing``)."""
    # No SO_REUSEPORT (grpc's default): a second exchange on the same port
    # must fail to bind, not share the port and take half the clients.
    server = grpc.aio.server(
        interceptors=await interceptors(settings, backing.tokens, backing.shared, tracer),
        options=[("grpc.so_reuseport", 0)],
    )
    state, store = backing.state, backing.store
    users_pb2_grpc.add_UserServiceServicer_to_server(UserService(backing.directory), server)
    orders_pb2_grpc.add_OrderServiceServicer_to_server(
        OrderService(state, stream_backlog, store, backing.entries), server
    )
    reference_data_pb2_grpc.add_ReferenceDataServiceServicer_to_server(
        ReferenceDataService(state), server
    )
    market_data_pb2_grpc.add_MarketDataServiceServicer_to_server(
        MarketDataService(state, store), server
    )
    risk_pb2_grpc.add_RiskServiceServicer_to_server(
        RiskService(state, backing.directory, backing.alerts), server
    )
    analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(
        AnalyticsService(Path(settings.data_dir)), server
    )
    admin_pb2_grpc.add_AdminServiceServicer_to_server(
        AdminService(state, Administration(backing.directory, store)), server
    )
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflected = (
        *SERVICES,
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        reflection.SERVICE_NAME,
    )
    reflection.enable_server_reflection(reflected, server)
    port = bind_grpc(
        server, settings.listen_address, settings.grpc_port,
        tls.grpc_credentials if tls is not None else None,
    )  # fmt: skip
    await server.start()
    return server, port


async def report_serving(health: health_aio.HealthServicer) -> None:
    for name in ("", *SERVICES):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
