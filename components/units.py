"""Unit conversions: Kubernetes quantities as each target reads them (bytes, MiB, GiB, cores).

Config validators and builders both read quantities through here, so a conversion is written once.
"""

from __future__ import annotations

import re

MiB = 2**20
GiB = 2**30

QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_QUANTITY_FACTORS = {
    None: 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}
CPU = re.compile(r"([0-9]+)m|([0-9]+(?:\.[0-9]{1,3})?)")
BODY_SIZE = re.compile(r"([0-9]+)(Ki|Mi|Gi)?")


def quantity_value(value: str) -> float:
    """The numeric value of a Kubernetes quantity such as `250m` or `1Gi`."""
    match = QUANTITY.fullmatch(value)
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {value}")
    return float(match.group(1)) * _QUANTITY_FACTORS[match.group(2)]


def mebibytes(value: str) -> float:
    """A memory quantity in MiB, unrounded: `512Mi` -> 512.0, `1Gi` -> 1024.0."""
    return quantity_value(value) / MiB


def whole_mebibytes(value: str) -> int:
    """A memory quantity in whole MiB (rounded down), as Docker's memory limits read it."""
    return int(mebibytes(value))


def gibibytes(value: str) -> float:
    """A size in GiB, unrounded: `10Gi` -> 10.0."""
    return quantity_value(value) / GiB


def whole_bytes(value: str) -> int:
    """A size in bytes: `50Mi` -> 52428800."""
    return int(quantity_value(value))


def cpu_cores(value: str) -> float:
    """`500m` -> 0.5, `2` -> 2.0: a CPU quantity in cores."""
    match = CPU.fullmatch(value)
    if match is None:
        raise ValueError(f"not a CPU quantity: {value}")
    return int(match.group(1)) / 1000 if match.group(1) is not None else float(match.group(2))


def docker_cpus(value: str) -> str:
    """The `cpus` value Docker reads (cores as a decimal): `500m` -> `0.5`, `1` -> `1`."""
    return f"{cpu_cores(value):g}"


def nginx_size(value: str) -> str:
    """A body size as ingress-nginx's proxy-body-size reads it (k, m, g are powers of 1024): `50Mi` -> `50m`."""
    match = BODY_SIZE.fullmatch(value)
    if match is None:
        raise ValueError(f"not a body size: {value}")
    unit = match.group(2)
    return match.group(1) + ({"Ki": "k", "Mi": "m", "Gi": "g"}[unit] if unit else "")


def human_size(amount: int) -> str:
    """A whole number of bytes as `<n>Gi` when it is whole GiB, else `<n>Mi`."""
    return f"{amount // GiB}Gi" if amount % GiB == 0 else f"{amount // MiB}Mi"
