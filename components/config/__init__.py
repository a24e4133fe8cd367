"""Typed stack configuration: the only package that reads `pulumi.Config`.

    values.py    value types (quantities, image refs, DNS labels, ...)
    errors.py    the one-message error format
    unions.py    sections whose keys depend on a `provider` / `target`
    <section>.py one module per section; a section's own rules are its `own_problems`
    platform.py  the whole config (`target` decides the rest)
    rules.py     the rules across sections, one function per rule
    loading.py   reading the stack, validation passes, error lines

`load_config()` returns a frozen `PlatformConfig` or raises `ConfigError` (a `pulumi.RunError`)
before any resource is registered.

Every stack pays for this package's import, so the modules that define sections evaluate their
annotations where they are written (no `from __future__ import annotations`): pydantic would
otherwise compile and evaluate each annotation string again when it creates the class.
"""

from components.config.apps import AppConfig, DockerAppConfig, ImageFlavor, KubernetesAppConfig
from components.config.errors import NAMESPACE, ConfigError, key_path
from components.config.loading import load_config, parse_config
from components.config.platform import DockerPlatformConfig, Environment, KubernetesPlatformConfig, PlatformConfig, PlatformSection
from components.config.values import is_digest_pinned, quantity_value

__all__ = [
    "NAMESPACE",
    "AppConfig",
    "ConfigError",
    "DockerAppConfig",
    "DockerPlatformConfig",
    "Environment",
    "ImageFlavor",
    "KubernetesAppConfig",
    "KubernetesPlatformConfig",
    "PlatformConfig",
    "PlatformSection",
    "is_digest_pinned",
    "key_path",
    "load_config",
    "parse_config",
    "quantity_value",
]
