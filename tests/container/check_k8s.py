#!/usr/bin/python3
"""tests/container/check_k8s.py - offline schema check of Kubernetes manifests.

The schema is the Kubernetes API's own, as the official Python client
(Debian's python3-kubernetes) carries it: every object is walked against the
client's model classes (openapi_types / attribute_map): an unknown field, a
value of the wrong type or a missing required field (the models' validating
setters) is an error. Then cross-references: StatefulSet selectors match their
pod labels and name a headless Service of the same files, PodDisruptionBudget
and Service selectors pick some pods, volume mounts name a volume or claim
template, ConfigMaps referenced exist, container ports referenced by probes exist.

  check_k8s.py FILE.yaml...      exit 0 and "k8s: N objects valid", or the errors
  check_k8s.py --selftest        broken manifests must each be rejected
"""
import copy
import re
import sys

import yaml
from kubernetes import client

PRIMS = {"str": str, "int": int, "bool": bool, "float": (int, float)}


def model_for(obj):
    api, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    version = api.split("/")[-1]
    name = version[0].upper() + version[1:] + kind
    cls = getattr(client.models, name, None)
    if cls is None:
        raise ValueError("unknown apiVersion/kind %s %s" % (api, kind))
    return name


def walk(value, typ, path, errs):
    if value is None:
        return
    if typ in PRIMS:
        ok = isinstance(value, PRIMS[typ]) and not (typ != "bool" and isinstance(value, bool))
        if not ok:
            errs.append("%s: want %s, got %r" % (path, typ, value))
        return
    if typ in ("object", "datetime", "date"):
        return
    m = re.fullmatch(r"list\[(.+)\]", typ)
    if m:
        if not isinstance(value, list):
            errs.append("%s: want a list" % path)
            return
        for i, v in enumerate(value):
            walk(v, m.group(1), "%s[%d]" % (path, i), errs)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", typ)
    if m:
        if not isinstance(value, dict):
            errs.append("%s: want a map" % path)
            return
        for k, v in value.items():
            walk(v, m.group(1), "%s.%s" % (path, k), errs)
        return
    cls = getattr(client.models, typ)
    if not isinstance(value, dict):
        errs.append("%s: want an object (%s)" % (path, typ))
        return
    by_json = {j: a for a, j in cls.attribute_map.items()}
    for k, v in value.items():
        if k not in by_json:
            errs.append("%s.%s: unknown field of %s" % (path, k, typ))
            continue
        walk(v, cls.openapi_types[by_json[k]], "%s.%s" % (path, k), errs)


def required_check(obj, typ, path, errs):
    """The client's deserializer runs every validating setter (required fields)."""
    api = client.ApiClient()
    try:
        api._ApiClient__deserialize(copy.deepcopy(obj), typ)
    except (ValueError, TypeError) as e:
        errs.append("%s: %s" % (path, str(e).splitlines()[0]))


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def cross_check(objs, errs):
    services = [o for o in objs if o["kind"] == "Service"]
    pods = []
    for o in objs:
        if o["kind"] != "StatefulSet":
            continue
        n = o["metadata"]["name"]
        spec = o["spec"]
        tmpl = spec["template"]
        labels = tmpl["metadata"].get("labels", {})
        pods.append(labels)
        if not selects(spec["selector"].get("matchLabels", {}), labels):
            errs.append("StatefulSet %s: selector does not match its pod labels" % n)
        hs = [s for s in services if s["metadata"]["name"] == spec.get("serviceName")]
        if not hs or hs[0]["spec"].get("clusterIP") != "None":
            errs.append("StatefulSet %s: serviceName %s is not a headless Service here" % (n, spec.get("serviceName")))
        pspec = tmpl["spec"]
        vols = {v["name"] for v in pspec.get("volumes", [])}
        vols |= {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
        cms = {o2["metadata"]["name"] for o2 in objs if o2["kind"] == "ConfigMap"}
        for v in pspec.get("volumes", []):
            if "configMap" in v and v["configMap"]["name"] not in cms:
                errs.append("StatefulSet %s: ConfigMap %s not defined" % (n, v["configMap"]["name"]))
        for c in pspec["containers"]:
            ports = {p.get("name") for p in c.get("ports", [])} | {p["containerPort"] for p in c.get("ports", [])}
            for m in c.get("volumeMounts", []):
                if m["name"] not in vols:
                    errs.append("StatefulSet %s: mount %s names no volume" % (n, m["name"]))
            for probe in ("readinessProbe", "livenessProbe"):
                p = c.get(probe)
                if not p:
                    errs.append("StatefulSet %s: container %s has no %s" % (n, c["name"], probe))
                    continue
                port = p.get("tcpSocket", {}).get("port")
                if port is not None and port not in ports:
                    errs.append("StatefulSet %s: %s port %s not a container port" % (n, probe, port))
        sc = pspec.get("securityContext", {})
        if "seccompProfile" not in sc:
            errs.append("StatefulSet %s: no seccompProfile in the pod securityContext" % n)
    for o in objs:
        if o["kind"] in ("Service", "PodDisruptionBudget"):
            sel = o["spec"].get("selector", {})
            sel = sel.get("matchLabels", sel) if o["kind"] == "PodDisruptionBudget" else sel
            if not any(selects(sel, p) for p in pods):
                errs.append("%s %s: selector picks no pod" % (o["kind"], o["metadata"]["name"]))


def check(docs):
    errs = []
    for i, o in enumerate(docs):
        path = "%s/%s" % (o.get("kind", "?"), o.get("metadata", {}).get("name", "#%d" % i))
        try:
            typ = model_for(o)
        except ValueError as e:
            errs.append("%s: %s" % (path, e))
            continue
        before = len(errs)
        walk(o, typ, path, errs)
        if len(errs) == before:
            required_check(o, typ, path, errs)
    if not errs:
        cross_check(docs, errs)
    return errs


def load(files):
    docs = []
    for f in files:
        with open(f) as fh:
            docs += [d for d in yaml.safe_load_all(fh) if d]
    return docs


def selftest(files):
    good = load(files)
    breakers = [
        ("unknown field", lambda d: d[-1]["spec"].__setitem__("replica", 3)),
        ("wrong type", lambda d: d[-1]["spec"].__setitem__("replicas", "three")),
        ("missing required", lambda d: d[-1]["spec"]["template"]["spec"].pop("containers")),
        ("nested unknown", lambda d: d[-1]["spec"]["template"]["spec"]["containers"][0].__setitem__("imagee", "x")),
        ("selector mismatch", lambda d: d[-1]["spec"]["selector"]["matchLabels"].__setitem__("x", "y")),
        ("mount without volume", lambda d: d[-1]["spec"]["template"]["spec"]["containers"][0]
         .setdefault("volumeMounts", []).append({"name": "nope", "mountPath": "/x"})),
        ("no seccomp", lambda d: d[-1]["spec"]["template"]["spec"]["securityContext"].pop("seccompProfile")),
        ("bad kind", lambda d: d[-1].__setitem__("kind", "StatefulSett")),
    ]
    bad = 0
    for name, brk in breakers:
        docs = copy.deepcopy(good)
        brk(docs)
        if not check(docs):
            print("selftest: %s was not caught" % name)
            bad += 1
    print("k8s selftest: %d passed, %d failed" % (len(breakers) - bad, bad))
    return bad == 0


def main():
    args = sys.argv[1:]
    if args and args[0] == "--selftest":
        sys.exit(0 if selftest(args[1:]) else 1)
    docs = load(args)
    errs = check(docs)
    for e in errs:
        print("k8s: " + e)
    if errs:
        sys.exit(1)
    print("k8s: %d objects valid (Kubernetes API models of python3-kubernetes %s)"
          % (len(docs), __import__("kubernetes").__version__))


if __name__ == "__main__":
    main()
