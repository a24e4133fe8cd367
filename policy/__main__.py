"""The platform's policy pack: `pulumi preview --policy-pack policy`.

Each rule of `rules.py` runs as a mandatory stack policy (see `pack.py`), on the same resources
the offline plan checks.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pack

PolicyPack(name=pack.NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=pack.policies())
