"""DigitalOcean managed MongoDB behind the MongoDatabase contract.

Private network only: the apps connect to the private host inside the VPC, and the database
firewall admits this DOKS cluster (and the Docker hosts' tag when there are any) and nothing
else. One database and one user per app; TLS is always on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

import pulumi
import pulumi_digitalocean as do

from components.endpoints import Endpoint
from components.mongo import MONGO_PORT, MongoAppUser, MongoConnection, MongoDatabase
from components.protection import stateful


@dataclass(frozen=True)
class DigitalOceanMongoArgs:
    name: str
    """Database cluster name; DigitalOcean names the replica set after it."""
    region: str
    vpc_id: pulumi.Input[str]
    vpc_ip_range: str
    """The VPC range the database listens in (the apps' network rules admit it)."""
    users: list[MongoAppUser]
    kubernetes_cluster_id: pulumi.Input[str] | None
    """The DOKS cluster the database firewall admits (None when apps run on Docker hosts)."""
    version: str = "7"
    size: str = "db-s-1vcpu-2gb"
    nodes: int = 1
    droplet_tags: list[str] = field(default_factory=lambda: [])
    """Droplet tags the firewall also admits (Docker hosts)."""
    protect: bool = False


class DigitalOceanMongo(pulumi.ComponentResource):
    cluster: do.DatabaseCluster
    firewall: do.DatabaseFirewall
    users: dict[str, do.DatabaseUser]

    def __init__(self, name: str, args: DigitalOceanMongoArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:mongo:DigitalOceanMongo", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._args = args
        self.cluster = do.DatabaseCluster(
            f"{name}-cluster",
            name=args.name,
            engine="mongodb",
            version=args.version,
            size=args.size,
            region=args.region,
            node_count=args.nodes,
            private_network_uuid=args.vpc_id,
            maintenance_windows=[{"day": "sunday", "hour": "02:00:00"}],
            opts=pulumi.ResourceOptions.merge(child, stateful(args.protect)),
        )
        rules: list[do.DatabaseFirewallRuleArgsDict] = []
        if args.kubernetes_cluster_id is not None:
            rules.append({"type": "k8s", "value": args.kubernetes_cluster_id})
        for tag in args.droplet_tags:
            rules.append({"type": "tag", "value": tag})
        self.firewall = do.DatabaseFirewall(f"{name}-firewall", cluster_id=self.cluster.id, rules=rules, opts=child)
        self.users = {}
        for user in args.users:
            db = do.DatabaseDb(f"{name}-{user.app}-db", cluster_id=self.cluster.id, name=user.database, opts=child)
            self.users[user.app] = do.DatabaseUser(
                f"{name}-{user.app}-user",
                cluster_id=self.cluster.id,
                name=user.app,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[db]),
            )
        self.register_outputs({"private_host": self.cluster.private_host})

    def connection(self, app: str) -> MongoConnection:
        user = next(u for u in self._args.users if u.app == app)
        db_user = self.users[app]
        url = pulumi.Output.secret(
            pulumi.Output.all(db_user.password, self.cluster.private_host).apply(
                lambda parts: (
                    f"mongodb+srv://{quote(app, safe='')}:{quote(parts[0], safe='')}@{parts[1]}/{user.database}"
                    f"?tls=true&authSource=admin&replicaSet={self._args.name}"
                )
            )
        )
        endpoint = Endpoint(port=MONGO_PORT, cidr=self._args.vpc_ip_range)
        # DigitalOcean does not give database users read access to the oplog: Meteor 3.5+ uses change
        # streams and polls the cursors they cannot serve, earlier releases poll (components/app/
        # reactivity.py says which in the plan).
        return MongoConnection(
            url=url,
            oplog_url=None,
            endpoints=[endpoint],
            ready=[self.firewall, db_user],
            no_oplog_because="DigitalOcean managed MongoDB gives no oplog access",
        )


class PerAppMongo:
    """Apps with a database cluster of their own (isolation), the others on a shared one."""

    def __init__(self, shared: MongoDatabase | None, isolated: Mapping[str, MongoDatabase]) -> None:
        self._shared = shared
        self._isolated = isolated

    @property
    def databases(self) -> dict[str, MongoDatabase]:
        """Each cluster by what it serves: `""` the shared one, else the isolated app's name."""
        return {**({"": self._shared} if self._shared is not None else {}), **self._isolated}

    def connection(self, app: str) -> MongoConnection:
        database = self._isolated.get(app) or self._shared
        if database is None:  # every app has its own cluster and this one is not an app of the stack
            raise KeyError(app)
        return database.connection(app)
