"""Where a service listens, in terms every app target can turn into its own rules.

Kubernetes turns an endpoint into a NetworkPolicy egress rule (a pod selector in a namespace,
or an address block); Docker hosts reach services by name on the host's private network.
Shared contracts (`MongoConnection`, `StorageWiring`) carry endpoints, never target types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class Pods:
    """Workloads inside the cluster: the namespace they run in and the labels they carry."""

    namespace: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class Endpoint:
    """One TCP service an app connects to."""

    port: int
    hosts: tuple[str, ...] = field(default=())
    """Names the service answers on (member DNS names, a Docker network alias); informational."""
    cidr: str | None = None
    """The address block the service lives in, when it is outside the cluster (`0.0.0.0/0`: unknown)."""
    pods: Pods | None = None
    """The pods that serve it, when it runs in the same cluster."""


POD_IDENTITY_AGENT = Endpoint(port=80, hosts=("169.254.170.23",), cidr="169.254.170.23/32")
"""Where pods on EKS get their role's credentials: the EKS Pod Identity agent, a DaemonSet on every node
(awsdocs/amazon-eks-user-guide, latest/ug/manage-access/aws-access/service-accounts.adoc, "EKS Pod Identity
considerations": it "uses the hostNetwork of the node and it uses port 80 and port 2703 on a link-local
address on the node. This address is 169.254.170.23 for IPv4"; EKS adds
AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials to the pod, "How EKS Pod Identity
Agent works with a Pod": pods are sent to port 80 only). Once the VPC CNI enforces NetworkPolicy, a pod whose policy restricts egress reaches it only
through a rule like this one: an ipBlock to the address (aws/aws-network-policy-agent#120: a /32 rule to the
link-local metadata address is honoured). IPv4 only: the cluster is IPv4, so its pods have no IPv6 address
to reach the agent's [fd00:ec2::23] from, and the VPC CNI ignores IPv6 rules in an IPv4 cluster
(eks-networking-add-ons.adoc, "Network policies only apply either IPv4 or IPv6 addresses")."""
