"""Checks of the playbooks' network settings, with Python's own parser (no regular
expression can tell 1.2.3.4/0, which AWS reads as 0.0.0.0/0, from a real network)."""

from __future__ import annotations

import ipaddress


def admin_network_problem(value: object, min_prefix: int = 16) -> str:
    """Why ``value`` is not a safe admin network for the bastion's SSH rule ("" if it is)."""
    text = str(value).strip()
    if "/" not in text:
        return f"{text!r} has no prefix length (write 203.0.113.7/32 for one address)"
    try:
        network = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        return f"{text!r} is not an IPv4 network with its host bits clear: {exc}"
    if network.prefixlen < int(min_prefix):
        return (f"{text} spans {network.num_addresses:,} addresses; the bastion admits at most "
                f"a /{min_prefix} (admin_cidr_min_prefix)")
    return ""


class FilterModule:
    def filters(self) -> dict:
        return {"admin_network_problem": admin_network_problem}
