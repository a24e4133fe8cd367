"""MeteorApp on Kubernetes: resource inputs and the wiring between apps, MongoDB and storage."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.harness import DIGEST, Run, base_config, env_of, run_config

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SECRET = "kubernetes:core/v1:Secret"
SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def two_apps(**todos: Any) -> dict[str, Any]:
    config = base_config()
    config["apps"][0].update(todos)
    config["apps"].append({"name": "legacy", "image": f"meteorhacks/meteord@{DIGEST}", "flavor": "meteord", "replicas": 3})
    return config


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    config = two_apps(
        connectsTo=["legacy"],
        autoscaling={"maxReplicas": 8},
        settings={"public": {"feature": True}},
    )
    return run_config(tmp_path_factory.mktemp("apps"), config)


# meteorhacks:cluster runs only on Meteor before 3.0 against a MongoDB before 5.1: an external one.
EXTERNAL_MONGO = {"provider": "external", "url": {"secure": "v1:bm90LWRlY3J5cHRlZA=="}}


@pytest.fixture(scope="module")
def clustered(tmp_path_factory: pytest.TempPathFactory) -> Run:
    config = two_apps(meteorRelease="2.16", cluster={"enabled": True, "workers": 2, "publicServices": ["todos"]})
    config["mongo"] = EXTERNAL_MONGO
    return run_config(tmp_path_factory.mktemp("clustered"), config)


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]


def test_port_is_explicit_and_matches_the_container_port(run: Run) -> None:
    for name, port in (("todos", 3000), ("legacy", 80)):
        c = container(run.one(DEPLOYMENT, f"{name}-deployment"))
        assert c["ports"][0]["containerPort"] == port
        assert env_of(run.one(DEPLOYMENT, f"{name}-deployment"))["PORT"]["value"] == str(port)


def test_rollout_never_drops_capacity_and_drains_before_kill(run: Run) -> None:
    spec = run.one(DEPLOYMENT, "todos-deployment")["inputs"]["spec"]
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = spec["template"]["spec"]
    c = pod["containers"][0]
    assert c["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "10"]
    assert pod["terminationGracePeriodSeconds"] > 10
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/", "port": "http"}
    assert c["resources"]["requests"] and c["resources"]["limits"]
    assert pod["automountServiceAccountToken"] is False
    keys = {t["topologyKey"] for t in pod["topologySpreadConstraints"]}
    assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}


def test_security_context_as_tight_as_the_image_allows(run: Run) -> None:
    todos = run.one(DEPLOYMENT, "todos-deployment")["inputs"]["spec"]["template"]["spec"]
    assert todos["securityContext"]["runAsNonRoot"] is True
    assert todos["securityContext"]["runAsUser"] == 1000
    assert todos["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = todos["containers"][0]["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    legacy = run.one(DEPLOYMENT, "legacy-deployment")["inputs"]["spec"]["template"]["spec"]
    assert "runAsNonRoot" not in legacy["securityContext"]  # meteorhacks/meteord runs as root
    assert legacy["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}


def test_secrets_only_through_secret_key_ref(run: Run) -> None:
    env = env_of(run.one(DEPLOYMENT, "todos-deployment"))
    secret = run.one(SECRET, "todos-env")
    for name in ("MONGO_URL", "MONGO_OPLOG_URL"):
        assert "value" not in env[name]
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": secret["objectName"], "key": name}
    assert set(secret["inputs"]["stringData"]) >= {"MONGO_URL", "MONGO_OPLOG_URL"}
    assert all(v == "[secret]" for v in secret["inputs"]["stringData"].values())


def test_root_url_settings_and_forwarding(run: Run) -> None:
    env = env_of(run.one(DEPLOYMENT, "todos-deployment"))
    assert env["ROOT_URL"]["value"] == "https://todos.example.com"
    assert env["HTTP_FORWARDED_COUNT"]["value"] == "1", "the ingress controller is the one proxy"
    settings = json.loads(env["METEOR_SETTINGS"]["value"])
    assert settings == {"public": {"feature": True}, "storage": {"backend": "gridfs", "gridfsBucket": "uploads"}}


def test_behind_an_http_load_balancer_an_existing_cluster_counts_two_proxies(tmp_path: Path) -> None:
    config = two_apps()
    config["kubernetes"] = {"provider": "existing", "frontProxies": 1}
    config["apps"][1]["httpForwardedCount"] = 3  # an app's own count wins over the topology's
    run = run_config(tmp_path, config)
    assert env_of(run.one(DEPLOYMENT, "todos-deployment"))["HTTP_FORWARDED_COUNT"]["value"] == "2"
    assert env_of(run.one(DEPLOYMENT, "legacy-deployment"))["HTTP_FORWARDED_COUNT"]["value"] == "3"


def test_private_settings_go_into_the_secret(tmp_path: Path) -> None:
    run = run_config(tmp_path, two_apps(settings={"stripeKey": "sk_live_abc", "public": {}}))
    env = env_of(run.one(DEPLOYMENT, "todos-deployment"))
    assert "secretKeyRef" in env["METEOR_SETTINGS"]["valueFrom"]
    assert "sk_live_abc" not in json.dumps(run.plan)
    stored = run.state(run.one(SECRET, "todos-env"))["stringData"]["METEOR_SETTINGS"]
    assert json.loads(stored)["stripeKey"] == "sk_live_abc"


def test_an_app_reaches_the_apps_it_declares_by_internal_dns(run: Run) -> None:
    todos = env_of(run.one(DEPLOYMENT, "todos-deployment"))
    legacy = env_of(run.one(DEPLOYMENT, "legacy-deployment"))
    assert todos["LEGACY_DDP_URL"]["value"] == "http://legacy.legacy.svc:80", "todos declares connectsTo: [legacy]"
    assert not [name for name in legacy if name.endswith("_DDP_URL")], "legacy declares nothing: no sibling wiring"


def test_meteorhacks_cluster_wiring(clustered: Run) -> None:
    run = clustered
    env = env_of(run.one(DEPLOYMENT, "todos-deployment"))
    assert env["CLUSTER_SERVICE"]["value"] == "todos"
    assert env["CLUSTER_ENDPOINT_URL"]["value"] == "http://$(POD_IP):3000"
    assert env["CLUSTER_WORKERS_COUNT"]["value"] == "2"
    assert env["CLUSTER_PUBLIC_SERVICES"]["value"] == "todos"
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert "value" not in env["CLUSTER_DISCOVERY_URL"] and "secretKeyRef" in env["CLUSTER_DISCOVERY_URL"]["valueFrom"]
    assert "CLUSTER_SERVICE" not in env_of(run.one(DEPLOYMENT, "legacy-deployment"))


def test_meteorhacks_cluster_forks_no_workers_unless_asked(tmp_path: Path) -> None:
    # meteorhacks:cluster reads an unset CLUSTER_WORKERS_COUNT as 0 workers; each worker is a second
    # full Meteor process inside the same memory limit.
    config = two_apps(meteorRelease="2.16", cluster={"enabled": True})
    config["mongo"] = EXTERNAL_MONGO
    env = env_of(run_config(tmp_path, config).one(DEPLOYMENT, "todos-deployment"))
    assert env["CLUSTER_SERVICE"]["value"] == "todos"
    assert "CLUSTER_WORKERS_COUNT" not in env


def test_autoscaling_owns_replicas(run: Run) -> None:
    assert "replicas" not in run.one(DEPLOYMENT, "todos-deployment")["inputs"]["spec"]
    hpa = run.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "todos-autoscaler")["inputs"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 8)
    assert run.one(DEPLOYMENT, "legacy-deployment")["inputs"]["spec"]["replicas"] == 3
    assert not [r for r in run.resources("kubernetes:autoscaling/v2:HorizontalPodAutoscaler") if r["name"] == "legacy-autoscaler"]


def test_traefik_sticky_sessions_and_tls(run: Run) -> None:
    service = run.one(SERVICE, "todos-service")["inputs"]["metadata"]["annotations"]
    assert service["traefik.ingress.kubernetes.io/service.sticky.cookie"] == "true"
    assert service["traefik.ingress.kubernetes.io/service.sticky.cookie.secure"] == "true"
    ingress = run.one(INGRESS, "todos-ingress")["inputs"]
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert ingress["spec"]["tls"][0]["hosts"] == ["todos.example.com"]
    # Internal-only apps get no Ingress.
    assert [r["name"] for r in run.resources(INGRESS)] == ["todos-ingress"]


MIDDLEWARE = "kubernetes:traefik.io/v1alpha1:Middleware"


def test_traefik_buffers_nothing_unless_a_body_limit_is_set(run: Run) -> None:
    assert run.resources(MIDDLEWARE) == [], "Buffering holds every response whole: not by default"
    annotations = run.one(INGRESS, "todos-ingress")["inputs"]["metadata"]["annotations"]
    assert "traefik.ingress.kubernetes.io/router.middlewares" not in annotations


def test_a_set_body_limit_is_each_public_apps_own_buffering_middleware(tmp_path: Path) -> None:
    config = two_apps()
    config["ingress"] = {"maxBodySize": "2Gi"}
    config["kubernetes"] = {"provider": "existing", "addons": {"ingressController": True}}
    run = run_config(tmp_path, config)
    [middleware] = run.resources(MIDDLEWARE)  # legacy has no domain: no router, no middleware
    assert middleware["inputs"]["metadata"]["name"] == "todos-body-limit"
    assert middleware["inputs"]["metadata"]["namespace"] == "todos"
    assert middleware["inputs"]["spec"] == {"buffering": {"maxRequestBodyBytes": 2 * 1024**3}}
    ingress = run.one(INGRESS, "todos-ingress")
    assert ingress["inputs"]["metadata"]["annotations"]["traefik.ingress.kubernetes.io/router.middlewares"] == (
        "todos-todos-body-limit@kubernetescrd"
    ), "<namespace>-<name>@kubernetescrd"
    assert middleware["urn"] in ingress["dependencies"], "the router never runs without its limit"
    [traefik] = [r for r in run.resources("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "traefik"]
    assert traefik["urn"] in middleware["dependencies"], "the Traefik release installs the Middleware CRD"


def test_nginx_cookie_affinity_and_websocket_timeouts(tmp_path: Path) -> None:
    config = two_apps()
    config["ingress"] = {"controller": "nginx", "idleTimeoutSeconds": 7200}
    run = run_config(tmp_path, config)
    annotations = run.one(INGRESS, "todos-ingress")["inputs"]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert annotations["nginx.ingress.kubernetes.io/affinity-mode"] == "persistent"
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "7200"
    assert annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"] == "7200"
    assert run.one(INGRESS, "todos-ingress")["inputs"]["spec"]["ingressClassName"] == "nginx"


def test_network_policy_admits_only_ingress_and_siblings(run: Run) -> None:
    spec = run.one(POLICY, "todos-network-policy")["inputs"]["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    sources = [peer for rule in spec["ingress"] for peer in rule["from"]]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}} in sources
    assert all(rule["ports"] == [{"port": 3000, "protocol": "TCP"}] for rule in spec["ingress"])
    destinations = {json.dumps(peer, sort_keys=True) for rule in spec["egress"] for peer in rule.get("to", [])}
    assert any("kube-dns" in d for d in destinations)
    assert any('"meteor-mongo"' in d for d in destinations)
    legacy_pods = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "legacy"}},
        "podSelector": {
            "matchLabels": {"app.kubernetes.io/name": "legacy", "meteor-platform/role": "app", "meteor-platform/stack": "test"}
        },
    }
    to_legacy = [rule for rule in spec["egress"] if rule.get("to") == [legacy_pods]]
    assert [rule["ports"] for rule in to_legacy] == [[{"port": 80, "protocol": "TCP"}]]  # legacy listens on 80: only it
    assert not any("0.0.0.0/0" in d for d in destinations)  # no mail, no external store: no open egress
    legacy = run.one(POLICY, "legacy-network-policy")["inputs"]["spec"]
    [callers] = legacy["ingress"]  # no domain: only the apps that declared they call it
    assert callers["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "todos"}},
            "podSelector": {
                "matchLabels": {"app.kubernetes.io/name": "todos", "meteor-platform/role": "app", "meteor-platform/stack": "test"}
            },
        }
    ]
    assert not [rule for rule in legacy["egress"] if "todos" in json.dumps(rule)], "legacy declares nothing: no egress to todos"


def test_pdb_per_app(run: Run) -> None:
    for name in ("todos", "legacy"):
        pdb = run.one("kubernetes:policy/v1:PodDisruptionBudget", f"{name}-pdb")["inputs"]["spec"]
        assert pdb["maxUnavailable"] == 1
        assert pdb["selector"]["matchLabels"]["app.kubernetes.io/name"] == name


def test_every_kubernetes_resource_uses_the_explicit_provider(run: Run) -> None:
    provider = run.one("pulumi:providers:kubernetes", "meteor-cluster-provider")["urn"]
    kube = [r for r in run.plan["resources"] if r["type"].startswith("kubernetes:")]
    assert kube and all(r["provider"] == provider for r in kube)


def test_app_waits_for_its_database_user(run: Run) -> None:
    job = run.one("kubernetes:batch/v1:Job", "meteor-mongo-init")["urn"]
    assert job in run.one(DEPLOYMENT, "todos-deployment")["dependencies"]


def test_a_migration_job_keeps_tini_as_pid_1_in_the_platforms_image(tmp_path: Path) -> None:
    # dockerfiles/meteor: ENTRYPOINT ["/usr/bin/tini", "--"]; a container `command` would replace it, `args` replace CMD.
    from components.app.one_off import ZODERN_ONE_OFF
    from tests.harness import shipped

    [migrate] = shipped("staging").one("kubernetes:batch/v1:Job", "todos-migrate")["inputs"]["spec"]["template"]["spec"]["containers"]
    assert migrate["args"] == ["node", "main.js", "--migrate-only"] and "command" not in migrate
    # zodern/meteor's ENTRYPOINT (a shell script that ignores arguments) is replaced by the same
    # preparation its start.sh does (the app's directory and Node), then the command.
    config = base_config()
    config["apps"][0].update(flavor="zodern", migrate={"command": ["node", "migrate.js"]})
    job = run_config(tmp_path, config).one("kubernetes:batch/v1:Job", "todos-migrate")
    [other] = job["inputs"]["spec"]["template"]["spec"]["containers"]
    assert other["command"] == ["bash", "-c", ZODERN_ONE_OFF, "one-off"] and other["args"] == ["node", "migrate.js"]


def _docker_migration(tmp_path: Path, flavor: str) -> dict[str, Any]:
    import yaml

    from tests.harness import ROOT

    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    config = {key.split(":", 1)[1]: value for key, value in dev.items()}
    config["apps"][0].update(flavor=flavor, migrate={"command": ["node", "main.js", "--migrate-only"]})
    run = run_config(tmp_path, config, stack="dev")
    [migrate] = [c for c in run.resources("docker:index/container:Container") if c["name"].endswith("todos-migrate")]
    return migrate["inputs"]


def test_a_docker_hosts_migration_is_prepared_as_the_image_prepares_its_app(tmp_path: Path) -> None:
    # pulumi_docker Container: `command` is the container's Cmd, `entrypoints` its Entrypoint.
    from components.app.one_off import METEORD_ONE_OFF, ZODERN_ONE_OFF

    # The platform's image: tini is the ENTRYPOINT and runs the command (droplets runs the staging build).
    from tests.harness import shipped

    droplets = shipped("droplets")
    [own] = [c for c in droplets.resources("docker:index/container:Container") if c["name"].endswith("todos-migrate")]
    assert own["inputs"]["command"] == ["node", "main.js", "--migrate-only"] and "entrypoints" not in own["inputs"]
    assert not own["inputs"].get("init"), "tini is already PID 1"
    for flavor, script in (("zodern", ZODERN_ONE_OFF), ("meteord", METEORD_ONE_OFF)):
        (tmp_path / flavor).mkdir()
        inputs = _docker_migration(tmp_path / flavor, flavor)
        assert inputs["entrypoints"] == ["bash", "-c", script, "one-off"], flavor
        assert inputs["command"] == ["node", "main.js", "--migrate-only"] and inputs["init"] is True, flavor
    (tmp_path / "custom").mkdir()
    custom = _docker_migration(tmp_path / "custom", "custom")
    assert custom["entrypoints"] == ["node", "main.js", "--migrate-only"] and "command" not in custom


def _one_off_in(tmp_path: Path, script: str, *, app: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a flavour's one-off wrapper with the image's absolute paths moved under tmp_path/root.

    `app`: `built_app` (a prebuilt app), `bundle` (a /bundle/bundle.tar.gz to unpack) or `none`.
    A fake `npm` records its arguments; setup_nvm.sh exports the Node it chose and prints chatter.
    """
    import re
    import tarfile

    root = tmp_path / "root"
    (root / "home/app/scripts").mkdir(parents=True)
    (root / "home/app/scripts/setup_nvm.sh").write_text("echo nvm chatter\nexport CHOSEN_NODE=from-bundle\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(f'#!/bin/sh\necho "npm $*"\necho "npm $* in $(pwd)" >> {tmp_path}/npm.log\n')
    (bin_dir / "npm").chmod(0o755)
    if app == "built_app":
        (root / "built_app").mkdir()
    if app == "bundle":
        source = tmp_path / "src" / "bundle" / "programs" / "server"
        source.mkdir(parents=True)
        (root / "bundle").mkdir()
        with tarfile.open(root / "bundle" / "bundle.tar.gz", "w:gz") as archive:
            archive.add(tmp_path / "src" / "bundle", arcname="bundle")
    moved = re.sub(r"(?<![\w/.])/(home/app/|built_app|bundle)", lambda m: f"{root}/{m.group(1)}", script)
    probe = 'echo "$(pwd) ${CHOSEN_NODE:-none} $*"'
    return subprocess.run(
        ["bash", "-c", moved, "one-off", "sh", "-c", probe, "probe", "main.js"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", **(env or {})},
    )


def test_the_one_off_wrappers_run_the_command_in_the_app_with_its_node(tmp_path: Path) -> None:
    from components.app.one_off import METEORD_ONE_OFF, ZODERN_ONE_OFF

    zodern = _one_off_in(tmp_path / "z", ZODERN_ONE_OFF, app="built_app")
    assert zodern.returncode == 0 and zodern.stdout == f"{tmp_path / 'z' / 'root' / 'built_app'} from-bundle main.js\n", zodern
    meteord = _one_off_in(tmp_path / "m", METEORD_ONE_OFF, app="built_app")
    assert meteord.returncode == 0 and meteord.stdout == f"{tmp_path / 'm' / 'root' / 'built_app'} none main.js\n", meteord
    nothing = _one_off_in(tmp_path / "n", METEORD_ONE_OFF, app="none")
    assert nothing.returncode == 1 and "no Meteor app in this image" in nothing.stderr and not nothing.stdout


def test_the_zodern_wrapper_unpacks_a_bundle_as_start_sh_does(tmp_path: Path) -> None:
    # zodern/meteor-docker image/scripts/start.sh: unpack /bundle/bundle.tar.gz, pick the Node, npm install in programs/server.
    from components.app.one_off import ZODERN_ONE_OFF

    run = _one_off_in(tmp_path, ZODERN_ONE_OFF, app="bundle", env={"NPM_INSTALL_OPTIONS": "--production"})
    bundle = tmp_path / "root" / "bundle" / "bundle"
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"{bundle} from-bundle main.js\n", "only the command's output on stdout"
    assert (tmp_path / "npm.log").read_text() == f"npm install --production in {bundle / 'programs' / 'server'}\n"


def test_the_meteord_wrapper_rebuilds_native_modules_when_asked(tmp_path: Path) -> None:
    # meteorhacks/meteord base/scripts/run_app.sh: REBUILD_NPM_MODULES needs the bin-build image's script.
    from components.app.one_off import METEORD_ONE_OFF

    run = _one_off_in(tmp_path, METEORD_ONE_OFF, app="built_app", env={"REBUILD_NPM_MODULES": "1"})
    assert run.returncode == 1 and "meteorhacks/meteord:bin-build" in run.stderr and not run.stdout


def test_the_platforms_dockerfile_is_built_only_as_the_meteor_flavour(tmp_path: Path) -> None:
    from components.config import ConfigError, parse_config

    config = {
        "environment": "staging",
        "registry": {"provider": "digitalocean", "name": "acme"},
        "apps": [{"name": "todos", "build": {"context": "examples/todos"}, "flavor": "zodern"}],
    }
    with pytest.raises(ConfigError, match=r"meteor-platform:apps\[0\]\.flavor: got 'zodern'; expected 'meteor'"):
        parse_config(config, set(), project_dir=Path(__file__).resolve().parents[1])
