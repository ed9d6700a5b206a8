"""Cursor on Target (CoT) events of air tracks, and sending them to TAK clients with ``pytak``.

An event (CoT 2.0, MITRE):

.. code-block:: xml

    <event version="2.0" uid="airpicture.JPN2-13842" type="a-n-A-C-F" how="m-f"
           time="2026-12-07T19:20:00.000Z" start="..." stale="...">
      <point lat="35.1" lon="139.2" hae="10668.0" ce="120.0" le="80.0"/>
      <detail>
        <track course="271.3" speed="231.5"/>
        <contact callsign="KLM1023"/>
        <_aircot_ icao="4840D6" flight="KLM1023" squawk="7700" emergency="general"/>
        <remarks>...</remarks>
      </detail>
    </event>

``type`` is ``a-<affiliation>-A[-...]``: a track with a Mode S address or callsign is a
civil aircraft, neutral (``a-n-A-C-F``); a ballistic or cruise missile is hostile
(``a-h-A-W-M``); anything else unknown (``a-u-A``). ``how`` is ``m-f`` (fused) when the
track holds partners' tracks or more than one nation's sensors, else ``m-a``. ``hae`` is
metres above the WGS-84 ellipsoid; ``ce`` and ``le`` are the 90 % horizontal radius and
vertical half-interval from the position covariance (9999999 when unknown); ``course`` degrees
clockwise from true north, ``speed`` m/s. An emergency squawk (7500/7600/7700) is named in the
``_aircot_`` element and the remarks.
"""

from __future__ import annotations

import asyncio
import math
import warnings
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from xml.sax.saxutils import quoteattr

import numpy as np

from airpicture.errors import ConfigError, DataError
from airpicture.interop._tracks import TrackIdentity, geo_tracks
from airpicture.tables import TrackRows

__all__ = ["CotSender", "cot_events", "cot_type", "send_cot"]

_UNKNOWN_ERROR = 9_999_999.0


def _iso(t_s: float) -> str:
    stamp = datetime.fromtimestamp(t_s, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def cot_type(kind: str, identity: TrackIdentity | None) -> str:
    """The CoT type of a track of classification ``kind`` with ``identity``."""
    if kind in ("ballistic", "cruise"):
        return "a-h-A-W-M"
    if identity is not None and (identity.address or identity.callsign):
        return "a-n-A-C-F"
    return "a-u-A"


def _num(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else f"{_UNKNOWN_ERROR:.1f}"


def cot_events(
    rows: TrackRows,
    identity: Mapping[str, TrackIdentity] | None = None,
    *,
    stale_s: float = 15.0,
    uid_prefix: str = "airpicture.",
) -> list[bytes]:
    """One CoT event (UTF-8 XML, no declaration) per row of a tracks table.

    Parameters
    ----------
    rows : TrackRows
        Track rows; ``tentative`` and ``deleted`` rows give events too (a receiver should show
        what it is told: leave them out before calling to send only the picture). A
        ``deleted`` row's event is stale at once, which removes the track from a TAK map.
    identity : mapping of track id to TrackIdentity, optional
        Identity of the tracks that have one.
    stale_s : float
        How long after its time an event goes stale.
    uid_prefix : str
        Prefix of every event's uid (the track id follows).
    """
    if not stale_s > 0:
        raise ConfigError(
            "cot_events", key="stale_s", expected="a positive number", got=repr(stale_s)
        )
    identity = identity or {}
    geo = geo_tracks(rows)
    events = []
    sources = rows.sources if rows.sources is not None else np.full(len(rows), "")
    for i in range(len(rows)):
        track_id = str(rows.track_id[i])
        ident = identity.get(track_id)
        t = float(rows.t_s[i])
        status = str(rows.status[i])
        fused = ":track" in str(sources[i]) or ";" in str(rows.nations[i])
        stale = t if status == "deleted" else t + stale_s
        detail = [f'<track course="{geo.course_deg[i]:.1f}" speed="{geo.speed_mps[i]:.1f}"/>']
        remarks = [f"{rows.kind[i]} track {track_id}, {status}, nations {rows.nations[i]}"]
        if ident is not None:
            if ident.callsign:
                detail.append(f"<contact callsign={quoteattr(ident.callsign)}/>")
            attrs = [
                f"{name}={quoteattr(value)}"
                for name, value in (
                    ("icao", ident.address),
                    ("flight", ident.callsign),
                    ("squawk", ident.squawk),
                    ("emergency", ident.emergency),
                )
                if value
            ]
            if attrs:
                detail.append(f"<_aircot_ {' '.join(attrs)}/>")
            if ident.emergency:
                remarks.append(f"EMERGENCY {ident.emergency} (squawk {ident.squawk or '-'})")
        else:
            detail.append(f"<contact callsign={quoteattr(track_id)}/>")
        detail.append(f"<remarks>{_escape('; '.join(remarks))}</remarks>")
        events.append(
            (
                f'<event version="2.0" uid={quoteattr(uid_prefix + track_id)} '
                f'type="{cot_type(str(rows.kind[i]), ident)}" how="{"m-f" if fused else "m-a"}" '
                f'time="{_iso(t)}" start="{_iso(t)}" stale="{_iso(stale)}">'
                f'<point lat="{geo.lat_deg[i]:.7f}" lon="{geo.lon_deg[i]:.7f}" '
                f'hae="{geo.height_m[i]:.1f}" ce="{_num(geo.circular_error_m[i], 1)}" '
                f'le="{_num(geo.linear_error_m[i], 1)}"/>'
                f"<detail>{''.join(detail)}</detail></event>"
            ).encode()
        )
    return events


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class CotSender:
    """Sends CoT events to a TAK address through ``pytak``: ``udp://HOST:PORT`` (send only, as
    ``udp+wo``: plain pytak UDP would also bind the port) or ``tcp://HOST:PORT``.

    Use as an async context manager; :meth:`send` writes events in order.
    """

    def __init__(self, url: str) -> None:
        scheme = url.split("://", 1)[0].lower()
        if scheme not in ("udp", "udp+wo", "tcp") or "://" not in url:
            raise ConfigError(
                url, key="tak", expected="udp://HOST:PORT or tcp://HOST:PORT", got=repr(url)
            )
        self.url = "udp+wo://" + url.split("://", 1)[1] if scheme == "udp" else url
        self._writer: object = None

    async def __aenter__(self) -> CotSender:
        with warnings.catch_warnings():
            # pytak warns at import when aiohttp (for TAK server enrolment) is missing: plain
            # UDP and TCP need none of it
            warnings.filterwarnings("ignore", message=".*aiohttp", category=UserWarning)
            import pytak

        _reader, self._writer = await pytak.protocol_factory({"COT_URL": self.url})  # type: ignore[arg-type]
        return self

    async def send(self, events: Iterable[bytes]) -> int:
        """Send events; the number sent."""
        writer = self._writer
        n = 0
        for event in events:
            if hasattr(writer, "drain"):
                writer.write(event)  # type: ignore[attr-defined]
                await writer.drain()
            else:
                await writer.send(event)  # type: ignore[attr-defined]
            n += 1
        return n

    async def __aexit__(self, *exc: object) -> None:
        writer = self._writer
        if writer is None:
            return
        if hasattr(writer, "drain"):
            writer.close()  # type: ignore[attr-defined]
            try:
                await writer.wait_closed()  # type: ignore[attr-defined]
            except (ConnectionError, OSError):
                pass
        else:
            writer.close()  # type: ignore[attr-defined]


def send_cot(url: str, events: Iterable[bytes]) -> int:
    """Send CoT events to a TAK address (see :class:`CotSender`); the number sent.

    Raises
    ------
    DataError
        When the address cannot be reached (a refused TCP connection, an unknown host).
    """

    async def run() -> int:
        async with CotSender(url) as sender:
            return await sender.send(events)

    try:
        return asyncio.run(run())
    except OSError as exc:
        raise DataError(
            url, expected="a reachable TAK address", got=exc.strerror or str(exc)
        ) from None
