#!/usr/bin/env python3
"""Validates compose.yaml without a Docker daemon.

1. Against the Compose Specification JSON schema, taken from the published
   docker-compose 1.29.2 wheel (PyPI), cached under $XDG_CACHE_HOME.
2. References: every `depends_on` names a service, `service_completed_successfully`
   only on one-shot services, `service_healthy` only on services with a
   healthcheck, named volumes are declared, host ports are unique.
3. Configuration: every MARQUEE__SECTION__KEY variable names a key that
   marquee.example.yaml documents, every command is a `marquee` subcommand, and
   every file the image copies exists.
Exits non-zero with one line per problem.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import zipfile

try:
    import jsonschema
    import yaml
except ImportError:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "jsonschema", "pyyaml"])
    import jsonschema
    import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
WHEEL = "docker-compose==1.29.2"
SUBCOMMANDS = {"dev", "router", "subgraph", "migrate", "seed", "schema", "keys", "events"}


def compose_schema():
    cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "marquee"
    path = cache / "compose_spec.json"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.check_call(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, WHEEL]
            )
            wheel = next(pathlib.Path(tmp).glob("*.whl"))
            with zipfile.ZipFile(wheel) as z:
                path.write_bytes(z.read("compose/config/compose_spec.json"))
    return json.loads(path.read_text())


def documented_keys():
    keys = set()

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                name = f"{prefix}.{k}" if prefix else k
                keys.add(name)
                walk(v, name)

    walk(yaml.safe_load((ROOT / "marquee.example.yaml").read_text()), "")
    return keys


def main(file):
    doc = yaml.safe_load(pathlib.Path(file).read_text())
    problems = []
    validator = jsonschema.Draft7Validator(compose_schema())
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
        where = "/".join(str(p) for p in err.path) or "(root)"
        problems.append(f"schema: {where}: {err.message}")

    services = doc.get("services", {})
    volumes = set((doc.get("volumes") or {}).keys())
    keys = documented_keys()
    host_ports = {}
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        deps = {d: {"condition": "service_started"} for d in deps} if isinstance(deps, list) else deps
        for dep, spec in deps.items():
            if dep not in services:
                problems.append(f"{name}: depends_on names unknown service `{dep}`")
                continue
            cond = spec.get("condition", "service_started")
            if cond == "service_healthy" and "healthcheck" not in services[dep]:
                problems.append(f"{name}: waits for `{dep}` to be healthy but it has no healthcheck")
            if cond == "service_completed_successfully" and services[dep].get("restart") not in ("no", None):
                problems.append(f"{name}: waits for `{dep}` to complete but it restarts")
        for vol in svc.get("volumes") or []:
            source = vol.split(":")[0] if isinstance(vol, str) else vol.get("source", "")
            if source and not source.startswith((".", "/")) and source not in volumes:
                problems.append(f"{name}: volume `{source}` is not declared")
        for port in svc.get("ports") or []:
            host = str(port).split(":")[0]
            if host in host_ports:
                problems.append(f"{name}: host port {host} is also published by {host_ports[host]}")
            host_ports[host] = name
        env = svc.get("environment") or {}
        for var in env:
            if var.startswith("MARQUEE__"):
                key = ".".join(var[len("MARQUEE__"):].lower().split("__"))
                if key not in keys:
                    problems.append(f"{name}: {var} sets `{key}`, which marquee.example.yaml does not document")
        if svc.get("build") is not None or svc.get("image", "").startswith("marquee"):
            command = svc.get("command") or ["dev"]
            if command[0] not in SUBCOMMANDS:
                problems.append(f"{name}: `{command[0]}` is not a marquee subcommand")

    dockerfile = ROOT / "Dockerfile"
    for line in dockerfile.read_text().splitlines():
        parts = line.split()
        if parts[:1] == ["COPY"] and not any(p.startswith("--from") for p in parts) and parts[1] != ".":
            for src in parts[1:-1]:
                if not (ROOT / src).exists():
                    problems.append(f"Dockerfile: COPY source `{src}` does not exist")

    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(f"{file}: valid ({len(services)} services)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "compose.yaml")
