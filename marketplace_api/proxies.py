"""Whom a request came from behind reverse proxies (``AIGC_TRUSTED_PROXIES``).

The API counts anonymous rate limits per client IP (:func:`marketplace_api.deps.client_ip`).
Behind a reverse proxy the TCP peer is the proxy, so every client would share its bucket (one
abuser locks everyone out); reading ``X-Forwarded-For`` blindly instead lets a client write any
address there and get a fresh bucket per request. The rule here: the header is read only when
the peer is a trusted proxy (one of the configured networks), from the right, and the client is
the rightmost address that is not itself a trusted proxy. Each trusted proxy appends the address
it received the request from, so every entry read was written by a trusted proxy; whatever the
client wrote itself lies further left and is never reached. With no networks configured (the
default) the header is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_HOPS = 32
"""Entries of ``X-Forwarded-For`` read at most (from the right): a chain of trusted proxies
longer than this is a misconfiguration, and the walk stops at the last trusted hop reached."""


def parse_trusted_proxies(value: str) -> tuple[IpNetwork, ...]:
    """``"10.0.0.0/8, 2001:db8::/32, 192.0.2.7"`` -> the networks (a bare address is its /32 or
    /128); :class:`ValueError` naming the entry that is neither."""
    networks = []
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"AIGC_TRUSTED_PROXIES: {entry!r} is not an IP address or network (CIDR)"
            ) from None
    return tuple(networks)


def parse_ip(value: str) -> IpAddress | None:
    """An address as a peer or an ``X-Forwarded-For`` entry writes it: bare, with an IPv6 zone
    index (dropped), ``[v6]`` or ``[v6]:port``, or ``v4:port``; ``None`` for anything else."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or (value[end + 1 :] and not value[end + 1 :].startswith(":")):
            return None
        value = value[1:end]
    elif value.count(":") == 1:  # IPv4 with a port (an IPv6 address has at least two colons)
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value.split("%", 1)[0])  # a zone index names no other host
    except ValueError:
        return None


def _trusted(ip: IpAddress | None, networks: Sequence[IpNetwork]) -> bool:
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == n.version and ip in n for n in networks)


def forwarded_client(
    peer: str, forwarded_for: Iterable[str], networks: Sequence[IpNetwork]
) -> tuple[str, IpAddress | None]:
    """The client behind ``peer``: ``peer`` itself unless it is in ``networks``; else the
    rightmost ``X-Forwarded-For`` entry (``forwarded_for``: every such header's value, in
    order) that is not a trusted proxy. An entry that is no IP address ends the walk at the
    trusted hop that wrote it (a proxy that writes ``unknown`` makes its clients one client;
    nothing a client writes gets it a bucket of its own). Returns the host as text and as an
    address (``None`` when the peer itself is no IP address)."""
    current = parse_ip(peer)
    if not networks or not _trusted(current, networks):
        return peer, current
    entries = [e for value in forwarded_for for e in value.split(",")]
    for entry in reversed(entries[-MAX_HOPS:]):
        hop = parse_ip(entry)
        if hop is None:
            break
        current = hop
        if not _trusted(hop, networks):
            break
    assert current is not None  # the peer parsed, and only a parsed hop replaces it
    return str(current), current
