#!/usr/bin/env python3
"""Ballast against the reference tools, same inputs, same run, alternating runs.

Run through `scripts/bench`, which installs what is missing, builds Ballast (release) and starts a
control plane on loopback when a group needs one (cluster, controller). Inputs are generated here
from fixed seeds, or are the public charts of crates/ballast-helm/tests/fixtures/charts. Prints one
table and writes it, with the machine and the date, to BENCHMARKS.md; a run of some groups keeps
the rows of the other groups from the previous BENCHMARKS.md.

Environment (set by scripts/bench): BALLAST, BALLAST_ROOT, KUBECTL, HELM, KUBECONFIG, BENCH_WORK,
ROUNDS, and BENCH_ONLY (comma list of groups: render, cluster, controller, webhook, scale, helmrelease,
git, helm; default all).
"""

import base64
import json
import multiprocessing
import os
import re
import random
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

B = os.environ["BALLAST"]
KUBECTL = os.environ["KUBECTL"]
HELM = os.environ.get("HELM", os.path.expanduser("~/.cache/ballast/bin/helm"))
WORK = os.environ["BENCH_WORK"]
ROUNDS = int(os.environ.get("ROUNDS", "3"))
GROUPS = ("render", "cluster", "controller", "webhook", "scale", "helmrelease", "git", "helm")
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", ",".join(GROUPS)).split(",")))
N = int(os.environ.get("N", "1000"))
APPS = int(os.environ.get("APPS", "100"))
PER_APP = int(os.environ.get("PER_APP", "50"))
EDITS = int(os.environ.get("EDITS", "20"))
IDLE = int(os.environ.get("IDLE", "60"))
GIT_COMMITS = int(os.environ.get("GIT_COMMITS", "10000"))
GIT_FILES = int(os.environ.get("GIT_FILES", "5000"))
RELEASES = int(os.environ.get("RELEASES", "100"))
HR_IDLE = int(os.environ.get("HR_IDLE", "10"))
HR_CONCURRENCY = os.environ.get("HR_CONCURRENCY", "8")
PUSHES = int(os.environ.get("PUSHES", "20"))
POLL_PUSHES = int(os.environ.get("POLL_PUSHES", "5"))
POLL_INTERVAL = int(os.environ.get("POLL_INTERVAL", "60"))

rows = []  # (group, measure, ballast samples, peer samples, peer name, goal, unit)
notes = []


def log(msg):
    print(f"==> {msg}", file=sys.stderr, flush=True)


def run(cmd, ok=(0,), cwd=None, env=None):
    """Runs cmd; returns (wall seconds, stdout, stderr). Fails on an unexpected exit code."""
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, cwd=cwd, env=env)
    if p.returncode not in ok:
        sys.exit(f"bench: {' '.join(cmd[:6])} failed (exit {p.returncode}):\n{p.stderr.decode()[-2000:]}")
    return time.perf_counter() - t, p.stdout.decode(), p.stderr.decode()


def timed(cmd, ok=(0,), cwd=None, env=None, keep=True):
    """Runs cmd; returns (wall seconds, the child's peak RSS in MiB, stdout, stderr). With
    keep=False, stdout is read and dropped a chunk at a time (returned empty), so that this
    process does not grow: a child's peak RSS (ru_maxrss) starts from this process's own."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env)
    # Outputs are small enough for the pipes, or read here before waiting.
    if keep:
        out = p.stdout.read()
    else:
        out = b""
        while p.stdout.read1(1 << 20):
            pass
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        sys.exit(f"bench: {' '.join(cmd[:6])} failed (exit {code}):\n{err.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, out.decode(), err.decode()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


# ---------------------------------------------------------------- inputs


def mixed_objects(ns, n, seed, rev="1"):
    """n objects, a quarter each of ConfigMaps, Secrets, Services and Deployments."""
    rnd = random.Random(seed)
    docs = []
    for i in range(n):
        kind = ("ConfigMap", "Secret", "Service", "Deployment")[i % 4]
        name = f"obj-{i:05}"
        meta = f"metadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    app: bench\n    index: \"{i}\"\n"
        if kind == "ConfigMap":
            payload = "x" * rnd.randrange(0, 200)
            docs.append(f"apiVersion: v1\nkind: ConfigMap\n{meta}data:\n  key: value-{i}-{rev}\n  payload: \"{payload}\"\n")
        elif kind == "Secret":
            token = base64.b64encode(f"secret-{i}-{rev}".encode()).decode()
            docs.append(f"apiVersion: v1\nkind: Secret\n{meta}type: Opaque\ndata:\n  token: {token}\n")
        elif kind == "Service":
            docs.append(f"apiVersion: v1\nkind: Service\n{meta}spec:\n  selector:\n    app: {name}\n  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n    targetPort: 8080\n")
        else:
            docs.append(
                f"apiVersion: apps/v1\nkind: Deployment\n{meta}spec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {name}\n"
                f"  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: app\n"
                f"        image: registry.invalid/bench/app:1.{i}.{rev}\n        ports:\n        - containerPort: 8080\n          protocol: TCP\n"
                f"        resources:\n          requests:\n            cpu: 10m\n            memory: 16Mi\n")
    return docs


def write_objects(dirpath, docs, files=10):
    os.makedirs(dirpath, exist_ok=True)
    names = []
    for f in range(files):
        name = f"objects-{f:02}.yaml"
        names.append(name)
        with open(os.path.join(dirpath, name), "w") as out:
            for d in docs[f::files]:
                out.write("---\n" + d)
    return names


def kustomize_app(dirpath, name, n, envs=("prod",)):
    """A base of n mixed objects plus a generator, and one overlay per env."""
    docs = []
    for i in range(n):
        if i % 3 == 0:
            docs.append(
                f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}-{i}\nspec:\n  selector:\n    matchLabels:\n"
                f"      app: {name}-{i}\n  template:\n    metadata:\n      labels:\n        app: {name}-{i}\n    spec:\n"
                f"      containers:\n      - name: app\n        image: registry.invalid/example/{name}:1.0.{i}\n"
                f"        envFrom:\n        - configMapRef:\n            name: settings\n")
        elif i % 3 == 1:
            docs.append(f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}-{i}\nspec:\n  selector:\n    app: {name}-{i}\n  ports:\n  - port: 80\n")
        else:
            docs.append(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-{i}\ndata:\n  key: value-{i}\n")
    files = write_objects(os.path.join(dirpath, "base"), docs, files=max(1, min(10, n)))
    write(os.path.join(dirpath, "base", "kustomization.yaml"),
          f"commonLabels:\n  app.kubernetes.io/part-of: {name}\nconfigMapGenerator:\n- name: settings\n  literals:\n  - level=info\n"
          "resources:\n" + "".join(f"- {f}\n" for f in files))
    overlays = []
    for env in envs:
        o = os.path.join(dirpath, "overlays", env)
        write(os.path.join(o, "kustomization.yaml"),
              f"namespace: {name}-{env}\nnamePrefix: {env}-\nresources:\n- ../../base\nimages:\n- name: registry.invalid/example/{name}\n"
              f"  newTag: \"2.0\"\nconfigMapGenerator:\n- name: settings\n  behavior: merge\n  literals:\n  - env={env}\n"
              f"patches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /spec/replicas\n      value: 2\n")
        overlays.append(o)
    return overlays


def add_row(group, measure, b, p, peer, goal, unit="s"):
    rows.append((group, measure, b, p, peer, goal, unit))


# ---------------------------------------------------------------- render


def bench_render():
    base = os.path.join(WORK, "render")
    docs = mixed_objects("bench", N, seed=1)
    plain = os.path.join(base, "plain")
    files = write_objects(plain, docs)
    plain_k = os.path.join(base, "plain-k")
    write_objects(plain_k, docs)
    write(os.path.join(plain_k, "kustomization.yaml"), "resources:\n" + "".join(f"- {f}\n" for f in files))
    small = kustomize_app(os.path.join(base, "small"), "small", 4)
    large = kustomize_app(os.path.join(base, "large"), "large", N, envs=("dev", "staging", "prod"))
    mono = []
    for a in range(200):
        mono += kustomize_app(os.path.join(base, "mono", f"app-{a:03}"), f"app-{a:03}", 5)

    def compare(measure, ballast_cmds, kubectl_cmds, goal):
        bs, ks = [], []
        for r in range(ROUNDS):
            order = ["b", "k"] if r % 2 == 0 else ["k", "b"]
            for tool in order:
                cmds = ballast_cmds if tool == "b" else kubectl_cmds
                t, peak = 0.0, 0.0
                outs = []
                for c in cmds:
                    w, rss, out, _ = timed(c, cwd=base)
                    t += w
                    peak = max(peak, rss)
                    outs.append(out)
                (bs if tool == "b" else ks).append((t, peak))
        add_row("render", measure, bs, ks, "kubectl kustomize", goal)

    log("render: 1,000 plain objects")
    compare(f"render {N} plain objects", [[B, "build", "--path", plain]], [[KUBECTL, "kustomize", plain_k]], None)
    log("render: small overlay")
    compare("render small overlay (~6 objects)", [[B, "build", "--path", small[0]]], [[KUBECTL, "kustomize", small[0]]], 30)
    log("render: 1,000-object base x 3 overlays")
    compare(f"render {N}-object base, 3 overlays", [[B, "build", "--path", o] for o in large],
            [[KUBECTL, "kustomize", o] for o in large], 30)
    log("render: 200-app monorepo, one process per app")
    compare("render 200-app monorepo (one process per app)", [[B, "build", "--path", o] for o in mono],
            [[KUBECTL, "kustomize", o] for o in mono], 30)
    # The controller renders in process: the same comparison without a process per app.
    log("render: in process (cargo bench -p ballast-render --bench kustomize)")
    _, out, _ = run(["cargo", "bench", "--quiet", "--locked", "-p", "ballast-render", "--bench", "kustomize"],
                    cwd=os.environ["BALLAST_ROOT"])
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[2].endswith(" ms") and cells[3].endswith(" ms"):
            ours, theirs = float(cells[2][:-3]) / 1000, float(cells[3][:-3]) / 1000
            rows.append(("render", f"render in process: {cells[0]}", [(ours, 0.0)], [(theirs, 0.0)],
                         "kubectl kustomize (one process per app)", 30, "s"))


# ---------------------------------------------------------------- cluster


def kubectl_json(*args):
    _, out, _ = run([KUBECTL, *args, "-o", "json"])
    return json.loads(out)


def resource_versions(ns):
    """resourceVersion of every object; for Deployments, whose status the controller manager
    keeps updating, metadata.generation (moved by any spec write)."""
    out = {}
    for kind in ("configmaps", "secrets", "services", "deployments"):
        field = "generation" if kind == "deployments" else "resourceVersion"
        for item in kubectl_json("get", kind, "-n", ns)["items"]:
            out[(kind, item["metadata"]["name"])] = item["metadata"][field]
    return out


def settle(namespaces, pods, limit=300, quiet=3.0):
    """Waits until the controller manager is done with `namespaces`: every Deployment's pod made
    and no Deployment, ReplicaSet or Pod written for `quiet` seconds. Pods are made at the
    controller manager's client rate (20 requests a second), and Deployment statuses keep being
    written for 10 to 15 s after the last pod of 250 exists (measured). `kubectl diff` reads
    each object, then dry-runs it: a status written in between is a difference, and it exits 1.
    Both tools' no-op and diff runs must meet the same settled, idle state."""
    t = time.time()
    last, since = None, time.time()
    while time.time() - t < limit:
        n, newest = 0, 0
        for ns in namespaces:
            items = kubectl_json("get", "deployments,replicasets,pods", "-n", ns)["items"]
            n += sum(1 for i in items if i["kind"] == "Pod")
            newest = max([newest] + [int(i["metadata"]["resourceVersion"]) for i in items])
        if (n, newest) != last:
            last, since = (n, newest), time.time()
        elif n >= pods * len(namespaces) and time.time() - since >= quiet:
            return
        time.sleep(0.5)
    log(f"settle: {', '.join(namespaces)} still changing after {limit} s")


def differing_objects(diff_text):
    """The objects a `kubectl diff` or `ballast diff` output shows, and the changed lines of
    the first (at most 12), for a note."""
    objects = []
    for line in diff_text.splitlines():
        if line.startswith("diff -u -N "):
            objects.append(line.rsplit("/", 1)[-1])
        elif line.startswith("--- ") and not line.startswith("--- /"):
            objects.append(line[4:].strip())
    changed = [l for l in diff_text.splitlines() if l[:1] in "+-" and not l.startswith(("+++", "---"))][:12]
    return objects, changed


def bench_cluster():
    results = {m: {"b": [], "k": []} for m in ("apply-first", "apply-noop", "diff-noop")}
    for r in range(1, ROUNDS + 1):
        nb, nk = f"bench-ballast-{r}", f"bench-kubectl-{r}"
        for ns in (nb, nk):
            run([KUBECTL, "create", "namespace", ns])
        db, dk = os.path.join(WORK, "in", nb), os.path.join(WORK, "in", nk)
        write_objects(db, mixed_objects(nb, N, seed=r))
        write_objects(dk, mixed_objects(nk, N, seed=r))
        log(f"cluster round {r}/{ROUNDS}")
        order = ["b", "k"] if r % 2 else ["k", "b"]
        for phase in ("apply-first", "apply-noop"):
            for tool in order:
                if tool == "b":
                    before = resource_versions(nb) if phase == "apply-noop" else None
                    w, rss, out, err = timed([B, "sync", "--name", nb, "--path", db])
                    if phase == "apply-noop":
                        changed = [l for l in out.splitlines() if not l.endswith(" unchanged")]
                        if changed or "(0 write requests)" not in err:
                            sys.exit(f"bench: the no-op sync wrote: {changed[:5]} {err}")
                        if resource_versions(nb) != before:
                            sys.exit("bench: the no-op sync moved resourceVersions")
                else:
                    w, rss, _, _ = timed([KUBECTL, "apply", "--server-side", "--field-manager=bench", "-f", dk])
                results[phase][tool].append((w, rss))
                if phase == "apply-first":
                    settle((nb if tool == "b" else nk,), N // 4)
        settle((nb, nk), N // 4)
        for tool in order:
            # Both exit 1 when they find differences: that is a finding, never the end of the run.
            if tool == "b":
                w, rss, out, _ = timed([B, "diff", "--name", nb, "--path", db], ok=(0, 1))
            else:
                w, rss, out, _ = timed([KUBECTL, "diff", "--server-side", "--field-manager=bench", "-f", dk], ok=(0, 1))
            if out.strip():
                objects, changed = differing_objects(out)
                who = "ballast diff" if tool == "b" else "kubectl diff --server-side"
                log(f"{who}: {len(objects)} objects differ in round {r}: {objects[:5]} {changed}")
                notes.append(f"Cluster round {r}: `{who}` found {len(objects)} differing objects on the settled, "
                             f"unchanged namespace ({', '.join(objects[:3])}; {' | '.join(changed[:4])}).")
            results["diff-noop"][tool].append((w, rss))
    add_row("cluster", f"first apply, {N} mixed objects", results["apply-first"]["b"], results["apply-first"]["k"],
            "kubectl apply --server-side", 4)
    add_row("cluster", f"no-op re-sync, {N} objects (0 writes)", results["apply-noop"]["b"], results["apply-noop"]["k"],
            "kubectl apply --server-side (again)", 40)
    add_row("cluster", f"diff, {N} unchanged objects", results["diff-noop"]["b"], results["diff-noop"]["k"],
            "kubectl diff --server-side", 20)


# ---------------------------------------------------------------- controller


def api(method, path, body=None, ctype="application/json"):
    text = open(os.environ["KUBECONFIG"]).read()
    server = text.split("server: ")[1].split()[0]
    ca = text.split("certificate-authority: ")[1].split()[0]
    token = text.split("token: ")[1].split()[0]
    req = urllib.request.Request(server + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=ca)) as r:
        return json.loads(r.read())


def api_watch(path, timeout):
    """The events of a watch request (`?watch=1`), one dict per line, for at most `timeout` s."""
    text = open(os.environ["KUBECONFIG"]).read()
    server = text.split("server: ")[1].split()[0]
    ca = text.split("certificate-authority: ")[1].split()[0]
    token = text.split("token: ")[1].split()[0]
    req = urllib.request.Request(f"{server}{path}&timeoutSeconds={max(int(timeout), 1)}")
    req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=ca), timeout=timeout + 10) as r:
        for line in r:
            if line.strip():
                yield json.loads(line)


def proc_cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mib(pid, field="VmRSS"):
    """A process's resident memory in MiB: all of it (VmRSS), or its anonymous part (RssAnon:
    heap and stacks, without the executable's code pages read from disk)."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_controller():
    base = os.path.join(WORK, "controller")
    repo, src = os.path.join(base, "repo.git"), os.path.join(base, "src")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    run(["git", "init", "--quiet", "--bare", repo])
    run(["git", "init", "--quiet", "--initial-branch=main", src])

    def gen(rev):
        for a in range(APPS):
            docs = [d.replace("name: obj-", f"name: app-{a:03}-obj-") for d in mixed_objects("fleet", PER_APP, seed=a, rev=rev)]
            write_objects(os.path.join(src, "apps", f"app-{a:03}"), docs, files=2)

    gen("1")
    run([*git, "-C", src, "add", "-A"])
    run([*git, "-C", src, "commit", "--quiet", "-m", "rev1"])
    run(["git", "-C", src, "push", "--quiet", repo, "HEAD:refs/heads/main"])
    run([KUBECTL, "create", "namespace", "fleet"])
    run([B, "install"])
    flux = os.path.join(base, "flux")
    os.makedirs(flux)
    _, out, _ = run([B, "create", "source", "git", "fleet", "--url", f"file://{repo}", "--branch", "main",
                     "--interval", "1s", "--export"])
    docs = [out]
    for a in range(APPS):
        _, out, _ = run([B, "create", "kustomization", f"app-{a:03}", "--source", "GitRepository/fleet",
                         "--path", f"./apps/app-{a:03}", "--prune", "--interval", "10m", "--export"])
        docs.append(out)
    write(os.path.join(flux, "fleet.yaml"), "---\n".join(docs))

    log(f"controller: {APPS} Kustomizations x {PER_APP} objects")
    # The fleet repository is a local file:// repository: allowed explicitly.
    ctl = subprocess.Popen([B, "controller", "--allow-file-sources", "--metrics-addr", "127.0.0.1:0", "--concurrency", "8"],
                           stdout=open(os.path.join(base, "controller.out"), "w"),
                           stderr=open(os.path.join(base, "controller.err"), "w"))
    try:
        KS = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations"

        def ready(rev=None):
            n = 0
            for k in api("GET", KS)["items"]:
                st = k.get("status", {})
                ok = any(c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions", []))
                n += ok and (rev is None or st.get("lastAppliedRevision") == rev)
            return n

        def wait_all(rev=None, limit=900):
            t = time.time()
            while ready(rev) < APPS:
                if time.time() - t > limit:
                    sys.exit(f"bench: not all {APPS} Kustomizations ready after {limit}s ({ready(rev)})")
                time.sleep(0.1)

        t0 = time.time()
        run([B, "sync", "--name", "fleet", "--path", flux, "--inventory-namespace", "flux-system"])
        wait_all()
        cold = time.time() - t0
        time.sleep(10)
        rss_rest = proc_rss_mib(ctl.pid)
        c0 = proc_cpu_seconds(ctl.pid)
        time.sleep(IDLE)
        idle_cpu = (proc_cpu_seconds(ctl.pid) - c0) * 60 / IDLE
        gen("2")
        run([*git, "-C", src, "commit", "--quiet", "-am", "rev2"])
        _, head, _ = run(["git", "-C", src, "rev-parse", "HEAD"])
        t1 = time.time()
        run(["git", "-C", src, "push", "--quiet", repo, "HEAD:refs/heads/main"])
        wait_all(f"main@sha1:{head.strip()}")
        push = time.time() - t1
        time.sleep(5)
        rss_after = proc_rss_mib(ctl.pid)
        lat = []
        for e in range(EDITS):
            a, i = (e * 37) % APPS, ((e * 11) % (PER_APP // 4)) * 4  # ConfigMaps: every 4th object
            path = f"/api/v1/namespaces/fleet/configmaps/app-{a:03}-obj-{i:05}"
            want = api("GET", path)["data"]["key"]
            t = time.time()
            api("PATCH", path, {"data": {"key": "edited"}}, "application/merge-patch+json")
            while api("GET", path)["data"]["key"] != want:
                if time.time() - t > 60:
                    sys.exit(f"bench: edit {e} not restored after 60 s")
                time.sleep(0.01)
            lat.append(time.time() - t)
            time.sleep(0.2)
        lat.sort()
        p50, p95 = statistics.median(lat), lat[min(len(lat) - 1, int(round(0.95 * len(lat))) - 1)]
    finally:
        ctl.terminate()
        ctl.wait()
    total = APPS * PER_APP
    single = lambda v: [(v, 0.0)]
    add_row("controller", f"{APPS} Kustomizations x {PER_APP} objects: cold start -> all Ready", single(cold), None, "", None)
    add_row("controller", "push touching every app -> all Ready", single(push), None, "", None)
    add_row("controller", f"controller RSS at rest ({total} objects)", single(rss_rest), None, "", "< 100 MiB", "MiB")
    add_row("controller", "controller RSS after the push", single(rss_after), None, "", "< 100 MiB", "MiB")
    add_row("controller", "controller CPU per idle minute", single(idle_cpu), None, "", None, "cpu-s")
    add_row("controller", f"drift heal p50 ({EDITS} live edits)", single(p50), None, "", "< 2 s")
    add_row("controller", f"drift heal p95 ({EDITS} live edits)", single(p95), None, "", None)


# ---------------------------------------------------------------- webhook

def percentiles(samples):
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, int(round(0.95 * len(s))) - 1)]


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_webhook():
    """`git push` -> GitHub-style Receiver webhook -> the pushed ConfigMap applied, against the
    same push found by polling (GitRepository interval POLL_INTERVAL s, pushes at random points
    of the interval)."""
    import hashlib
    import hmac
    import uuid
    ns = "webhook-bench"
    base = os.path.join(WORK, "webhook")
    repo, src = os.path.join(base, "repo.git"), os.path.join(base, "src")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    run(["git", "init", "--quiet", "--bare", repo])
    run(["git", "init", "--quiet", "--initial-branch=main", src])

    def commit(rev):
        docs = [d.replace("key: value-", f"key: rev-{rev}-value-") for d in mixed_objects(ns, 20, seed=7, rev=str(rev))]
        write_objects(os.path.join(src, "app"), docs, files=2)
        run([*git, "-C", src, "add", "-A"])
        run([*git, "-C", src, "commit", "--quiet", "-m", f"rev {rev}"])
        return run(["git", "-C", src, "rev-parse", "HEAD"])[1].strip()

    commit(0)
    run(["git", "-C", src, "push", "--quiet", repo, "HEAD:refs/heads/main"])
    run([B, "install"])
    run([KUBECTL, "create", "namespace", ns], ok=(0, 1))
    token = uuid.uuid4().hex
    port = free_port()
    objects = os.path.join(base, "objects.yaml")
    write(objects, f"""apiVersion: v1
kind: Secret
metadata: {{name: hook, namespace: {ns}}}
stringData: {{token: {token}}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: app, namespace: {ns}}}
spec: {{url: "file://{repo}", interval: 1h, ref: {{branch: main}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: app, namespace: {ns}}}
spec: {{interval: 1h, prune: true, path: ./app, sourceRef: {{kind: GitRepository, name: app}}}}
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {{name: github, namespace: {ns}}}
spec:
  type: github
  events: [push]
  secretRef: {{name: hook}}
  resources: [{{kind: GitRepository, name: app}}]
""")
    run([KUBECTL, "apply", "-f", objects])
    ctl = subprocess.Popen([B, "controller", "--allow-file-sources", "--watch-namespace", ns,
                            "--webhook-addr", f"127.0.0.1:{port}", "--metrics-addr", "127.0.0.1:0"],
                           stdout=open(os.path.join(base, "controller.out"), "w"),
                           stderr=open(os.path.join(base, "controller.err"), "w"))
    CM = f"/api/v1/namespaces/{ns}/configmaps/obj-00000"
    RECV = f"/apis/notification.toolkit.fluxcd.io/v1/namespaces/{ns}/receivers/github"
    GR = f"/apis/source.toolkit.fluxcd.io/v1/namespaces/{ns}/gitrepositories/app"

    def applied(rev, limit):
        t = time.time()
        while True:
            try:
                if api("GET", CM)["data"]["key"].startswith(f"rev-{rev}-"):
                    return
            except urllib.error.HTTPError:
                pass
            if time.time() - t > limit:
                sys.exit(f"bench: rev {rev} not applied after {limit}s")
            time.sleep(0.02)

    def hook(path, head):
        body = json.dumps({"ref": "refs/heads/main", "after": head}).encode()
        sig = "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST")
        for k, v in (("Content-Type", "application/json"), ("X-GitHub-Event", "push"),
                     ("X-GitHub-Delivery", str(uuid.uuid4())), ("X-Hub-Signature-256", sig)):
            req.add_header(k, v)
        with urllib.request.urlopen(req, timeout=30) as r:
            if r.status != 200:
                sys.exit(f"bench: webhook answered {r.status}")

    try:
        applied(0, 300)
        t = time.time()
        while not api("GET", RECV).get("status", {}).get("webhookPath"):
            if time.time() - t > 120:
                sys.exit("bench: the Receiver has no webhookPath")
            time.sleep(0.2)
        path = api("GET", RECV)["status"]["webhookPath"]
        log(f"webhook: {PUSHES} pushes -> webhook -> applied")
        pushed = []
        for rev in range(1, PUSHES + 1):
            head = commit(rev)
            t = time.time()
            run(["git", "-C", src, "push", "--quiet", repo, "HEAD:refs/heads/main"])
            hook(path, head)
            applied(rev, 120)
            pushed.append(time.time() - t)
            time.sleep(1.0)  # the Receiver's rate limit is 2 calls a second
        log(f"webhook: {POLL_PUSHES} pushes found by polling every {POLL_INTERVAL} s")
        api("PATCH", GR, {"spec": {"interval": f"{POLL_INTERVAL}s"}}, "application/merge-patch+json")
        rnd = random.Random(17)
        polled = []
        for rev in range(PUSHES + 1, PUSHES + 1 + POLL_PUSHES):
            head = commit(rev)
            time.sleep(rnd.uniform(0, POLL_INTERVAL))
            t = time.time()
            run(["git", "-C", src, "push", "--quiet", repo, "HEAD:refs/heads/main"])
            applied(rev, POLL_INTERVAL * 3 + 60)
            polled.append(time.time() - t)
    finally:
        ctl.terminate()
        ctl.wait()
    p50, p95 = percentiles(pushed)
    q50, q95 = percentiles(polled)
    single = lambda v: [(v, 0.0)]
    add_row("webhook", f"push -> Receiver webhook -> applied p50 ({PUSHES} pushes)", single(p50), None, "", "< 3 s")
    add_row("webhook", f"push -> Receiver webhook -> applied p95 ({PUSHES} pushes)", single(p95), None, "", None)
    add_row("webhook", f"push -> applied by polling every {POLL_INTERVAL} s, p50 ({POLL_PUSHES} pushes)", single(q50), None, "", None)
    add_row("webhook", f"push -> applied by polling every {POLL_INTERVAL} s, p95 ({POLL_PUSHES} pushes)", single(q95), None, "", None)
    load = os.getloadavg()
    notes.append(f"webhook: one Kustomization of 20 objects from a file:// repository; a push is timed from `git push` to "
                 f"its ConfigMap read back changed (GET every 20 ms); the webhook is a signed GitHub push call to "
                 f"`--webhook-addr` right after the push; the polling rows push at a random point of the interval. "
                 f"Load average at the end: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} on {os.cpu_count()} CPUs; "
                 f"{'a debug' if '/debug/' in B else 'the release'} build.")


# ---------------------------------------------------------------- scale

SCALE_APPS = int(os.environ.get("SCALE_APPS", "1000"))
SCALE_IDLE = int(os.environ.get("SCALE_IDLE", "60"))
SCALE_CONCURRENCY = os.environ.get("SCALE_CONCURRENCY", "8")
# Configurations: (label, apps, objects per app, apps per GitRepository).
SCALE_CONFIGS = [
    ("monorepo", SCALE_APPS, 10, 10),
    ("one source each", SCALE_APPS, 10, 1),
    ("large apps", 100, 50, 100),
]
SCALE_ONLY = set(filter(None, os.environ.get("SCALE_ONLY", "monorepo,one source each,large apps").split(",")))


def plane_pids():
    """The control plane's processes (etcd, kube-apiserver, kube-controller-manager) by name."""
    out = {}
    path = os.path.join(WORK, "plane", "pids")
    if os.path.exists(path):
        for line in open(path):
            parts = line.split()
            if len(parts) == 2 and os.path.exists(f"/proc/{parts[1]}"):
                out[parts[0]] = int(parts[1])
    return out


def cpu_by_process(pids):
    return {name: proc_cpu_seconds(pid) for name, pid in pids.items()}


def controller_metrics(addr):
    """`ballast_api_requests_total` by verb and Kustomization reconciles so far (full and from the
    caches alone), from the controller's /metrics."""
    text = urllib.request.urlopen(f"http://{addr}/metrics", timeout=10).read().decode()
    requests, reconciles, unchanged = {}, 0.0, 0.0
    for line in text.splitlines():
        if line.startswith("ballast_api_requests_total{"):
            verb = re.search(r'verb="([^"]*)"', line).group(1)
            requests[verb] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("gotk_reconcile_duration_seconds_count{") and 'kind="Kustomization"' in line:
            reconciles += float(line.rsplit(" ", 1)[1])
        elif line.startswith("ballast_kustomization_unchanged_reconciles_total"):
            unchanged += float(line.rsplit(" ", 1)[1])
    return requests, reconciles, unchanged


def scale_fleet(label, apps, per_app, per_source):
    """One fleet: `apps` Kustomizations of `per_app` objects each (a quarter each of ConfigMaps,
    Secrets, Services, Deployments) in one Git repository, one GitRepository per `per_source`
    apps (all of the same URL and branch), intervals of 10 m. Measures cold start -> all Ready,
    idle CPU and requests, RSS at rest, a push touching every app -> all applied (the sources
    asked to reconcile at once, as a webhook Receiver does), and the controller's API requests
    per reconcile. Returns the figures and the CPU each process used in each phase."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    base = os.path.join(WORK, "scale", slug)
    repo, src = os.path.join(base, "repo.git"), os.path.join(base, "src")
    ns, app_ns = f"scale-{slug}", f"scale-{slug}-apps"
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    run(["git", "init", "--quiet", "--bare", repo])
    run(["git", "init", "--quiet", "--initial-branch=main", src])

    def gen(rev):
        for a in range(apps):
            docs = [d.replace("name: obj-", f"name: app-{a:04}-obj-") for d in mixed_objects(app_ns, per_app, seed=a, rev=rev)]
            write_objects(os.path.join(src, "apps", f"app-{a:04}"), docs, files=min(2, per_app))

    gen("1")
    run([*git, "-C", src, "add", "-A"])
    run([*git, "-C", src, "commit", "--quiet", "-m", "rev1"])
    run(["git", "-C", src, "push", "--quiet", repo, "HEAD:refs/heads/main"])
    for n in (ns, app_ns):
        run([KUBECTL, "create", "namespace", n])
    sources = (apps + per_source - 1) // per_source
    docs = []
    for g in range(sources):
        docs.append(f"apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: src-{g:04}\n  namespace: {ns}\n"
                    f"spec:\n  url: file://{repo}\n  interval: 10m\n  ref:\n    branch: main\n")
    for a in range(apps):
        docs.append(f"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app-{a:04}\n  namespace: {ns}\n"
                    f"spec:\n  interval: 10m\n  path: ./apps/app-{a:04}\n  prune: true\n"
                    f"  sourceRef:\n    kind: GitRepository\n    name: src-{a // per_source:04}\n")
    flux = os.path.join(base, "flux")
    write(os.path.join(flux, "fleet.yaml"), "---\n".join(docs))

    log(f"scale: {label}: {apps} Kustomizations x {per_app} objects, {sources} GitRepositories")
    err_path = os.path.join(base, "controller.err")
    ctl = subprocess.Popen([B, "controller", "--allow-file-sources", "--metrics-addr", "127.0.0.1:0",
                            "--concurrency", SCALE_CONCURRENCY, "--watch-namespace", ns],
                           stdout=open(os.path.join(base, "controller.out"), "w"), stderr=open(err_path, "w"))
    pids = plane_pids()
    try:
        addr = None
        for _ in range(600):
            m = re.search(r"metrics on http://(\S+)", open(err_path).read())
            if m:
                addr = m.group(1)
                break
            time.sleep(0.1)
        if not addr:
            sys.exit(f"bench: the controller did not start:\n{open(err_path).read()[-2000:]}")
        time.sleep(1)
        rss_empty = proc_rss_mib(ctl.pid)
        KS = f"/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{ns}/kustomizations"

        def ready(rev=None):
            n = 0
            for k in api("GET", KS)["items"]:
                st = k.get("status", {})
                ok = any(c["type"] == "Ready" and c["status"] == "True" and c.get("observedGeneration") == k["metadata"]["generation"]
                         for c in st.get("conditions", []))
                n += ok and (rev is None or st.get("lastAppliedRevision") == rev)
            return n

        def wait_all(rev=None, limit=1800):
            t = time.time()
            while True:
                n = ready(rev)
                if n >= apps:
                    return
                if time.time() - t > limit:
                    sys.exit(f"bench: {label}: {n} of {apps} Kustomizations ready after {limit}s")
                time.sleep(0.5)

        def phase_start():
            return time.time(), cpu_by_process({**pids, "ballast": ctl.pid}), controller_metrics(addr)

        def phase_end(start):
            t0, cpu0, (req0, rec0, un0) = start
            cpu1 = cpu_by_process({**pids, "ballast": ctl.pid})
            req1, rec1, un1 = controller_metrics(addr)
            requests = {v: req1.get(v, 0) - req0.get(v, 0) for v in req1 if req1.get(v, 0) - req0.get(v, 0) > 0}
            return {"wall": time.time() - t0, "cpu": {k: cpu1[k] - cpu0.get(k, 0) for k in cpu1},
                    "requests": requests, "reconciles": rec1 - rec0, "unchanged": un1 - un0}

        start = phase_start()
        run([B, "sync", "--name", f"scale-{slug}", "--path", flux, "--inventory-namespace", ns])
        wait_all()
        cold = phase_end(start)
        time.sleep(10)
        rss_rest = proc_rss_mib(ctl.pid)
        start = phase_start()
        time.sleep(SCALE_IDLE)
        idle = phase_end(start)
        # A reconcile of every Kustomization with nothing changed: a new generation-less request
        # is not possible without an annotation (which forces the full path), so the interval's
        # no-op is measured by the cluster test; here the sources' polls are what idle costs.
        gen("2")
        run([*git, "-C", src, "commit", "--quiet", "-am", "rev2"])
        _, head, _ = run(["git", "-C", src, "rev-parse", "HEAD"])
        start = phase_start()
        run(["git", "-C", src, "push", "--quiet", repo, "HEAD:refs/heads/main"])
        run([KUBECTL, "annotate", "gitrepositories", "--all", "-n", ns, "--overwrite",
             f"reconcile.fluxcd.io/requestedAt={time.time()}"])
        wait_all(f"main@sha1:{head.strip()}")
        push = phase_end(start)
        time.sleep(5)
        rss_after = proc_rss_mib(ctl.pid)
    finally:
        ctl.terminate()
        ctl.wait()
    # The next fleet starts clean: its objects' namespace goes (the drift watches select owner
    # labels cluster-wide), the Kustomizations stay, unwatched.
    run([KUBECTL, "delete", "namespace", app_ns, "--wait=false"])
    return {"label": label, "apps": apps, "per_app": per_app, "sources": sources, "cold": cold, "idle": idle,
            "push": push, "rss_empty": rss_empty, "rss_rest": rss_rest, "rss_after": rss_after}


def bench_scale():
    single = lambda v: [(v, 0.0)]
    run([B, "install"])
    for label, apps, per_app, per_source in SCALE_CONFIGS:
        if label not in SCALE_ONLY:
            continue
        f = scale_fleet(label, apps, per_app, per_source)
        what = f"{apps} x {per_app} ({label}, {f['sources']} GitRepositories)"
        add_row("scale", f"{what}: cold start -> all Ready", single(f["cold"]["wall"]), None, "", "< 60 s" if apps >= 1000 else None)
        add_row("scale", f"{what}: push touching every app -> all applied", single(f["push"]["wall"]), None, "",
                "< 30 s" if apps >= 1000 else None)
        add_row("scale", f"{what}: controller RSS at rest", single(f["rss_rest"]), None, "", "< 150 MiB" if apps >= 1000 else None, "MiB")
        per_app_kib = max(f["rss_rest"] - f["rss_empty"], 0.0) * 1024 / apps
        add_row("scale", f"{what}: controller RSS at rest per app above the empty controller ({f['rss_empty']:.0f} MiB)",
                single(per_app_kib), None, "", "< 64 KiB", "KiB")
        add_row("scale", f"{what}: controller CPU per idle minute", single(f["idle"]["cpu"].get("ballast", 0.0) * 60 / SCALE_IDLE),
                None, "", "< 1 cpu-s" if apps >= 1000 else None, "cpu-s")
        for phase in ("cold", "push", "idle"):
            p = f[phase]
            total = sum(p["requests"].values())
            full = p["reconciles"] - p["unchanged"]
            per = f"{total / full:.1f} per full reconcile" if full else "no reconcile"
            verbs = ", ".join(f"{v} {n:.0f}" for v, n in sorted(p["requests"].items(), key=lambda kv: -kv[1]))
            cpu = ", ".join(f"{k} {v:.1f}" for k, v in sorted(p["cpu"].items(), key=lambda kv: -kv[1]))
            notes.append(f"Scale: {what}, {phase}: {p['wall']:.1f} s wall; API requests {total:.0f} ({per}; "
                         f"{p['reconciles']:.0f} Kustomization reconciles, {p['unchanged']:.0f} from the caches alone): "
                         f"{verbs or 'none'}; CPU seconds by process: {cpu}.")
    load = open("/proc/loadavg").read().split()[:3]
    notes.append(f"Scale: `ballast controller --concurrency {SCALE_CONCURRENCY}`, one file:// repository, objects in their "
                 f"own namespace, Kustomizations and GitRepositories every 10 m; the push is followed by "
                 f"`reconcile.fluxcd.io/requestedAt` on every GitRepository (what a webhook Receiver does). Ready: Ready=True "
                 f"for the generation (and the new revision after the push), polled with one LIST every 0.5 s. "
                 f"Load average at the end: {' '.join(load)} on {os.cpu_count()} CPUs (a shared machine).")


# ---------------------------------------------------------------- helmrelease

# Flux's published figure: 1,000 HelmReleases of a small chart in 8 m 12 s, helm-controller at
# about 400 MiB. Per release: 0.49 s and 0.4 MiB; the goal is a tenth of both.
FLUX_RELEASES, FLUX_SECONDS, FLUX_MIB = 1000, 8 * 60 + 12, 400.0


def hr_chart(src, version, message):
    """A small chart at charts/app: a ConfigMap, a Service and a Deployment (no kubelet here: the
    releases set disableWait)."""
    d = os.path.join(src, "charts", "app")
    write(os.path.join(d, "Chart.yaml"), f"apiVersion: v2\nname: app\nversion: {version}\nappVersion: \"{version}\"\n")
    write(os.path.join(d, "values.yaml"), f"message: {message}\nreplicas: 1\nindex: 0\n")
    write(os.path.join(d, "templates", "configmap.yaml"),
          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  labels:\n    app: {{ .Release.Name }}\n"
          "data:\n  message: {{ .Values.message | quote }}\n  index: {{ .Values.index | quote }}\n  chart: {{ .Chart.Version | quote }}\n")
    write(os.path.join(d, "templates", "service.yaml"),
          "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector:\n    app: {{ .Release.Name }}\n"
          "  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n")
    write(os.path.join(d, "templates", "deployment.yaml"),
          "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n"
          "  selector:\n    matchLabels:\n      app: {{ .Release.Name }}\n  template:\n    metadata:\n      labels:\n        app: {{ .Release.Name }}\n"
          "      annotations:\n        checksum/config: {{ .Values.message | sha256sum }}\n    spec:\n      containers:\n      - name: app\n"
          "        image: registry.invalid/bench/app:{{ .Chart.AppVersion }}\n        ports:\n        - containerPort: 8080\n")


def request_counts():
    """The API server's requests so far (`apiserver_request_total`) and their server time
    (`apiserver_request_duration_seconds_sum`), by (verb, resource, subresource)."""
    text = subprocess.run([KUBECTL, "get", "--raw", "/metrics"], check=True, capture_output=True, text=True).stdout
    counts, seconds = {}, {}
    for line in text.splitlines():
        # Watches the server closed on a slow reader (their clients list again).
        if line.startswith("apiserver_terminated_watchers_total{"):
            resource = re.search(r'resource="([^"]*)"', line)
            key = ("TERMINATED WATCH", resource.group(1) if resource else "", "")
            counts[key] = counts.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
            continue
        for metric, into in (("apiserver_request_total{", counts), ("apiserver_request_duration_seconds_sum{", seconds)):
            if not line.startswith(metric):
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line[len(metric) - 1:line.rindex("}")]))
            key = (labels.get("verb", ""), labels.get("resource", ""), labels.get("subresource", ""))
            into[key] = into.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts, seconds


def controller_reconciles(err_log):
    """Reconciles so far by kind, from the controller's metrics (its address read from its log)."""
    text = open(err_log).read()
    if "probes and metrics on " not in text:
        return {}
    base = text.split("probes and metrics on ")[1].split()[0]
    with urllib.request.urlopen(base + "/metrics") as r:
        body = r.read().decode()
    out = {}
    for line in body.splitlines():
        if line.startswith("gotk_reconcile_duration_seconds_count{"):
            kind = re.search(r'kind="([^"]*)"', line)
            key = kind.group(1) if kind else "?"
            out[key] = out.get(key, 0) + int(float(line.rsplit(" ", 1)[1]))
    return out


def write_idle_detail(path, seconds, before, after):
    """What the controller did in an idle window: reconciles by kind and API requests (deltas)."""
    with open(path, "w") as f:
        f.write(f"idle window: {seconds} s\n")
        for kind in sorted(set(before[0]) | set(after[0])):
            f.write(f"reconciles {kind}\t{after[0].get(kind, 0) - before[0].get(kind, 0)}\n")
        rows = sorted(((k, n - before[1].get(k, 0.0)) for k, n in after[1].items()), key=lambda kv: -kv[1])
        for (verb, resource, sub), n in rows:
            if n >= 1:
                name = f"{resource}/{sub}" if sub else resource
                f.write(f"{verb} {name}\t{n:.0f}\n")


def write_request_counts(path):
    """The API server's requests so far by verb and resource, most first, to `path`."""
    counts, seconds = request_counts()
    rows = sorted(counts.items(), key=lambda kv: -kv[1])
    with open(path, "w") as f:
        for (verb, resource, sub), n in rows:
            if n >= 20 or verb in ("WATCH", "TERMINATED WATCH"):
                name = f"{resource}/{sub}" if sub else resource
                f.write(f"{verb} {name}\t{n:.0f}\t{seconds.get((verb, resource, sub), 0.0):.1f} s\n")


def bench_helmrelease():
    base = os.path.join(WORK, "helmrelease")
    repo, src = os.path.join(base, "repo.git"), os.path.join(base, "src")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    run(["git", "init", "--quiet", "--bare", repo])
    run(["git", "init", "--quiet", "--initial-branch=main", src])
    hr_chart(src, "0.1.0", "hello")
    run([*git, "-C", src, "add", "-A"])
    run([*git, "-C", src, "commit", "--quiet", "-m", "chart 0.1.0"])
    run(["git", "-C", src, "push", "--quiet", repo, "HEAD:refs/heads/main"])
    ns = "bench-hr"
    run([KUBECTL, "create", "namespace", ns])
    run([B, "install"])
    flux = os.path.join(base, "flux")
    docs = [f"apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: charts\n  namespace: {ns}\n"
            f"spec:\n  url: file://{repo}\n  interval: 1s\n  ref:\n    branch: main\n"]
    for r in range(RELEASES):
        docs.append(f"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app-{r:03}\n  namespace: {ns}\n"
                    "spec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/app\n      interval: 10m\n"
                    "      sourceRef:\n        kind: GitRepository\n        name: charts\n"
                    "  install:\n    disableWait: true\n  upgrade:\n    disableWait: true\n"
                    f"  values:\n    index: {r}\n")
    write(os.path.join(flux, "releases.yaml"), "---\n".join(docs))

    log(f"helmrelease: {RELEASES} HelmReleases of a small chart (ConfigMap, Service, Deployment)")
    ctl = subprocess.Popen([B, "controller", "--allow-file-sources", "--metrics-addr", "127.0.0.1:0", "--concurrency",
                            HR_CONCURRENCY],
                           stdout=open(os.path.join(base, "controller.out"), "w"),
                           stderr=open(os.path.join(base, "controller.err"), "w"))
    try:
        HRS = f"/apis/helm.toolkit.fluxcd.io/v2/namespaces/{ns}/helmreleases"

        def ready(h, version):
            """Whether HelmRelease `h` is Ready for its generation with `version` deployed."""
            st = h.get("status", {})
            ok = any(c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions", []))
            ok = ok and st.get("observedGeneration") == h["metadata"].get("generation")
            hist = st.get("history") or [{}]
            return ok and hist[0].get("chartVersion") == version and hist[0].get("status") == "deployed"

        def wait_all(version, limit=900):
            """Until every HelmRelease is ready with `version`: one LIST, then a watch from its
            resourceVersion (each change is sent once; a LIST of every HelmRelease per poll cost
            the API server O(releases) each time, a large share of its CPU at 1,000 releases)."""
            t = time.time()
            while True:
                listed = api("GET", HRS)
                state = {h["metadata"]["name"]: ready(h, version) for h in listed["items"]}
                rv = listed["metadata"]["resourceVersion"]
                n = sum(state.values())
                while n < RELEASES:
                    left = limit - (time.time() - t)
                    if left <= 0:
                        sys.exit(f"bench: {n} of {RELEASES} HelmReleases ready with {version} after {limit}s")
                    try:
                        for event in api_watch(f"{HRS}?watch=1&resourceVersion={rv}", min(left, 60)):
                            if event["type"] == "ERROR":
                                raise TimeoutError(event["object"].get("message", ""))
                            h = event["object"]
                            rv = h["metadata"]["resourceVersion"]
                            now = event["type"] != "DELETED" and ready(h, version)
                            n += now - state.get(h["metadata"]["name"], False)
                            state[h["metadata"]["name"]] = now
                            if n >= RELEASES:
                                break
                    except (TimeoutError, OSError):
                        break  # listed again
                else:
                    return

        # The controller's own footprint before any object exists.
        time.sleep(5)
        rss_empty = proc_rss_mib(ctl.pid)
        anon_empty = proc_rss_mib(ctl.pid, "RssAnon")
        c_start = proc_cpu_seconds(ctl.pid)
        t0 = time.time()
        synced, _, _ = run([B, "sync", "--name", "releases", "--path", flux, "--inventory-namespace", ns])
        log(f"helmrelease: the {RELEASES} HelmReleases applied in {synced:.1f} s (part of the cold start)")
        wait_all("0.1.0")
        cold = time.time() - t0
        cpu_cold = proc_cpu_seconds(ctl.pid) - c_start
        rss_peak_cold = proc_rss_mib(ctl.pid)
        time.sleep(10)
        rss_rest = proc_rss_mib(ctl.pid)
        anon_rest = proc_rss_mib(ctl.pid, "RssAnon")
        err_log = os.path.join(base, "controller.err")
        detail = os.environ.get("HR_IDLE_DETAIL")
        before = (controller_reconciles(err_log), request_counts()[0]) if detail else None
        c0 = proc_cpu_seconds(ctl.pid)
        time.sleep(HR_IDLE)
        idle_cpu = (proc_cpu_seconds(ctl.pid) - c0) * 60 / HR_IDLE
        if detail:
            write_idle_detail(detail, HR_IDLE, before, (controller_reconciles(err_log), request_counts()[0]))
        hr_chart(src, "0.2.0", "upgraded")
        run([*git, "-C", src, "commit", "--quiet", "-am", "chart 0.2.0"])
        c1 = proc_cpu_seconds(ctl.pid)
        t1 = time.time()
        run(["git", "-C", src, "push", "--quiet", repo, "HEAD:refs/heads/main"])
        wait_all("0.2.0")
        upgrade = time.time() - t1
        cpu_upgrade = proc_cpu_seconds(ctl.pid) - c1
        time.sleep(10)
        rss_after = proc_rss_mib(ctl.pid)
        # Every release's objects carry the new chart version.
        cms = api("GET", f"/api/v1/namespaces/{ns}/configmaps?labelSelector=app")["items"]
        upgraded = sum(1 for c in cms if c.get("data", {}).get("chart") == "0.2.0")
        if upgraded != RELEASES:
            sys.exit(f"bench: {upgraded} of {RELEASES} release ConfigMaps carry chart 0.2.0")
        if os.environ.get("HR_REQUESTS"):
            write_request_counts(os.environ["HR_REQUESTS"])
    finally:
        ctl.terminate()
        ctl.wait()
    load = open("/proc/loadavg").read().split()[:3]
    single = lambda v: [(v, 0.0)]
    flux_s, flux_mib = FLUX_SECONDS / FLUX_RELEASES, FLUX_MIB / FLUX_RELEASES
    peer = "Flux helm-controller, published (1,000 releases in 8 m 12 s, ~400 MiB)"
    add_row("helmrelease", f"{RELEASES} HelmReleases (small chart): cold start -> all Ready", single(cold), None, "", None)
    add_row("helmrelease", "cold start, per release", single(cold / RELEASES), single(flux_s), peer, 10)
    add_row("helmrelease", "new chart version pushed -> all upgraded and Ready", single(upgrade), None, "", None)
    add_row("helmrelease", "upgrade, per release", single(upgrade / RELEASES), single(flux_s), peer, 10)
    add_row("helmrelease", "controller CPU, cold start (all releases)", single(cpu_cold), None, "", None, "cpu-s")
    add_row("helmrelease", "controller CPU, upgrade (all releases)", single(cpu_upgrade), None, "", None, "cpu-s")
    add_row("helmrelease", "controller RSS with no object", single(rss_empty), None, "", None, "MiB")
    add_row("helmrelease", f"controller RSS at rest ({RELEASES} releases)", single(rss_rest), None, "", None, "MiB")
    add_row("helmrelease", "controller RSS at rest, per release", single(rss_rest / RELEASES), single(flux_mib), peer, 10, "MiB")
    add_row("helmrelease", "controller RSS at rest, per release above the empty controller",
            single(max(rss_rest - rss_empty, 0.0) / RELEASES), single(flux_mib), peer, 10, "MiB")
    add_row("helmrelease", "controller anonymous RSS at rest (no code pages), per release above the empty controller",
            single(max(anon_rest - anon_empty, 0.0) / RELEASES), single(flux_mib), peer, 10, "MiB")
    add_row("helmrelease", "controller RSS after the upgrade", single(rss_after), None, "", None, "MiB")
    add_row("helmrelease", "controller CPU per idle minute", single(idle_cpu), None, "", None, "cpu-s")
    notes.append(f"HelmRelease: one GitRepository (file://, 1 s interval) holding a chart of a ConfigMap, a Service and a "
                 f"Deployment (install and upgrade with disableWait: the control plane has no kubelet); {RELEASES} "
                 f"HelmReleases of it in one namespace, each its own release and values; `ballast controller "
                 f"--concurrency {HR_CONCURRENCY}`. Ready means Ready=True for the object's generation with the chart version "
                 "deployed in `status.history`, seen by one LIST then a watch of the HelmReleases; the upgrade is a new chart version pushed to Git. "
                 f"RSS is VmRSS 10 s after the last release was Ready (anonymous RSS: RssAnon, the same without the "
                 f"executable's code pages, which grow by a fixed amount as the helm code first runs; peak seen at the end of the cold start: "
                 f"{rss_peak_cold:.0f} MiB); idle CPU over {HR_IDLE} s. Load average at the end of the group: "
                 f"{' '.join(load)} on {os.cpu_count()} CPUs (a shared machine). Flux's figure is from its own "
                 "published benchmark on other hardware, not measured here.")


# ---------------------------------------------------------------- git


def bench_git():
    base = os.path.join(WORK, "git")
    src = os.path.join(base, "src.git")
    log(f"git: generating {GIT_COMMITS} commits, {GIT_FILES} files")
    run(["git", "init", "--quiet", "--bare", "--initial-branch=main", src])
    rnd = random.Random(7)
    stream = []
    mark = 0

    def blob(text):
        data = text.encode()
        return b"data %d\n%s\n" % (len(data), data)

    ts = 1700000000
    for c in range(GIT_COMMITS):
        stream.append(b"commit refs/heads/main\n")
        stream.append(b"committer bench <bench@localhost> %d +0000\n" % (ts + c))
        stream.append(blob(f"commit {c}"))
        if c == 0:
            for f in range(GIT_FILES):
                stream.append(b"M 100644 inline " + f"files/d{f % 50:02}/f{f:05}.txt".encode() + b"\n")
                stream.append(blob(f"file {f} {rnd.getrandbits(64):x}\n" * 8))
            stream.append(b"M 100644 inline app/cm.yaml\n")
            stream.append(blob("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: git-bench\ndata:\n  rev: \"0\"\n"))
        else:
            f = rnd.randrange(GIT_FILES)
            stream.append(b"M 100644 inline " + f"files/d{f % 50:02}/f{f:05}.txt".encode() + b"\n")
            stream.append(blob(f"file {f} changed in {c}\n"))
        stream.append(b"\n")
    p = subprocess.run(["git", "-C", src, "fast-import", "--quiet"], input=b"".join(stream), capture_output=True)
    if p.returncode:
        sys.exit(f"bench: git fast-import failed: {p.stderr.decode()}")
    run(["git", "-C", src, "gc", "--quiet"])
    url = f"file://{src}"
    first_b, first_k, inc_b, inc_k = [], [], [], []
    for r in range(ROUNDS):
        cache = os.path.join(base, f"cache-{r}")
        clone = os.path.join(base, f"clone-{r}")
        env = dict(os.environ, BALLAST_CACHE=cache)
        order = ["b", "k"] if r % 2 == 0 else ["k", "b"]
        for tool in order:
            if tool == "b":
                first_b.append(timed([B, "build", "--url", url, "--branch", "main", "--path", "app"], env=env)[:2])
            else:
                first_k.append(timed(["git", "clone", "--quiet", url, clone])[:2])
        # One more commit, then the incremental fetch.
        work = os.path.join(base, f"push-{r}")
        run(["git", "clone", "--quiet", "--depth=1", url, work])
        write(os.path.join(work, "app", "cm.yaml"), f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: git-bench\ndata:\n  rev: \"{r + 1}\"\n")
        run(["git", "-C", work, "-c", "user.name=b", "-c", "user.email=b@localhost", "commit", "--quiet", "-am", f"rev {r + 1}"])
        run(["git", "-C", work, "push", "--quiet", "origin", "HEAD:main"])
        for tool in order:
            if tool == "b":
                inc_b.append(timed([B, "build", "--url", url, "--branch", "main", "--path", "app"], env=env)[:2])
            else:
                inc_k.append(timed(["sh", "-c", f"git -C {clone} fetch --quiet origin && git -C {clone} checkout --quiet origin/main"])[:2])
        shutil.rmtree(work)
    add_row("git", f"first fetch ({GIT_COMMITS} commits, {GIT_FILES} files)", first_b, first_k, "git clone", None)
    add_row("git", "incremental fetch (one new commit)", inc_b, inc_k, "git fetch + checkout", None)
    notes.append("Git: Ballast fetches the one commit it needs (`--depth=1`) into a cache and makes a "
                 "content-addressed artifact of it (a new commit hard-links the previous artifact's unchanged "
                 "files); `git clone` fetches the whole history. Peak RSS in these rows is git's own: over file:// "
                 "the serving side's pack-objects is a child of the fetching process.")


# ---------------------------------------------------------------- helm

# (label, archive in crates/ballast-helm/tests/fixtures/charts, release, namespace), each with its
# default values: small to large, the large umbrella chart (UMBRELLA) last, on its own row.
HELM_CHARTS = [
    ("podinfo (small, apiVersion v1)", "podinfo-6.14.1.tgz", "podinfo", ""),
    ("ingress-nginx", "ingress-nginx-4.15.1.tgz", "ingress", "ingress-nginx"),
    ("cert-manager (schema)", "cert-manager-v0.0.0.tgz", "cert-manager", "cert-manager"),
    ("redis (bitnami common library)", "redis-23.1.1.tgz", "redis", ""),
    ("airflow (bitnami, 3 subcharts)", "airflow-25.1.0.tgz", "af", ""),
    ("argo-cd (CRDs, redis-ha subchart)", "argo-cd-10.1.1.tgz", "argocd", "argocd"),
    ("kube-prometheus-stack (umbrella, 4 subcharts)", "kube-prometheus-stack-88.5.3.tgz", "kps", "monitoring"),
]
# (label, release, namespace) of the large umbrella chart (umbrella_chart), the last row.
UMBRELLA = ("large umbrella: 30 public charts as subcharts", "um", "umbrella")


def umbrella_chart(charts, work):
    """The large umbrella chart: a chart of its own whose charts/ holds the fixture archives listed
    in umbrella.txt (the chart crates/ballast-helm/benches/template.rs renders in process)."""
    root = os.path.join(work, "umbrella")
    os.makedirs(os.path.join(root, "charts"), exist_ok=True)
    write(os.path.join(root, "Chart.yaml"),
          "apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndescription: public charts as subcharts\n")
    with open(os.path.join(charts, "umbrella.txt")) as f:
        names = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    for name in names:
        shutil.copy(os.path.join(charts, name), os.path.join(root, "charts", name))
    return root


def differing_lines(a, b):
    """Lines that differ, a line with a random value compared only up to its first ': '."""
    la, lb = a.splitlines(), b.splitlines()
    key = lambda l: l.split(": ", 1)[0]
    return abs(len(la) - len(lb)) + sum(1 for x, y in zip(la, lb) if x != y and key(x) != key(y))


def bench_helm():
    charts = os.path.join(os.environ["BALLAST_ROOT"], "crates", "ballast-helm", "tests", "fixtures", "charts")
    home = os.path.join(WORK, "helm-home")
    # helm offline (inside `unshare -n` where that works) and with no user configuration.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(KUBECONFIG=os.path.join(home, "no-kubeconfig"), HELM_CACHE_HOME=os.path.join(home, "cache"),
               HELM_CONFIG_HOME=os.path.join(home, "config"), HELM_DATA_HOME=os.path.join(home, "data"), NO_COLOR="1")
    wrap = ["unshare", "-n"] if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0 else []
    # What the wrapper adds to a process, taken off helm's times so that the ratio is helm's own:
    # `unshare -n true` less `true` (measured alternately), so that both tools' times count the
    # start of their process, as a user running either pays it.
    overhead = 0.0
    if wrap:
        pairs = [(timed(wrap + ["true"])[0], timed(["true"])[0]) for _ in range(20)]
        overhead = max(statistics.median(w for w, _ in pairs) - statistics.median(t for _, t in pairs), 0.0)
    label, release, ns = UMBRELLA
    cases = [(lb, os.path.join(charts, archive), rl, n) for lb, archive, rl, n in HELM_CHARTS]
    cases.append((label, umbrella_chart(charts, WORK), release, ns))

    def check(case):
        """Runs both once, untimed (warms the page cache, checks that both render the same):
        (the row's commands or None, notes). Run in a child process (below), so that the outputs
        read here never grow this one: a child's peak RSS (ru_maxrss) starts from the peak of
        the process that started it, whose memory it shares until it calls exec."""
        label, chart, release, ns = case
        archive = os.path.basename(chart)
        flags = ["-n", ns] if ns else []
        bcmd = [B, "template", release, chart] + flags
        hcmd = wrap + [HELM, "template", release, chart] + flags
        hp = subprocess.run(hcmd, capture_output=True, env=env)
        if hp.returncode:
            return None, [f"bench: helm template {archive} failed:\n{hp.stderr.decode()[-2000:]}"]
        bp = subprocess.run(bcmd, capture_output=True)
        expected = hp.stdout.decode()
        lines = len(expected.splitlines())
        if bp.returncode:
            err = bp.stderr.decode().strip().splitlines()
            return None, [f"Helm: `ballast template` failed on {archive}, no row: {err[0] if err else ''}"]
        diff = differing_lines(bp.stdout.decode(), expected)
        found = [f"Helm: on {archive}, {diff} of {lines} lines differ from helm's output."] if diff else []
        return (label, lines, bcmd, hcmd, [], []), found

    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    notes.append(f"Helm, peak RSS: a child's peak RSS as the kernel reports it (ru_maxrss) is at least that of "
                 f"the process that started it, this harness ({floor:.0f} MiB when the helm rows began): a row "
                 "at about that figure says the tool's own peak is no higher.")
    fork = multiprocessing.get_context("fork")
    receive, send = fork.Pipe(duplex=False)
    child = fork.Process(target=lambda: send.send([check(case) for case in cases]))
    child.start()
    checked = receive.recv()
    child.join()
    ready = []
    for row, found in checked:
        if row is None and found[0].startswith("bench: "):
            sys.exit(found[0])
        notes.extend(found)
        if row is None:
            log(found[0])
        else:
            ready.append(row)
    for label, lines, bcmd, hcmd, bs, hs in ready:
        log(f"helm: {label} ({lines} lines), one process each")
        for r in range(ROUNDS):
            for tool in (["b", "h"] if r % 2 == 0 else ["h", "b"]):
                if tool == "b":
                    bs.append(timed(bcmd, keep=False)[:2])
                else:
                    w, rss = timed(hcmd, env=env, keep=False)[:2]
                    hs.append((max(w - overhead, 0.0), rss))
        add_row("helm", f"template {label}, {lines} lines (one process)", bs, hs, "helm template", 10)
    # The controller renders in process: the same charts without a process per chart.
    log("helm: in process (cargo bench -p ballast-helm --bench template)")
    _, out, _ = run(["cargo", "bench", "--quiet", "--locked", "-p", "ballast-helm", "--bench", "template"],
                    cwd=os.environ["BALLAST_ROOT"], env=dict(os.environ, BALLAST_HELM=HELM))
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6 or not cells[3].endswith(" ms"):
            continue
        if cells[2].endswith(" ms"):
            ours, theirs = float(cells[2][:-3]) / 1000, float(cells[3][:-3]) / 1000
            rows.append(("helm", f"template in process: {cells[0]}, {cells[1]} lines", [(ours, 0.0)], [(theirs, 0.0)],
                         "helm template (one process per chart)", 30, "s"))
        if cells[5] != "= helm":
            notes.append(f"Helm in process: {cells[0]}: {cells[5]}.")
    notes.append(f"Helm: the reference helm v4.1.4 runs {'inside `unshare -n` (offline)' if wrap else 'as is'} with no "
                 f"user configuration; what the wrapper adds to a process ({overhead * 1000:.1f} ms, measured: `unshare -n true` "
                 "less `true`) is taken off helm's times. Charts are the public archives of `crates/ballast-helm/tests/fixtures/charts` with "
                 "their default values; lines holding random values (generated passwords, certificates) are compared "
                 "only up to their first `: `.")
    notes.append("Helm in process: two rows per chart. \"nothing kept\": each render unpacks and parses the "
                 "chart from nothing (a chart's first render in a process). \"chart kept\": renders on a render "
                 "worker that kept the chart archive and its template parses from the render before "
                 "(`ballast_helm::kept`), as a controller rendering a chart again (its next reconcile, other "
                 "values) does; values, execution and printing are done again at each render on both rows.")
    notes.append("Helm, large umbrella: a chart of its own (apiVersion v2) holding under `charts/` the archives listed in "
                 "`crates/ballast-helm/tests/fixtures/charts/umbrella.txt` (30 public charts), default values. Several "
                 "of them generate certificates (`genCA`, `genSignedCert`): RSA key generation, of random length, is a "
                 "large part of both tools' time on these rows.")


# ---------------------------------------------------------------- report


def fmt(v, unit):
    if unit == "s":
        if v < 0.01:
            return f"{v * 1000:.2f} ms"
        return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"
    if unit == "MiB":
        return f"{v:.2f} MiB" if v < 10 else f"{v:.0f} MiB"
    return f"{v:.2f} {unit}"


def table_lines():
    """One table line per row, in the order the rows were added."""
    lines = []
    for group, measure, b, p, peer, goal, unit in rows:
        bm = statistics.median(s for s, _ in b)
        brss = max(r for _, r in b)
        if p:
            pm = statistics.median(s for s, _ in p)
            prss = max(r for _, r in p)
            ratio = pm / bm if bm > 0 else float("inf")
            goal_txt = f">= {goal}x: {'met' if ratio >= goal else 'missed'}" if isinstance(goal, (int, float)) else ""
            mib = lambda r: f"{r:.0f} MiB" if r > 0 else ""
            lines.append(f"| {group} | {measure} | {fmt(bm, unit)} | {fmt(pm, unit)} | {ratio:.1f}x | {mib(brss)} | {mib(prss)} | {peer} | {goal_txt} |")
        else:
            goal_txt = ""
            if isinstance(goal, str):
                limit = float(goal.split()[1])
                goal_txt = f"{goal}: {'met' if bm < limit else 'missed'}"
            lines.append(f"| {group} | {measure} | {fmt(bm, unit)} | | | | | | {goal_txt} |")
    return lines


TABLE_HEAD = ["| group | measure | ballast median | peer median | ratio | ballast peak RSS | peer peak RSS | peer | goal |",
              "|---|---|---|---|---|---|---|---|---|"]


def previous(path):
    """The previous BENCHMARKS.md: its date, table lines by group, notes, and what follows them
    (the hand-written sections from the first `## ` heading on)."""
    if not os.path.exists(path):
        return None, {}, [], ""
    text = open(path).read()
    head, sep, rest = text.partition("\n## ")
    tail = sep.lstrip("\n") + rest if sep else ""
    date, by_group, old_notes = None, {}, []
    for line in head.splitlines():
        if line.startswith("Generated by") and " on " in line:
            ran_on = line.split(") on ", 1)[1].split()[0].rstrip(".;") if ") on " in line else None
            ran = line.split("groups: ", 1)[1].split(")", 1)[0].split(", ") if "groups: " in line else []
            carried_from = line.split("from the run of ", 1)[1].rstrip(".") if "from the run of " in line else None
            # The date of each group's rows: the previous run's for the groups it ran, else
            # the date those rows had been carried with.
            date = {"ran": set(ran), "ran_on": ran_on, "carried_from": carried_from}
        elif line.startswith("| ") and not line.startswith("| group |"):
            by_group.setdefault(line.split("|")[1].strip(), []).append(line)
        elif line.startswith("- "):
            old_notes.append(line[2:])
    return date, by_group, old_notes, tail


def main():
    groups = [("render", bench_render), ("cluster", bench_cluster), ("controller", bench_controller),
              ("webhook", bench_webhook), ("scale", bench_scale), ("helmrelease", bench_helmrelease), ("git", bench_git),
              ("helm", bench_helm)]
    for name, fn in groups:
        if name in ONLY:
            fn()
    new = table_lines()
    print("\n".join(TABLE_HEAD + new))
    # Groups not run keep their rows and notes from the previous file.
    date, old_rows, old_notes, tail = previous("BENCHMARKS.md")
    kept = [g for g in GROUPS if g not in ONLY and old_rows.get(g)]
    lines = list(TABLE_HEAD)
    for g in GROUPS:
        if g in ONLY:
            lines += [l for l in new if l.split("|")[1].strip() == g]
        else:
            lines += old_rows.get(g, [])
    all_notes = [n for n in old_notes if n.split(":", 1)[0].split()[0].lower() in kept] + notes
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(open("/proc/meminfo").readline().split()[1]) / 1048576
    with open("BENCHMARKS.md", "w") as f:
        f.write("# Benchmarks\n\n")
        dates = sorted({(date["ran_on"] if g in date["ran"] else date["carried_from"]) or "an earlier date"
                        for g in kept} if date else {"an earlier date"})
        carried = f"; rows of {', '.join(kept)} from the run of {' and '.join(dates)}" if kept else ""
        f.write(f"Generated by `scripts/bench` (ROUNDS={ROUNDS}, groups: {', '.join(g for g in GROUPS if g in ONLY)}) on "
                f"{time.strftime('%Y-%m-%d', time.gmtime())}{carried}.\n")
        f.write(f"Machine: {os.cpu_count()} CPUs ({cpu}), {mem:.0f} GiB, {os.uname().sysname} {os.uname().release}.\n")
        f.write("One run: the same inputs (and for the cluster and controller groups the same kube-apiserver 1.20.2, "
                "etcd on disk, loopback), runs alternating between Ballast and the peer; times are medians over rounds, "
                "RSS the peak over rounds. Ratio is peer time / Ballast time.\n\n")
        f.write("\n".join(lines) + "\n")
        if all_notes:
            f.write("\n" + "\n".join(f"- {n}" for n in all_notes) + "\n")
        if tail:
            f.write("\n" + tail)
    log("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
