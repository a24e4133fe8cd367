"""meteor-platform: load the stack's typed config, build the platform, export its URLs."""

import pulumi

from components.config import load_config
from components.platform import Platform

config = load_config()
platform = Platform("meteor", config, stack=pulumi.get_stack())
pulumi.export("urls", {name: app.url for name, app in platform.apps.items()})
