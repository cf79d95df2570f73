"""NetworkPolicies: every pod of the release denied by default, each service
reachable only by its callers, egress only to what each service uses.

The rendered policies are evaluated with Kubernetes' semantics (network_model.py)
over a small world of pods: the release's own, the ingress controller, Prometheus,
the dependencies, a stranger in the same namespace, another release, the internet.
"""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest
from helm_chart import GRPC_COMPONENTS, NAMESPACE, PRODUCTION, RELEASE, SCENARIOS, of_kind, pod_specs, render
from network_model import Endpoint, allowed

# Who calls whom, stated here independently of the chart's table.
CALLERS = {
    "agents": {"gateway", "memory", "scheduler"},
    "memory": {"gateway", "agents"},
    "inference": {"gateway", "agents"},
    "scheduler": {"gateway"},
}
DEPENDENCIES = {
    "gateway": {"postgresql", "nats", "temporal", "kube-dns"},
    "agents": {"postgresql", "nats", "kube-dns"},
    "memory": {"postgresql", "qdrant", "kube-dns"},
    "inference": {"kube-dns", "model-hub"},
    "scheduler": {"postgresql", "temporal", "kube-dns"},
    "test": {"kube-dns"},
}
SERVING = {"gateway": 8000, **GRPC_COMPONENTS}
METRICS = 9464

OUTSIDERS = [
    Endpoint("ingress-nginx", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}, "10.2.0.1"),
    Endpoint("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"}, "10.3.0.1"),
    Endpoint("stranger", NAMESPACE, {"app": "curious"}, "10.1.9.9"),
    Endpoint(
        "other-release",
        NAMESPACE,
        {
            "app.kubernetes.io/name": "agentmesh",
            "app.kubernetes.io/instance": "other",
            "app.kubernetes.io/component": "gateway",
        },
        "10.1.9.8",
    ),
]
# Each dependency as (pod, port, protocol).
DEPENDENCY_PODS = {
    "postgresql": (
        Endpoint("postgresql", NAMESPACE, {"app.kubernetes.io/name": "postgresql"}, "10.1.8.1"),
        5432,
        "TCP",
    ),
    "nats": (Endpoint("nats", NAMESPACE, {"app.kubernetes.io/name": "nats"}, "10.1.8.2"), 4222, "TCP"),
    "temporal": (
        Endpoint(
            "temporal",
            NAMESPACE,
            {"app.kubernetes.io/name": "temporal", "app.kubernetes.io/component": "frontend"},
            "10.1.8.3",
        ),
        7233,
        "TCP",
    ),
    "qdrant": (Endpoint("qdrant", NAMESPACE, {"app.kubernetes.io/name": "qdrant"}, "10.1.8.4"), 6333, "TCP"),
    "kube-dns": (Endpoint("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, "10.96.0.10"), 53, "UDP"),
    "model-hub": (Endpoint("model-hub", "internet", {}, "18.164.0.1"), 443, "TCP"),
}


def release_pods(objects: list[dict[str, Any]]) -> dict[str, Endpoint]:
    return {
        component: Endpoint(component, NAMESPACE, spec["metadata"]["labels"], f"10.1.0.{i + 1}")
        for i, (component, spec) in enumerate(sorted(pod_specs(objects).items()))
    }


def policies(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(of_kind(objects, "NetworkPolicy").values())


def test_every_pod_of_the_release_is_denied_by_default(chart: helm.Chart) -> None:
    objects = render(chart)
    deny = of_kind(objects, "NetworkPolicy")[f"{RELEASE}-deny-all"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny and "egress" not in deny
    pods = release_pods(objects)
    assert set(pods) == {*SERVING, "test"}
    for name, pod in pods.items():
        labels = pod.labels
        assert all(labels.get(k) == v for k, v in deny["podSelector"]["matchLabels"].items()), name
        own = of_kind(objects, "NetworkPolicy")[f"{RELEASE}-{name}"]["spec"]["podSelector"]["matchLabels"]
        assert all(labels.get(k) == v for k, v in own.items()), name
    # Another release's pods are not this release's business.
    other = OUTSIDERS[3].labels
    assert not all(other.get(k) == v for k, v in deny["podSelector"]["matchLabels"].items())


@pytest.mark.parametrize("scenario", ["defaults", "production"])
def test_each_service_is_reachable_only_by_its_callers(chart: helm.Chart, scenario: str) -> None:
    objects = render(chart, SCENARIOS[scenario])
    pods = release_pods(objects)
    sources = [*pods.values(), *OUTSIDERS, *(pod for pod, _, _ in DEPENDENCY_PODS.values())]
    for component, port in SERVING.items():
        target = pods[component]
        reached = {s.name for s in sources if s is not target and allowed(policies(objects), s, target, port)}
        if component == "gateway":
            # The ingress controller; Prometheus scrapes /metrics on the same port; the helm test.
            expected = {"ingress-nginx", "prometheus", "test"}
        else:
            expected = CALLERS[component] | ({"test"} if component == "agents" else set())
        assert reached == expected, component
        if component != "gateway":
            scrapers = {s.name for s in sources if s is not target and allowed(policies(objects), s, target, METRICS)}
            assert scrapers == {"prometheus"}, component
        # Nothing else is open on the pod.
        assert not any(allowed(policies(objects), s, target, 22) for s in sources if s is not target), component


@pytest.mark.parametrize("scenario", ["defaults", "production"])
def test_no_service_without_a_network_policy(chart: helm.Chart, scenario: str) -> None:
    """Every port of every Service is opened by a component's own policy (deny-all alone would blackhole it)."""
    objects = render(chart, SCENARIOS[scenario])
    specs = pod_specs(objects)
    own = {name: obj for name, obj in of_kind(objects, "NetworkPolicy").items() if not name.endswith("-deny-all")}
    for name, service in of_kind(objects, "Service").items():
        selected = [
            c for c, spec in specs.items() if service["spec"]["selector"].items() <= spec["metadata"]["labels"].items()
        ]
        assert len(selected) == 1, name
        (container,) = specs[selected[0]]["spec"]["containers"]
        numbers = {p["name"]: p["containerPort"] for p in container["ports"]}
        for port in service["spec"]["ports"]:
            number = numbers[port["targetPort"]]
            opened = [
                p
                for p in own.values()
                if p["spec"]["podSelector"]["matchLabels"].items() <= specs[selected[0]]["metadata"]["labels"].items()
                and any(number in [q["port"] for q in rule.get("ports", [])] for rule in p["spec"].get("ingress", []))
            ]
            assert opened, f"{name}:{port['name']}"


@pytest.mark.parametrize("scenario", ["defaults", "production"])
def test_no_rule_is_open_to_everyone(chart: helm.Chart, scenario: str) -> None:
    for policy in policies(render(chart, SCENARIOS[scenario])):
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from") and rule.get("ports"), policy["metadata"]["name"]
        for rule in policy["spec"].get("egress", []):
            assert rule.get("to"), policy["metadata"]["name"]


def test_egress_reaches_only_callees_and_dependencies(chart: helm.Chart) -> None:
    objects = render(chart)
    pods = release_pods(objects)
    for name, source in pods.items():
        reached = {
            dep
            for dep, (pod, port, proto) in DEPENDENCY_PODS.items()
            if allowed(policies(objects), source, pod, port, proto)
        }
        assert reached == DEPENDENCIES[name], name
        callees = {c for c, port in SERVING.items() if c != name and allowed(policies(objects), source, pods[c], port)}
        expected = {c for c, callers in CALLERS.items() if name in callers}
        if name == "test":
            expected = {"gateway", "agents"}
        assert callees == expected, name
        stranger = OUTSIDERS[2]
        assert not any(allowed(policies(objects), source, stranger, port) for port in (80, 443, 5432, 8080)), name
    # The model download goes to public addresses only, on 443 only.
    hub = DEPENDENCY_PODS["model-hub"][0]
    assert not allowed(policies(objects), pods["inference"], hub, 80)
    cgnat_pod = Endpoint("cgnat", "elsewhere", {}, "100.64.3.4")
    assert not allowed(policies(objects), pods["inference"], cgnat_pod, 443)


def test_dependency_selectors_are_values(chart: helm.Chart) -> None:
    """production: a managed PostgreSQL by CIDR, Temporal in its own namespace, no model download, an OTLP collector."""
    objects = render(chart, PRODUCTION)
    pods = release_pods(objects)
    managed_db = Endpoint("rds", "outside", {}, "10.20.0.5")
    elsewhere_db = Endpoint("rds", "outside", {}, "10.21.0.5")
    temporal = Endpoint("temporal", "temporal", DEPENDENCY_PODS["temporal"][0].labels, "10.4.0.1")
    collector = Endpoint("otel", "monitoring", {"app.kubernetes.io/name": "opentelemetry-collector"}, "10.3.0.9")
    rules = policies(objects)
    for name in SERVING:
        uses_db = "postgresql" in DEPENDENCIES[name]
        assert allowed(rules, pods[name], managed_db, 5432) is uses_db, name
        assert not allowed(rules, pods[name], elsewhere_db, 5432), name
        assert allowed(rules, pods[name], temporal, 7233) is ("temporal" in DEPENDENCIES[name]), name
        assert not allowed(rules, pods[name], DEPENDENCY_PODS["temporal"][0], 7233), name
        assert allowed(rules, pods[name], collector, 4317), name
    assert not allowed(rules, pods["inference"], *DEPENDENCY_PODS["model-hub"][:2])


def test_gateway_and_metrics_sources_are_values(chart: helm.Chart) -> None:
    office = {"ipBlock": {"cidr": "203.0.113.0/24"}}
    scraper = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}}}
    objects = render(chart, {"networkPolicy": {"gatewayFrom": [office], "metricsFrom": [scraper]}})
    pods = release_pods(objects)
    client = Endpoint("client", "internet", {}, "203.0.113.7")
    grafana_agent = Endpoint("agent", "observability", {}, "10.5.0.1")
    rules = policies(objects)
    assert allowed(rules, client, pods["gateway"], 8000)
    assert not allowed(rules, OUTSIDERS[0], pods["gateway"], 8000)
    assert allowed(rules, grafana_agent, pods["memory"], METRICS)
    assert not allowed(rules, OUTSIDERS[1], pods["memory"], METRICS)
    # Metrics off: nobody may open the port.
    objects = render(chart, {"memory": {"metrics": {"enabled": False, "port": METRICS}}})
    assert not allowed(policies(objects), OUTSIDERS[1], release_pods(objects)["memory"], METRICS)


def test_policies_can_be_left_to_the_cluster(chart: helm.Chart) -> None:
    assert of_kind(render(chart, {"networkPolicy": {"enabled": False}}), "NetworkPolicy") == {}
    objects = render(chart, {"tests": {"enabled": False}})
    assert f"{RELEASE}-test" not in of_kind(objects, "NetworkPolicy")
    pods = release_pods(objects)
    assert "test" not in pods
    assert {s.name for s in pods.values() if allowed(policies(objects), s, pods["agents"], 50051)} == CALLERS["agents"]


@pytest.mark.parametrize(
    ("egress", "complaint"),
    [
        ({"open": {"components": ["agents"]}}, "missing property 'to'"),
        ({"open": {"components": ["agents"], "to": []}}, "minItems"),
        (
            {"typo": {"components": ["agent"], "to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}},
            "/networkPolicy/egress/typo",
        ),
    ],
)
def test_schema_refuses_open_or_misspelt_egress(chart: helm.Chart, egress: dict[str, Any], complaint: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=complaint):
        chart.render({"networkPolicy": {"egress": egress}}, name=RELEASE, namespace=NAMESPACE)
