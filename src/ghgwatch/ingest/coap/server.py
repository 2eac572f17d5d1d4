"""The CoAP server (UDP) and the ``coap`` role's start/stop hooks."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass, field
from typing import Any

from ghgwatch.ingest.admission import Admission
from ghgwatch.ingest.auth import DeviceAuthenticator
from ghgwatch.ingest.service import Ingestor, ingestor_of
from ghgwatch.settings import Mode
from ghgwatch.web.context import AppContext

log = logging.getLogger(__name__)

SHUTDOWN_S = 5.0
"""How long :meth:`CoapServer.stop` waits for aiocoap's orderly shutdown (a chosen bound, not a protocol value)."""


def bindable_udp_port(host: str, wanted: int) -> int:
    """``wanted`` if a UDP socket can be bound to it on ``host`` now, else a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((host, wanted))
        except OSError:
            probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class CoapServer:
    """``coap://host:port/readings`` (and ``/.well-known/core``) until :meth:`stop`."""

    host: str
    port: int
    ingestor: Ingestor
    auth: DeviceAuthenticator
    admission: Admission | None = None
    """Storage behind: 5.03 with Max-Age (CoAP's Retry-After), as HTTP answers 503."""
    _context: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"coap://{host}:{self.port}/readings"

    async def start(self) -> None:
        from aiocoap import Context, resource

        from ghgwatch.ingest.coap.resource import ReadingsResource

        site = resource.Site()
        site.add_resource([".well-known", "core"], resource.WKCResource(site.get_resources_as_linkheader))
        site.add_resource(["readings"], ReadingsResource(self.ingestor, self.auth, self.admission))
        self._context = await Context.create_server_context(site, bind=(self.host, self.port), transports=["udp6"])

    async def stop(self) -> None:
        if self._context is not None:
            context, self._context = self._context, None
            try:  # aiocoap may wait for exchanges still in flight (retransmissions): stopping must not hang
                await asyncio.wait_for(context.shutdown(), SHUTDOWN_S)
            except TimeoutError:
                log.warning("CoAP server did not shut down within %s s; its socket is closed anyway", SHUTDOWN_S)


async def start_coap(ctx: AppContext) -> None:
    """Role ``coap`` (and ``all``): the CoAP ingest beside HTTP, sharing its ingestor and authenticator."""
    try:
        import aiocoap  # noqa: F401
    except ImportError:
        log.warning("CoAP is off: install the 'coap' extra (pip install 'ghgwatch[coap]') to accept CoAP readings")
        return
    settings = ctx.settings
    auth = ctx.extras.get("device_auth") or DeviceAuthenticator(
        ctx.db, max_age_s=float(settings.security.signature_max_age_s))
    ingestor = ingestor_of(ctx.extras)  # its readings reach the accept lane (or live lane) like HTTP ones
    server = await open_coap_server(settings.coap.host or settings.api.host, settings.coap.port, ingestor, auth,
                                    fall_back=settings.mode is Mode.EMBEDDED, admission=ctx.extras.get("admission"))
    ctx.extras["coap_server"] = server


async def open_coap_server(host: str, port: int, ingestor: Ingestor, auth: DeviceAuthenticator, *,
                           fall_back: bool, admission: Admission | None = None) -> CoapServer:
    """A started server on ``port``, or (``fall_back``) on a free port when that one is taken."""
    chosen = bindable_udp_port(host, port) if fall_back else port
    if chosen != port and port != 0:
        log.warning("CoAP port %s is taken; CoAP ingest uses %s", port, chosen)
    server = CoapServer(host, chosen, ingestor, auth, admission)
    await server.start()
    log.warning("CoAP ingest on %s (Uri-Query token=<device token>)", server.url)
    return server


async def stop_coap(ctx: AppContext) -> None:
    server: CoapServer | None = ctx.extras.pop("coap_server", None)
    if server is not None:
        await server.stop()
