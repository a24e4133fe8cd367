"""meteor-platform: load the stack's typed config, build the platform, export its outputs."""

from pathlib import Path

import pulumi

from components.config import load_config
from components.platform import Platform

config = load_config(project_dir=Path(__file__).resolve().parent)
platform = Platform("meteor", config, stack=pulumi.get_stack())
for key, value in platform.outputs.items():
    pulumi.export(key, value)
