"""Pull-request previews a reviewer can trust: what `pulumi up` would replace, refuse or leave behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline_plan.__main__ import BAD_INPUT, CHANGES, NO_CHANGES, POLICY_VIOLATION, PROTECTED_DATA, main
from offline_plan.changes import PlanChanges, PlanMismatchError, plan_changes
from offline_plan.diffing import diff_values
from offline_plan.render import GITHUB_COMMENT_LIMIT, StackReport, comment, stack_text
from offline_plan.replace_table import TABLE, generate, table_text
from offline_plan.report import plan_text
from offline_plan.runtime import run_program
from tests.harness import ROOT


def _stack(stack: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())


def _project_copy(tmp_path: Path) -> None:
    """What a stack reads beside its stack file: the program, the committed plans (promotion), the app sources (builds)."""
    import shutil

    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    for directory in ("plans", "examples", "dockerfiles"):
        if not (tmp_path / directory).exists():
            shutil.copytree(ROOT / directory, tmp_path / directory)


def _plan_of(tmp_path: Path, stack: str, document: dict[str, Any]) -> dict[str, Any]:
    _project_copy(tmp_path)
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    return json.loads(plan_text(run_program(tmp_path, stack).as_json()))


def _committed(stack: str) -> dict[str, Any]:
    return json.loads((ROOT / "plans" / f"{stack}.json").read_text())


def _changed(tmp_path: Path, stack: str, edit: Any) -> PlanChanges:
    document = _stack(stack)
    edit(document["config"])
    return plan_changes(_committed(stack), _plan_of(tmp_path, stack, document))


def _by_name(changes: PlanChanges) -> dict[str, Any]:
    return {r.name: r for r in changes.resources}


# -- replace vs update vs delete ------------------------------------------------------------


def test_a_region_change_replaces_what_digitalocean_recreates(tmp_path: Path) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["meteor-platform:digitalocean"]["region"] = "ams3"

    changes = _changed(tmp_path, "production", edit)
    replaced = {(r.type.split(":")[-1], r.name) for r in changes.of("replace")}
    assert {
        ("Vpc", "meteor-network-vpc"),
        ("KubernetesCluster", "meteor-cluster-doks"),
        ("DatabaseCluster", "meteor-mongo-cluster"),
        ("ContainerRegistry", "meteor-registry-registry"),
        ("SpacesBucket", "meteor-storage-bucket"),
    } <= replaced
    resources = _by_name(changes)
    assert resources["meteor-network-vpc"].replace_reasons == ["region"]
    # The database's region migrates in place; its VPC does not: replaced through the new VPC id.
    assert resources["meteor-mongo-cluster"].replace_reasons == ["privateNetworkUuid (new id of meteor-network-vpc)"]
    assert resources["meteor-network-vpc"].delete_before_replace, "a VPC keeps its name: the old one goes first"
    # Every Kubernetes object follows its cluster: a new cluster id replaces the provider.
    assert "its provider meteor-cluster-provider is replaced" in resources["todos-deployment"].replace_reasons
    assert {r.name for r in changes.refused} == {"meteor-mongo-cluster", "meteor-registry-registry", "meteor-storage-bucket"}


def test_an_image_change_updates_a_deployment_in_place(tmp_path: Path) -> None:
    digest = "sha256:" + "ab" * 32

    def edit(config: dict[str, Any]) -> None:
        config["meteor-platform:apps"][0]["image"] = config["meteor-platform:apps"][0]["image"].split("@")[0] + "@" + digest

    changes = _changed(tmp_path, "byoc", edit)
    [deployment] = changes.resources
    assert (deployment.name, deployment.action) == ("todos-deployment", "update")
    assert [c.render() for c in deployment.changes] == [
        f'~ spec.template.spec.containers[meteor].image: "ghcr.io/meteor-platform/todos@sha256:3f1c6a7f4c0b1d2e5a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f" => "ghcr.io/meteor-platform/todos@{digest}"'
    ]
    assert [c.render() for c in changes.outputs] == [
        f'~ images.todos: "ghcr.io/meteor-platform/todos@sha256:3f1c6a7f4c0b1d2e5a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f" => "ghcr.io/meteor-platform/todos@{digest}"'
    ]


def test_a_docker_container_replaces_and_the_program_options_are_honoured(tmp_path: Path) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["meteor-platform:apps"][0].setdefault("env", {})["FEATURE"] = "on"

    changes = _changed(tmp_path, "dev", edit)
    containers = [r for r in changes.resources if r.type == "docker:index/container:Container"]
    assert containers and all(r.action == "replace" for r in containers)
    # The program asks app containers to be created before the old ones go (zero downtime).
    assert not any(r.delete_before_replace for r in containers)


def test_ignore_changes_are_dropped_as_the_engine_drops_them() -> None:
    plan = _committed("droplets")
    changed = json.loads(json.dumps(plan))
    droplet = next(r for r in changed["resources"] if r["type"] == "digitalocean:index/droplet:Droplet")
    assert "userData" in droplet.get("ignoreChanges", [])
    droplet["inputs"]["userData"] = "#cloud-config\n{}"
    assert plan_changes(plan, changed).empty
    droplet["ignoreChanges"] = []
    replaced = _by_name(plan_changes(plan, changed))[droplet["name"]]
    assert (replaced.action, replaced.replace_reasons) == ("replace", ["userData"])


def test_the_programs_replace_on_changes_forces_a_replacement() -> None:
    plan = _committed("byoc")
    changed = json.loads(json.dumps(plan))
    service = next(r for r in changed["resources"] if r["name"] == "todos-service")
    service["inputs"]["metadata"]["labels"]["tier"] = "web"
    [updated] = plan_changes(plan, changed).resources
    assert updated.action == "update", "a label alone updates a Service in place"
    service["replaceOnChanges"] = ["metadata.labels"]
    [replaced] = plan_changes(plan, changed).resources
    assert (replaced.action, replaced.replace_reasons) == ("replace", ["metadata.labels.tier"])


def test_a_rename_with_an_alias_is_not_a_delete() -> None:
    plan = _committed("byoc")
    changed = json.loads(json.dumps(plan))
    moved = next(r for r in changed["resources"] if r["name"] == "todos-service")
    old_urn = moved["urn"]
    moved["urn"] = old_urn.replace("todos-service", "todos-svc")
    assert {r.action for r in plan_changes(plan, changed).resources} == {"create", "delete"}
    moved["aliases"] = [old_urn]
    assert plan_changes(plan, changed).empty


def test_the_replace_table_is_current_for_the_pinned_providers() -> None:
    from importlib import metadata

    table = json.loads(TABLE.read_text())
    assert TABLE.read_text() == table_text(generate()), "stale: python -m offline_plan.replace_table --write"
    for distribution, version in table["generatedFrom"].items():
        assert metadata.version(distribution) == version
    # From the SDK docstrings, not only from the curated facts:
    assert "userData" in table["types"]["digitalocean:index/droplet:Droplet"]["replaceOn"]
    assert table["types"]["command:remote:Command"]["replaceOn"] == ["triggers[*]"]


# -- protected data first ---------------------------------------------------------------------


def test_switching_production_storage_to_gridfs_is_a_refused_deletion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = _stack("production")
    document["config"]["meteor-platform:storage"] = {"provider": "gridfs"}
    _project_copy(tmp_path)
    (tmp_path / "Pulumi.production.yaml").write_text(yaml.safe_dump(document))
    status = main(["production", "--root", str(tmp_path), "--diff", str(ROOT / "plans" / "production.json")])
    out = capsys.readouterr().out
    assert status == PROTECTED_DATA
    lines = out.splitlines()
    assert "PROTECTED DATA" in lines[1], "the refusal leads the report"
    assert "meteor-storage-bucket  (protected: `pulumi up` refuses to delete it)" in lines[2]


def test_a_retained_resource_left_behind_is_a_data_hit() -> None:
    plan = _committed("droplets")
    changed = json.loads(json.dumps(plan))
    volume = next(r for r in changed["resources"] if r["type"] == "docker:index/volume:Volume")
    original = next(r for r in plan["resources"] if r["urn"] == volume["urn"])
    original["protect"] = False  # retained but no longer protected: deleting it orphans the data
    changed["resources"].remove(volume)
    changes = plan_changes(plan, changed)
    assert [r.name for r in changes.left_behind] == [volume["name"]]
    assert "left behind" in stack_text(StackReport("droplets", changes)).splitlines()[2]


def test_dropping_a_build_leaves_its_image_in_the_registry_without_alarm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Production runs the digest staging pushed: the Image is retained on delete (its tags stay),
    # and the preview says so instead of failing the pull request as a protected-data hit.
    document = _stack("staging")
    app = document["config"]["meteor-platform:apps"][0]
    del app["build"]
    app["image"] = "registry.digitalocean.com/meteor-production/todos@sha256:" + "ab" * 32
    _project_copy(tmp_path)
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump(document))
    status = main(["staging", "--root", str(tmp_path), "--diff", str(ROOT / "plans" / "staging.json")])
    out = capsys.readouterr().out
    assert status == CHANGES
    assert "PROTECTED DATA" not in out
    [line] = [line for line in out.splitlines() if "docker-build:index:Image" in line]
    assert line.lstrip().startswith("- ") and "left in the registry" in line


# -- diffs by key, secrets, outputs -------------------------------------------------------------


def test_adding_one_environment_variable_is_one_line(tmp_path: Path) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["meteor-platform:apps"][0].setdefault("env", {})["ANALYTICS_ENABLED"] = "1"

    changes = _changed(tmp_path, "byoc", edit)
    [deployment] = changes.resources
    assert [c.render() for c in deployment.changes] == [
        '+ spec.template.spec.containers[meteor].env[ANALYTICS_ENABLED]: {"name": "ANALYTICS_ENABLED", "value": "1"}'
    ]


def test_indices_sort_numerically_and_lists_align_by_content() -> None:
    old = {"args": [f"a{i}" for i in range(12)]}
    new = {"args": [f"a{i}" for i in range(12)]}
    new["args"][1], new["args"][10] = "b1", "b10"
    assert [c.render() for c in diff_values(old, new)] == ['~ args[1]: "a1" => "b1"', '~ args[10]: "a10" => "b10"']
    inserted = {"args": ["x", *old["args"]]}
    assert [c.render() for c in diff_values(old, inserted)] == ['+ args[0]: "x"']


def test_a_changed_secret_shows_no_value(tmp_path: Path) -> None:
    document = _stack("byoc")
    document["config"]["meteor-platform:apps"][0]["secretEnv"] = {"API_KEY": {"secure": "v1:AAAAold-ciphertext"}}
    before = _plan_of(tmp_path, "byoc", document)
    document["config"]["meteor-platform:apps"][0]["secretEnv"] = {"API_KEY": {"secure": "v1:BBBBnew-ciphertext"}}
    after = _plan_of(tmp_path, "byoc", document)
    changes = plan_changes(before, after)
    text = stack_text(StackReport("byoc", changes))
    assert '~ "meteor-platform:apps[0].secretEnv.API_KEY": [secret changed]' in text
    assert "ciphertext" not in text
    # A secret the program derives (a connection string) changes with the database host: shown, not revealed.
    committed = _committed("byoc")
    swapped = json.loads(json.dumps(committed))
    secret = next(r for r in swapped["resources"] if r["name"] == "todos-env")
    secret["secretDigests"]["stringData.MONGO_URL"] = "0" * 16
    [changed] = plan_changes(committed, swapped).resources
    assert [c.render() for c in changed.changes] == ["~ stringData.MONGO_URL: [secret changed]"]
    assert changed.action == "replace", "a Secret's data replaces it (pulumi-kubernetes: immutable by default)"


def test_output_changes_are_listed(tmp_path: Path) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["meteor-platform:apps"][0]["domain"] = "todo.example.org"

    changes = _changed(tmp_path, "staging", edit)
    assert [c.render() for c in changes.outputs] == ['~ urls.todos: "https://todos.staging.example.com" => "https://todo.example.org"']
    assert "outputs:" in stack_text(StackReport("staging", changes))


def test_a_diff_against_another_stack_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(PlanMismatchError):
        plan_changes(_committed("dev"), _committed("staging"))
    assert main(["staging", "--diff", str(ROOT / "plans" / "dev.json")]) == BAD_INPUT
    assert "of stack 'dev', this one of 'staging'" in capsys.readouterr().err


# -- exit statuses and --base -------------------------------------------------------------------


def test_no_changes_and_changes_have_their_own_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["staging", "--diff", str(ROOT / "plans" / "staging.json")]) == NO_CHANGES
    assert "staging: no changes" in capsys.readouterr().out
    document = _stack("staging")
    document["config"]["meteor-platform:apps"][0]["replicas"] = 3
    _project_copy(tmp_path)
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump(document))
    assert main(["staging", "--root", str(tmp_path), "--diff", str(ROOT / "plans" / "staging.json")]) == CHANGES


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args], cwd=repo, check=True, capture_output=True)


def test_base_diffs_against_a_git_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _project_copy(tmp_path)
    (tmp_path / "Pulumi.staging.yaml").write_text((ROOT / "Pulumi.staging.yaml").read_text())
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "base")
    document = _stack("staging")
    document["config"]["meteor-platform:apps"][0]["replicas"] = 3
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump(document))
    # The working tree's plan is regenerated with the change: --base still sees the base revision.
    assert main(["staging", "--root", str(tmp_path), "--json", str(tmp_path / "plans" / "staging.json")]) == NO_CHANGES
    capsys.readouterr()
    assert main(["staging", "--root", str(tmp_path), "--base", "HEAD"]) == CHANGES
    assert "~ spec.minReplicas: 2 => 3" in capsys.readouterr().out
    assert main(["staging", "--root", str(tmp_path), "--base", "no-such-branch"]) == BAD_INPUT
    assert "no such git revision" in capsys.readouterr().err


# -- input mistakes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "setup", "expected"),
    [
        (["stagin"], None, "no stack 'stagin' (no Pulumi.stagin.yaml in"),
        (["staging", "--diff", "{tmp}/plan.json"], "{", "not JSON (line 1, column 2"),
        (["staging", "--diff", "{tmp}/plan.json"], '{"stack": "staging"}', "not an offline plan"),
        (["staging", "--diff", "{tmp}/plan.json"], b"\xff\xfe", "cannot be read"),
        (["staging", "--diff", "{tmp}/missing.json"], None, "no such file"),
        (["staging", "--diff", "{tmp}"], None, "is a directory; expected a JSON plan"),
        (["staging", "--json", "{tmp}"], None, "--json {tmp}: is a directory"),
        (["staging", "--json", "{tmp}/plan.json/x.json"], "{}", "cannot be written"),
        (["staging", "dev", "--diff", "{tmp}/plan.json"], "{}", "--diff take one stack; 2 were given"),
        ([], None, "name a stack or give --all"),
    ],
)
def test_each_input_mistake_is_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], setup: str | bytes | None, expected: str
) -> None:
    if setup is not None:
        (tmp_path / "plan.json").write_bytes(setup.encode() if isinstance(setup, str) else setup)
    status = main([a.replace("{tmp}", str(tmp_path)) for a in args])
    err = capsys.readouterr().err
    assert status == BAD_INPUT
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert expected.replace("{tmp}", str(tmp_path)) in err
    assert "Traceback" not in err


def test_a_misspelled_namespace_and_a_yaml_error_name_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    text = (ROOT / "Pulumi.staging.yaml").read_text().replace("meteor-platform:apps:", "meteor-platfrom:apps:")
    (tmp_path / "Pulumi.staging.yaml").write_text(text)
    assert main(["staging", "--root", str(tmp_path)]) == BAD_INPUT
    assert "did you mean 'meteor-platform:apps'" in capsys.readouterr().err
    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  meteor-platform:environment: [dev\n")
    assert main(["broken", "--root", str(tmp_path)]) == BAD_INPUT
    assert capsys.readouterr().err.startswith("error: Pulumi.broken.yaml:3:")


def test_without_the_project_environment_the_command_says_how_to_get_it() -> None:
    # -S: no site-packages, as a system Python without the project's requirements.
    proc = subprocess.run([sys.executable, "-S", "-m", "offline_plan", "staging"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == BAD_INPUT
    assert proc.stderr.startswith("error: ") and "bash scripts/setup" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_json_dash_writes_the_plan_to_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["byoc", "--json", "-"]) == NO_CHANGES
    assert capsys.readouterr().out == (ROOT / "plans" / "byoc.json").read_text()


# -- no baseline: the plan as created, never "no changes" --------------------------------------------


def test_without_a_baseline_the_report_shows_the_plan_never_no_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The working tree deletes production's protected bucket: without a baseline nobody can see
    it, and the report must not read as if nothing changed."""
    document = _stack("production")
    document["config"]["meteor-platform:storage"] = {"provider": "gridfs"}
    _project_copy(tmp_path)
    (tmp_path / "Pulumi.production.yaml").write_text(yaml.safe_dump(document))
    root = ["production", "--root", str(tmp_path)]
    outputs: dict[tuple[str, ...], str] = {}
    for args in ([*root, "--markdown"], root, ["--all", "--markdown"], ["staging"]):
        assert main(args) == NO_CHANGES, "planned, policies passed: a status that claims no change is 3 or 4 with a baseline"
        out = outputs[tuple(args)] = capsys.readouterr().out
        assert "no changes" not in out.lower()
        assert "no baseline" in out.lower()
        assert "policies passed" in out
    body = outputs[(*root, "--markdown")]
    assert "| `production` (no baseline) | n/a | n/a | n/a | n/a | n/a | 0 |" in body, "the counts are not zeros"
    assert "**Planned: 57 resources, 2 protected, 2 retained on delete**; policies passed." in body
    assert "- `digitalocean:index/databaseCluster:DatabaseCluster` `meteor-mongo-cluster`: protected, retained on delete" in body
    assert "| `kubernetes:helm.sh/v3:Release` | 3 |" in body
    plain = outputs[("staging",)].splitlines()
    assert plain[0].startswith("staging: no baseline: this is the plan as created, not a diff")
    staging = _committed("staging")["resources"]
    retained = sum(1 for r in staging if r.get("retainOnDelete"))
    assert plain[1] == f"staging: {len(staging)} resources, 0 protected, {retained} retained on delete; policies passed"
    assert plain[2] == "staging: checks and alerts:", "then what watches it (tests/test_checks_and_alerts.py)"
    assert "`+`, as it would be created on an empty stack" in next(line for line in plain[3:] if line.startswith("staging: "))
    # With a baseline the same tree is the refused deletion it is.
    assert main([*root, "--diff", str(ROOT / "plans" / "production.json"), "--markdown"]) == PROTECTED_DATA
    assert "no baseline" not in capsys.readouterr().out


def test_without_a_baseline_a_policy_violation_still_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import offline_plan.policy_check as policy_check
    from policy.rules import Options, Resource, check

    def unprotect(resources: list[Resource], options: Options | None = None) -> list[Any]:
        # What a code change that dropped `protect` would produce, through the real rules.
        return check([Resource(r.type, r.name, r.urn, r.inputs, False, r.dependencies) for r in resources], options=options)

    monkeypatch.setattr(policy_check, "check", unprotect)
    assert main(["production", "--markdown"]) == POLICY_VIOLATION
    body = capsys.readouterr().out
    assert "| `production` (no baseline) | n/a | n/a | n/a | n/a | n/a | 3 |" in body
    assert "**3 policy violation(s)** (above)" in body and "No infrastructure changes" not in body
    assert main(["production"]) == POLICY_VIOLATION
    out = capsys.readouterr().out
    assert "production: 61 resources, 3 protected, 3 retained on delete; 3 policy violation(s)" in out
    assert "  ! stateful-protected-in-production: meteor-mongo-cluster:" in out


# -- the pull-request comment ---------------------------------------------------------------------


def test_the_comment_leads_with_counts_and_protected_hits(tmp_path: Path) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["meteor-platform:digitalocean"]["region"] = "ams3"

    changes = _changed(tmp_path, "production", edit)
    reports = [StackReport("production", changes), StackReport("staging", plan_changes(_committed("staging"), _committed("staging")))]
    body = comment(reports)
    head = body.split("### ")[0]
    assert "[!CAUTION]" in head and "`pulumi up` would refuse it" in head
    # 38 replacements: the Spaces CORS configuration (region) and both registry credentials (registry
    # name, which holds the replaced registry's id) replace upstream too (offline_plan/provider_facts.yaml);
    # the cluster watcher's 10 objects move with the cluster. 3 updates: the replaced database cluster's
    # monitor alerts follow its new id.
    assert "| `production` | 0 | 3 | 38 | 0 | **3** | 0 |" in head
    assert "| `staging` | 0 | 0 | 0 | 0 | 0 | 0 |" in head
    assert "No infrastructure changes in `staging`." in head and "### `staging`" not in body


def test_the_comment_fits_githubs_limit_with_a_note() -> None:
    plan = _committed("production")
    empty = {**plan, "resources": [], "outputs": {}}
    big = [StackReport(f"s{i}", plan_changes(empty, plan), tree="x\n" * 2000) for i in range(12)]
    body = comment(big)
    assert len(body) <= GITHUB_COMMENT_LIMIT
    assert "workflow artifact" in body.splitlines()[-1] or "workflow artifact" in body[-300:]
    small = comment(big[:1])
    assert "Trimmed" not in small and "Resource tree" in small
