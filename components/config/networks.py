"""Rules on the admin networks that may reach SSH or a control plane."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from components.config.errors import Problems


def admin_network_problems(cidrs: Sequence[str], problems: Problems) -> None:
    """The section's `adminCidrs`: specific networks only, not the whole internet alone (`0.0.0.0/0`) or together (`0.0.0.0/1` + `128.0.0.0/1`)."""
    for j, cidr in enumerate(cidrs):
        if ipaddress.ip_network(cidr).prefixlen == 0:
            problems.bad(["adminCidrs", j], cidr, "expected a specific network, not the whole internet")
    networks = [ipaddress.ip_network(cidr) for cidr in cidrs]
    v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network) and n.prefixlen > 0]
    v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network) and n.prefixlen > 0]
    for version, prefixes in (
        ("IPv4", [n.prefixlen for n in ipaddress.collapse_addresses(v4)]),
        ("IPv6", [n.prefixlen for n in ipaddress.collapse_addresses(v6)]),
    ):
        if prefixes == [0]:
            problems.bad(["adminCidrs"], list(cidrs), f"expected specific networks: together these cover the whole {version} internet")
