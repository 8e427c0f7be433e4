"""Sender address allowlists of the webhook routes (plain Python)."""

import functools
import ipaddress
import re


@functools.lru_cache(maxsize=64)
def parse(text):
    """The networks of an allowlist: addresses or CIDR networks, one per line or comma-separated.

    Raises ValueError naming the first entry that is neither. Cached: the routes parse the
    same text for every delivery.
    """
    networks = []
    for entry in re.split(r"[\s,;]+", text or ""):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


def allows(text, address):
    """Whether ``address`` may call a route whose allowlist is ``text`` (empty allows all)."""
    networks = parse(text)
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)
