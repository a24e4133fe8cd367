"""Which property changes make a provider replace a resource, for the pinned provider versions.

    python -m offline_plan.replace_table --write   # regenerate offline_plan/replace_table.json
    python -m offline_plan.replace_table --check   # exit 1 when the committed table is stale

Two sources, merged into one table the plan diff reads:

- the pinned SDKs themselves: the bridged providers document "Changing this forces a new
  resource" (or AWS's "Forces new resource") on a property, and some SDK classes add
  `replace_on_changes` of their own (pulumi-command's `triggers`);
- `provider_facts.yaml`: what the SDKs do not document but the provider's source declares
  (Terraform `ForceNew`, pulumi-kubernetes' `forceNewProperties`), each entry with its source.

The table records the SDK versions it was generated from; a test regenerates it and compares, so
bumping a provider pin means regenerating (and reviewing) the table.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from importlib import metadata, util
from pathlib import Path
from typing import Any, cast

import yaml

HERE = Path(__file__).resolve().parent
TABLE = HERE / "replace_table.json"
FACTS = HERE / "provider_facts.yaml"

# SDK package -> the sub-packages whose resources the program uses or will use (AWS is vast).
SDKS: dict[str, tuple[str, ...]] = {
    "pulumi_digitalocean": ("",),
    "pulumi_docker": ("",),
    "pulumi_random": ("",),
    "pulumi_tls": ("",),
    "pulumi_command": ("remote", "local"),
    "pulumi_aws": ("ec2", "ecr", "eks", "iam", "s3", "lb", "docdb"),
}
DISTRIBUTIONS = {
    "pulumi_digitalocean": "pulumi-digitalocean",
    "pulumi_docker": "pulumi-docker",
    "pulumi_random": "pulumi-random",
    "pulumi_tls": "pulumi-tls",
    "pulumi_command": "pulumi-command",
    "pulumi_aws": "pulumi-aws",
    "pulumi_kubernetes": "pulumi-kubernetes",
}

_TOKEN = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'([^']+)'")
_PARAM = re.compile(r":param [^\n]*? (\w+): (.*?)(?=\n\s*:param |\n\s*\"\"\")", re.DOTALL)
_FORCES_NEW = re.compile(r"forces? (a )?new resource", re.IGNORECASE)
_REPLACE_OPTION = re.compile(r"replace_on_changes=\[((?:\s*\"[^\"]*\"\s*,?)*)\]")
_GETTER = re.compile(r'@pulumi\.getter\(name="(\w+)"\)\s*\n\s*def (\w+)\(')


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _scan_module(source: str) -> tuple[str, list[str]] | None:
    """(type token, replace-forcing properties) of one SDK resource module, if it has any."""
    token = _TOKEN.search(source)
    if token is None:
        return None
    args_doc = source.split('"""', 2)[1] if source.count('"""') >= 2 else ""
    renamed = {python: wire for wire, python in _GETTER.findall(source)}
    props = {renamed.get(name, _camel(name)) for name, text in _PARAM.findall(args_doc) if _FORCES_NEW.search(" ".join(text.split()))}
    for listed in _REPLACE_OPTION.findall(source):
        props.update(re.findall(r'"([^"]*)"', listed))
    return (token.group(1), sorted(props)) if props else None


def _package_dir(package: str) -> Path:
    spec = util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"error: {package} is not installed (bash scripts/setup)")
    return Path(next(iter(spec.submodule_search_locations)))


def from_sdks() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for package, subpackages in SDKS.items():
        base = _package_dir(package)
        for sub in subpackages:
            for module in sorted((base / sub).glob("*.py")):
                if module.name.startswith("_") or module.name.startswith("get_"):
                    continue
                scanned = _scan_module(module.read_text())
                if scanned:
                    found[scanned[0]] = scanned[1]
    return found


def generate() -> dict[str, Any]:
    facts = cast(dict[str, Any], yaml.safe_load(FACTS.read_text()))
    types: dict[str, dict[str, Any]] = {}
    for token, props in from_sdks().items():
        types[token] = {"replaceOn": props, "sources": ["SDK docstrings / replace_on_changes"]}
    for token, fact in cast(dict[str, dict[str, Any]], facts["types"]).items():
        entry = types.setdefault(token, {"replaceOn": [], "sources": []})
        entry["replaceOn"] = sorted(set(entry["replaceOn"]) | set(fact.get("replaceOn", [])))
        for key in ("replaceUnlessOnly", "deleteBeforeReplace", "nameInput"):
            if key in fact:
                entry[key] = fact[key]
        entry["sources"] = [*entry["sources"], fact["source"]]
    return {
        "generatedFrom": {DISTRIBUTIONS[p]: metadata.version(DISTRIBUTIONS[p]) for p in sorted(DISTRIBUTIONS)},
        "kubernetes": facts["kubernetes"],
        "types": dict(sorted(types.items())),
    }


def table_text(table: dict[str, Any]) -> str:
    return json.dumps(table, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline_plan.replace_table", description=(__doc__ or "").split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help=f"regenerate {TABLE.name}")
    group.add_argument("--check", action="store_true", help=f"exit 1 when {TABLE.name} is stale")
    args = parser.parse_args(argv)
    text = table_text(generate())
    if args.write:
        TABLE.write_text(text)
        print(f"wrote {TABLE.relative_to(HERE.parent)}")
        return 0
    if not TABLE.exists() or TABLE.read_text() != text:
        print(f"{TABLE.name} is stale for the installed provider SDKs: python -m offline_plan.replace_table --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
