"""`ingress`: how apps with a domain are exposed (TLS, sticky sessions, timeouts), per target."""

from typing import Literal

from pydantic import Field

from components.config.errors import Problems
from components.config.values import BodySize, CookieName, DnsLabel, DnsSubdomain, Model

_IDLE = "Proxy read/idle timeout for long-lived websockets and long polls."
NGINX_BODY_LIMIT = "50Mi"
_COOKIE = "Name of the sticky-session cookie set by the load balancer: letters, digits, `-` and `_`, at most 64 characters."


class KubernetesIngressConfig(Model):
    """An ingress controller in the cluster."""

    controller: Literal["traefik", "nginx"] = Field(
        default="traefik", description="Ingress controller in the cluster: `traefik` or `nginx` (ingress-nginx)."
    )
    class_name: DnsSubdomain | None = Field(
        default=None, description="IngressClass name (a Kubernetes name); defaults to the controller name."
    )
    namespace: DnsLabel | None = Field(
        default=None,
        description="Namespace the controller runs in (admitted by the apps' NetworkPolicies); default `traefik` or `ingress-nginx`.",
    )
    tls: Literal["certManager", "existingSecret", "off"] = Field(
        default="certManager", description="`certManager` (a cert-manager ClusterIssuer), `existingSecret` or `off` (plain HTTP)."
    )
    cluster_issuer: DnsSubdomain = Field(
        default="letsencrypt-prod", description="cert-manager ClusterIssuer (a Kubernetes name) when tls is `certManager`."
    )
    acme_email: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="Let's Encrypt account email of the ClusterIssuer the platform installs (kubernetes.addons.certManager).",
    )
    tls_secret_name: DnsSubdomain | None = Field(
        default=None, description="TLS Secret (a Kubernetes name) in each app namespace when tls is `existingSecret`."
    )
    idle_timeout_seconds: int = Field(default=3600, ge=60, le=86400, description=_IDLE)
    max_body_size: BodySize | None = Field(
        default=None,
        description=(
            "Largest request body (uploads) the proxy accepts: whole bytes, Ki, Mi or Gi (1Ki to 64Gi). "
            "ingress-nginx: 50Mi unless set. Traefik: no limit unless set, because its limit buffers every "
            "request and response whole (memory, then disk): see the README, Kubernetes edge."
        ),
    )
    session_cookie: CookieName = Field(default="meteor-affinity", description=_COOKIE)

    @property
    def serves_tls(self) -> bool:
        """Whether apps with a domain are served over HTTPS (the one place that decides the public scheme)."""
        return self.tls != "off"

    @property
    def body_limit(self) -> str | None:
        """The request-body limit the edge enforces (the one place that decides it): ingress-nginx
        always has one (50Mi unless set); Traefik only when set, as its Buffering middleware also
        holds every response whole."""
        if self.controller == "nginx":
            return self.max_body_size or NGINX_BODY_LIMIT
        return self.max_body_size

    @property
    def effective_class_name(self) -> str:
        return self.class_name or self.controller

    @property
    def effective_namespace(self) -> str:
        return self.namespace or ("traefik" if self.controller == "traefik" else "ingress-nginx")

    def own_problems(self, problems: Problems) -> None:
        if self.tls == "existingSecret" and not self.tls_secret_name:
            problems.missing(["tlsSecretName"], "expected a Secret name because ingress.tls is 'existingSecret'")
        if self.tls != "existingSecret" and self.tls_secret_name:
            problems.bad(["tlsSecretName"], self.tls_secret_name, "expected it unset unless ingress.tls is 'existingSecret'")


class DockerIngressConfig(Model):
    """Traefik on each Docker host."""

    tls: Literal["certManager", "off"] = Field(
        default="certManager",
        description="`certManager` (Let's Encrypt through Traefik, HTTP-01: needs `docker.httpPort` 80) or `off` (plain HTTP, dev only).",
    )
    idle_timeout_seconds: int = Field(default=3600, ge=60, le=86400, description=_IDLE)
    session_cookie: CookieName = Field(default="meteor-affinity", description=_COOKIE)

    @property
    def serves_tls(self) -> bool:
        """Whether apps with a domain are served over HTTPS (the one place that decides the public scheme)."""
        return self.tls != "off"
