"""Pure builders of how a public app is reached on Kubernetes: its Ingress, sticky sessions, upload limit, TLS."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.config import KubernetesAppConfig
from components.config.ingress import KubernetesIngressConfig
from components.units import nginx_size, whole_bytes


def ingress_spec(
    domain: str, ingress: KubernetesIngressConfig, *, service: pulumi.Input[str], tls_secret: str
) -> k8s.networking.v1.IngressSpecArgsDict:
    """The app's domain to its Service; TLS from cert-manager (into `tls_secret`) or an existing Secret."""
    tls: list[k8s.networking.v1.IngressTLSArgsDict] = []
    if ingress.tls == "certManager":
        tls = [{"hosts": [domain], "secret_name": tls_secret}]
    elif ingress.tls == "existingSecret" and ingress.tls_secret_name:
        tls = [{"hosts": [domain], "secret_name": ingress.tls_secret_name}]
    path: k8s.networking.v1.HTTPIngressPathArgsDict = {
        "path": "/",
        "path_type": "Prefix",
        "backend": {"service": {"name": service, "port": {"name": "http"}}},
    }
    return {"ingress_class_name": ingress.effective_class_name, "tls": tls, "rules": [{"host": domain, "http": {"paths": [path]}}]}


def certificate_secret_name(domain: str, component: str) -> str:
    """The Secret cert-manager writes the app's certificate into."""
    return f"{domain.split('.')[0]}-{component}-tls"


def sticky_service_annotations(ingress: KubernetesIngressConfig) -> dict[str, str]:
    """Traefik reads sticky-cookie settings from the Service; ingress-nginx from the Ingress."""
    if ingress.controller != "traefik":
        return {}
    cookie = "traefik.ingress.kubernetes.io/service.sticky.cookie"
    return {
        cookie: "true",
        f"{cookie}.name": ingress.session_cookie,
        f"{cookie}.secure": str(ingress.serves_tls).lower(),
        f"{cookie}.httponly": "true",
        f"{cookie}.samesite": "lax",
    }


def body_limit_name(app: KubernetesAppConfig) -> str:
    """The app's Buffering Middleware (Traefik with `ingress.maxBodySize` set), in the app's namespace."""
    return f"{app.name}-body-limit"


def body_limit_spec(ingress: KubernetesIngressConfig) -> dict[str, Any] | None:
    """Traefik has no body limit of its own: the Buffering middleware answers 413 above
    `maxRequestBodyBytes` (doc.traefik.io, middlewares/http/buffering; the CRD schema in the chart's
    crds/traefik.io_middlewares.yaml). It also holds each response until it is complete, which the
    CRD cannot turn off (traefik/traefik#12869): so only when `ingress.maxBodySize` is set. None
    on ingress-nginx (an annotation) and when unset."""
    limit = ingress.body_limit
    if ingress.controller != "traefik" or limit is None:
        return None
    return {"buffering": {"maxRequestBodyBytes": whole_bytes(limit)}}


def ingress_annotations(ingress: KubernetesIngressConfig, app: KubernetesAppConfig) -> dict[str, str]:
    """Sticky sessions, websocket-length timeouts, upload size and TLS, as the controller reads them."""
    limit = ingress.body_limit
    if ingress.controller == "nginx":
        prefix = "nginx.ingress.kubernetes.io"
        timeout = str(ingress.idle_timeout_seconds)
        annotations = {
            f"{prefix}/affinity": "cookie",
            f"{prefix}/affinity-mode": "persistent",
            f"{prefix}/session-cookie-name": ingress.session_cookie,
            f"{prefix}/session-cookie-secure": str(ingress.serves_tls).lower(),
            f"{prefix}/session-cookie-samesite": "Lax",
            f"{prefix}/proxy-read-timeout": timeout,
            f"{prefix}/proxy-send-timeout": timeout,
            f"{prefix}/ssl-redirect": str(ingress.serves_tls).lower(),
        }
        if limit is not None:  # always on ingress-nginx (KubernetesIngressConfig.body_limit)
            annotations[f"{prefix}/proxy-body-size"] = nginx_size(limit)
    else:
        annotations = {
            "traefik.ingress.kubernetes.io/router.entrypoints": "websecure" if ingress.serves_tls else "web",
            "traefik.ingress.kubernetes.io/router.tls": str(ingress.serves_tls).lower(),
        }
        if body_limit_spec(ingress) is not None:
            # A CRD middleware is `<namespace>-<name>@kubernetescrd` to the Ingress provider (doc.traefik.io,
            # reference/routing-configuration/kubernetes/ingress, "Referencing resources in annotations":
            # `namespace_name` only with `safeNaming`, which chart 41.3.0 leaves off, as it leaves the CRD provider on).
            annotations["traefik.ingress.kubernetes.io/router.middlewares"] = f"{app.k8s_namespace}-{body_limit_name(app)}@kubernetescrd"
    if ingress.tls == "certManager":
        annotations["cert-manager.io/cluster-issuer"] = ingress.cluster_issuer
    return annotations
