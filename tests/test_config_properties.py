"""Property tests: every out-of-range or malformed value is refused with its key path."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import assume, given, settings
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


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=70))
def test_app_names_are_dns_labels_or_refused(name: str) -> None:
    assume(name != "meteor-mongo")  # the MongoDB namespace: refused for another reason
    config = copy.deepcopy(BASE_CONFIG)
    config["apps"][0]["name"] = name
    valid = re.fullmatch(r"[a-z]([-a-z0-9]{0,38}[a-z0-9])?", name) is not None
    if valid:
        assert parse_config(config).apps[0].name == name
    else:
        with pytest.raises(ConfigError, match=re.escape("meteor-platform:apps[0].name: got ")):
            parse_config(config)


@given(st.integers(min_value=1, max_value=4096), st.sampled_from(["Mi", "Gi"]))
def test_memory_request_above_limit_is_refused(amount: int, unit: str) -> None:
    config = copy.deepcopy(BASE_CONFIG)
    request, limit = f"{amount + 1}{unit}", f"{amount}{unit}"
    config["apps"][0]["resources"] = {"memoryRequest": request, "memoryLimit": limit}
    assert quantity_value(request) > quantity_value(limit)
    with pytest.raises(ConfigError, match=re.escape("apps[0].resources.memoryRequest")):
        parse_config(config)
