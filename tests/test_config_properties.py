"""Property tests: every out-of-range or malformed value is refused with its key path."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.config import ConfigError, parse_config, quantity_value
from tests.harness import BASE_CONFIG


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_replicas_accepted_exactly_in_range(replicas: int) -> None:
    config = copy.deepcopy(BASE_CONFIG)
    config["apps"][0]["replicas"] = replicas
    if 1 <= replicas <= 100:
        assert parse_config(config).apps[0].replicas == replicas
    else:
        with pytest.raises(ConfigError, match=re.escape("meteor-platform:apps[0].replicas: got ")):
            parse_config(config)


# App names become namespaces, Services and database names: DNS labels (RFC 1123) that start with a
# letter, at most 40 characters (room for the suffixes the platform adds).
VALID_APP_NAMES = ["a", "todos", "accounts-api", "a1", "x" * 40, "a-b-c"]
INVALID_APP_NAMES = ["", "-todos", "todos-", "1todos", "Todos", "todo_s", "todos.api", "todos api", "x" * 41, "tödos"]


@pytest.mark.parametrize("name", VALID_APP_NAMES)
def test_dns_label_app_names_are_accepted(name: str) -> None:
    config = copy.deepcopy(BASE_CONFIG)
    config["apps"][0]["name"] = name
    assert parse_config(config).apps[0].name == name


@pytest.mark.parametrize("name", INVALID_APP_NAMES)
def test_other_app_names_are_refused(name: str) -> None:
    config = copy.deepcopy(BASE_CONFIG)
    config["apps"][0]["name"] = name
    with pytest.raises(ConfigError, match=re.escape("meteor-platform:apps[0].name: got ")):
        parse_config(config)


@given(st.integers(min_value=64, max_value=4096), st.sampled_from(["Mi", "Gi"]))
def test_memory_request_above_limit_is_refused(amount: int, unit: str) -> None:
    config = copy.deepcopy(BASE_CONFIG)
    request, limit = f"{amount + 1}{unit}", f"{amount}{unit}"
    config["apps"][0]["resources"] = {"memoryRequest": request, "memoryLimit": limit}
    assert quantity_value(request) > quantity_value(limit)
    with pytest.raises(ConfigError, match=re.escape("apps[0].resources.memoryRequest")):
        parse_config(config)
