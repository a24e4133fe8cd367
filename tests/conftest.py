import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import kubernetes_validate.utils
from hypothesis import settings

# Property tests draw the same examples on every run and machine: a red CI is reproducible.
settings.register_profile("deterministic", derandomize=True, deadline=None)
settings.load_profile("deterministic")

# kubernetes_validate.validate reads and decodes its schema files (the 1.5 MB _definitions.json
# among them) on every call, and tests validate hundreds of objects. The files do not change during
# a run and the validator only reads what they decode to: each is read once per test process.
kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)
