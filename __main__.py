"""meteor-platform: load the stack's typed config, build the platform, export its outputs."""

from pathlib import Path

import pulumi

from components.config import load_config
from components.platform import Platform

project_dir = Path(__file__).resolve().parent
config = load_config(project_dir=project_dir)
platform = Platform("meteor", config, stack=pulumi.get_stack(), project_dir=project_dir)
for key, value in platform.outputs.items():
    pulumi.export(key, value)
