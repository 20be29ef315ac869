#!/usr/bin/python3
"""tests/container/check_k8s_cluster.py - container/k8s/ is right for cluster mode.

Offline (no Kubernetes): for every pod ordinal of the broker StatefulSet, the
pod's environment is built as the kubelet would (fieldRef metadata.name and
metadata.namespace, $(VAR) expansion, HOSTNAME = the pod name), the ConfigMap's
server.properties is written where RB_BASE_CONFIG points, and the image's entry
point (container/docker-entrypoint.sh, RB_ENTRYPOINT_DRY_RUN=1) prints the
configuration the broker would get. Checked:
  - broker.id = the pod ordinal (+ RB_BROKER_ID_OFFSET), distinct per pod;
  - advertised.listeners = the pod's DNS name under a headless Service
    (clusterIP None, publishNotReadyAddresses, selecting the pods, serving the
    advertised port): <pod>.<serviceName>.<namespace>.svc.cluster.local;
  - zookeeper.connect = every ZooKeeper pod <zk>-i.<zk serviceName>:<client port>
    for i < its replicas, with the /kafka chroot; ZOO_SERVERS names the same pods;
  - metrics.listener's port is the container's "metrics" port.
  check_k8s_cluster.py DIR             "k8s-cluster: N pods checked" or errors
  check_k8s_cluster.py --selftest DIR  broken copies must each be rejected
"""
import copy
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NS = "rbns"


def load(d):
    objs = []
    for f in sorted(os.listdir(d)):
        if f.endswith(".yaml"):
            objs += [o for o in yaml.safe_load_all(open(os.path.join(d, f))) if o]
    return objs


def find(objs, kind, name=None, pred=None):
    for o in objs:
        if o["kind"] == kind and (name is None or o["metadata"]["name"] == name):
            if pred is None or pred(o):
                return o
    return None


def pod_env(c, pod):
    env = {"HOSTNAME": pod}
    for e in c.get("env", []):
        if "valueFrom" in e:
            path = e["valueFrom"]["fieldRef"]["fieldPath"]
            env[e["name"]] = {"metadata.name": pod, "metadata.namespace": NS}[path]
        else:  # $(VAR) of variables defined before, as the kubelet expands them
            env[e["name"]] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                                    lambda m: env.get(m.group(1), m.group(0)), e.get("value", ""))
    return env


def entrypoint_config(sts, cm_objs, pod, errs):
    c = sts["spec"]["template"]["spec"]["containers"][0]
    env = pod_env(c, pod)
    with tempfile.TemporaryDirectory() as tmp:
        base = env.get("RB_BASE_CONFIG", "/etc/ringbroker/server.properties")
        mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
        vols = {v["name"]: v for v in sts["spec"]["template"]["spec"].get("volumes", [])}
        text = None
        for vname, path in mounts.items():
            v = vols.get(vname, {})
            if "configMap" in v and base.startswith(path.rstrip("/") + "/"):
                cm = find(cm_objs, "ConfigMap", v["configMap"]["name"])
                text = cm and cm["data"].get(base[len(path.rstrip("/")) + 1:])
        if text is None:
            errs.append("%s: RB_BASE_CONFIG %s is not a file of a mounted ConfigMap" % (pod, base))
            return {}
        open(os.path.join(tmp, "base.properties"), "w").write(text)
        env.update(PATH=os.environ["PATH"], RB_BASE_CONFIG=os.path.join(tmp, "base.properties"),
                   RB_CONFIG_OUT=os.path.join(tmp, "out.properties"), RB_ENTRYPOINT_DRY_RUN="1")
        r = subprocess.run(["bash", os.path.join(ROOT, "container/docker-entrypoint.sh")], env=env,
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            errs.append("%s: entry point exit %d: %s" % (pod, r.returncode, r.stderr.strip()[-300:]))
            return {}
        cfg = {}
        for line in open(os.path.join(tmp, "out.properties")):
            if "=" in line and not line.startswith("#"):
                k, v = line.rstrip("\n").split("=", 1)
                cfg[k.strip()] = v.strip()
        return cfg


def check(objs):
    errs = []
    sts = find(objs, "StatefulSet", pred=lambda o: any(
        c.get("name") == "ringbroker" for c in o["spec"]["template"]["spec"]["containers"]))
    zk = find(objs, "StatefulSet", pred=lambda o: any(
        c.get("name") == "zookeeper" for c in o["spec"]["template"]["spec"]["containers"]))
    if not sts or not zk:
        return ["want a ringbroker and a zookeeper StatefulSet"], 0
    labels = sts["spec"]["template"]["metadata"]["labels"]
    svc_name = sts["spec"]["serviceName"]
    svc = find(objs, "Service", svc_name)
    c = sts["spec"]["template"]["spec"]["containers"][0]
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    if not svc or svc["spec"].get("clusterIP") != "None" or not svc["spec"].get("publishNotReadyAddresses"):
        errs.append("serviceName %s: not a headless Service publishing not-ready pods" % svc_name)
    elif any(labels.get(k) != v for k, v in svc["spec"]["selector"].items()):
        errs.append("Service %s does not select the broker pods" % svc_name)
    # ZooKeeper pods and their client port
    zc = zk["spec"]["template"]["spec"]["containers"][0]
    zport = {p.get("name"): p["containerPort"] for p in zc.get("ports", [])}.get("client", 2181)
    zpods = ["%s-%d.%s" % (zk["metadata"]["name"], i, zk["spec"]["serviceName"])
             for i in range(zk["spec"]["replicas"])]
    zsrv = {e["name"]: e.get("value", "") for e in zc.get("env", [])}.get("ZOO_SERVERS", "")
    if sorted(s.split("=", 1)[1].split(":")[0] for s in zsrv.split()) != sorted(zpods):
        errs.append("ZOO_SERVERS %r does not name the pods %s" % (zsrv, zpods))
    want_zk = set("%s:%d" % (p, zport) for p in zpods)
    ids = []
    for n in range(sts["spec"]["replicas"]):
        pod = "%s-%d" % (sts["metadata"]["name"], n)
        cfg = entrypoint_config(sts, objs, pod, errs)
        if not cfg:
            continue
        off = int(pod_env(c, pod).get("RB_BROKER_ID_OFFSET", "0"))
        if cfg.get("broker.id") != str(n + off):
            errs.append("%s: broker.id %s, want the ordinal %d" % (pod, cfg.get("broker.id"), n + off))
        ids.append(cfg.get("broker.id"))
        adv = cfg.get("advertised.listeners", "")
        m = re.fullmatch(r"PLAINTEXT://([^:,]+):(\d+)", adv)
        want_host = "%s.%s.%s.svc.cluster.local" % (pod, svc_name, NS)
        if not m or m.group(1) != want_host:
            errs.append("%s: advertised.listeners %r, want PLAINTEXT://%s:PORT" % (pod, adv, want_host))
        elif svc and int(m.group(2)) not in [p["port"] for p in svc["spec"].get("ports", [])]:
            errs.append("%s: advertised port %s not served by %s" % (pod, m.group(2), svc_name))
        zcon = cfg.get("zookeeper.connect", "")
        hosts, _, chroot = zcon.partition("/")
        if set(hosts.split(",")) != want_zk or chroot != "kafka":
            errs.append("%s: zookeeper.connect %r, want %s/kafka" % (pod, zcon, ",".join(sorted(want_zk))))
        ml = cfg.get("metrics.listener", "")
        if ml and not ml.endswith(":%s" % ports.get("metrics")):
            errs.append("%s: metrics.listener %s is not the metrics port %s" % (pod, ml, ports.get("metrics")))
    if len(set(ids)) != len(ids):
        errs.append("broker ids not distinct: %s" % ids)
    return errs, sts["spec"]["replicas"]


def selftest(objs):
    def sts_of(o):
        return find(o, "StatefulSet", "ringbroker")

    def env_set(o, name, value):
        for e in sts_of(o)["spec"]["template"]["spec"]["containers"][0]["env"]:
            if e["name"] == name:
                e.clear()
                e.update(name=name, value=value)

    def cm_set(o, key, value):
        cm = find(o, "ConfigMap", "ringbroker-config")
        lines = [ln for ln in cm["data"]["server.properties"].splitlines() if not ln.startswith(key + "=")]
        cm["data"]["server.properties"] = "\n".join(lines + ["%s=%s" % (key, value)]) + "\n"

    breaks = {
        "advertised listener on the bootstrap Service": lambda o: env_set(
            o, "KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://ringbroker.$(POD_NAMESPACE).svc.cluster.local:9092"),
        "broker id not from the ordinal": lambda o: env_set(o, "RB_BROKER_ID_FROM_ORDINAL", ""),
        "zookeeper.connect without the chroot": lambda o: cm_set(
            o, "zookeeper.connect", "zookeeper-0.zookeeper-headless:2181,zookeeper-1.zookeeper-headless:2181,"
            "zookeeper-2.zookeeper-headless:2181"),
        "zookeeper.connect missing a node": lambda o: cm_set(
            o, "zookeeper.connect", "zookeeper-0.zookeeper-headless:2181/kafka"),
        "headless Service not publishing not-ready pods": lambda o: find(
            o, "Service", "ringbroker-headless")["spec"].update(publishNotReadyAddresses=False),
        "4 ZooKeeper replicas, 3 in zookeeper.connect": lambda o: find(
            o, "StatefulSet", "zookeeper")["spec"].update(replicas=4),
    }
    passed = failed = 0
    for name, brk in breaks.items():
        o = copy.deepcopy(objs)
        brk(o)
        errs, _ = check(o)
        if errs:
            passed += 1
            print("ok   rejects: %s (%s)" % (name, errs[0]))
        else:
            failed += 1
            print("FAIL accepted: %s" % name)
    print("k8s-cluster selftest: %d passed, %d failed" % (passed, failed))
    return failed == 0


def main():
    args = sys.argv[1:]
    if args and args[0] == "--selftest":
        return 0 if selftest(load(args[1])) else 1
    errs, n = check(load(args[0]))
    for e in errs:
        print("error: " + e)
    if errs:
        return 1
    print("k8s-cluster: %d broker pods checked (ids, advertised listeners, zookeeper.connect)" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
