"""meteor-platform: load the stack's typed config, build the platform, export its outputs."""

import pulumi

from components.config import load_config
from components.platform import Platform

config = load_config()
platform = Platform("meteor", config, stack=pulumi.get_stack())
for key, value in platform.outputs.items():
    pulumi.export(key, value)
