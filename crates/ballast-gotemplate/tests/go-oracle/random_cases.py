#!/usr/bin/env python3
"""Random templates (seeded) over one data set, as JSON lines for main.go: a differential test
of the executor against Go's text/template. Run:
  python3 random_cases.py | GO111MODULE=off go run main.go > ../data/random_cases.jsonl
"""
import json
import random

R = random.Random(20261129)
DATA = {
    "a": "x", "b": {"c": "deep", "n": 2, "l": [1, 2]}, "n": 3, "f": 1.5, "z": 0, "e": "", "t": True,
    "l": [1, "two", None, 3.5, {"k": "v"}], "m": {"x": 1, "y": "why", "z": None}, "nul": None,
    "big": 1000000.0, "neg": -4, "s": "a b&c<d>", "el": [], "em": {},
}
FIELDS = [".a", ".b", ".b.c", ".b.n", ".b.l", ".n", ".f", ".z", ".e", ".t", ".l", ".m", ".m.x", ".m.y",
          ".m.z", ".nul", ".missing", ".missing.x", ".a.x", ".l.x", ".big", ".neg", ".s", ".el", ".em",
          ".", "$", "$.a", "$.m.y", ".m.z.q", ".b.nope"]
LITS = ["1", "0", "-2", "1.5", "0.0", "1e3", "0x10", "'a'", '"s"', '""', "`r`", "true", "false", "nil"]
FUNCS1 = ["not", "len", "html", "js", "urlquery", "print", "println", "echo", "list"]
FUNCS2 = ["and", "or", "eq", "ne", "lt", "le", "gt", "ge", "index", "slice", "print", "printf", "dict", "list"]
FMTS = ['"%v"', '"%d"', '"%s"', '"%q"', '"%x"', '"%T"', '"%5.1f"', '"%v-%v"', '"%-4s|"', '"%03d"', '"%t"', '"%g"', '"%e"']


def operand(depth, vars_):
    r = R.random()
    if r < 0.45:
        return R.choice(FIELDS)
    if r < 0.65:
        return R.choice(LITS)
    if r < 0.75 and vars_:
        return R.choice(vars_)
    if depth > 0:
        return "(" + pipeline(depth - 1, vars_) + ")"
    return R.choice(FIELDS)


def command(depth, vars_, piped):
    r = R.random()
    if r < 0.3 and not piped:
        return operand(depth, vars_)
    if r < 0.45:
        f = R.choice(FUNCS1)
        n = 0 if piped else 1
    else:
        f = R.choice(FUNCS2)
        n = R.choice([1, 2, 2, 3]) - (1 if piped else 0)
    args = [operand(depth, vars_) for _ in range(max(n, 0))]
    if f == "printf":
        args = [R.choice(FMTS)] + args[:2]
    return " ".join([f] + args)


def pipeline(depth, vars_):
    cmds = [command(depth, vars_, False)]
    while R.random() < 0.2:
        cmds.append(command(depth, vars_, True))
    return " | ".join(cmds)


def action(vars_):
    t = R.choice(["{{", "{{", "{{- "])
    e = R.choice(["}}", "}}", " -}}"])
    if R.random() < 0.2:
        v = "$v%d" % len(vars_)
        vars_.append(v)
        return t + v + " := " + pipeline(2, vars_[:-1]) + e
    if vars_ and R.random() < 0.1:
        return t + R.choice(vars_) + " = " + pipeline(2, vars_) + e
    return t + pipeline(2, vars_) + e


def body(depth, vars_):
    parts = []
    for _ in range(R.randint(1, 3)):
        r = R.random()
        if r < 0.3:
            parts.append(R.choice(["a", " ", "\n", "-", "[", "]"]))
        elif r < 0.7 or depth == 0:
            parts.append(action(vars_))
        else:
            kw = R.choice(["if", "with", "range", "range"])
            inner = list(vars_)
            head = pipeline(1, vars_)
            if kw == "range" and R.random() < 0.4:
                head = "$i, $e := " + head
                inner += ["$i", "$e"]
            elif R.random() < 0.2:
                head = "$w := " + head
                inner += ["$w"]
            s = "{{" + kw + " " + head + "}}" + body(depth - 1, inner)
            if kw == "range" and R.random() < 0.2:
                s += R.choice(["{{break}}", "{{continue}}"])
            if R.random() < 0.4:
                if kw == "if" and R.random() < 0.5:
                    s += "{{else if " + pipeline(1, vars_) + "}}" + body(depth - 1, list(vars_))
                s += "{{else}}" + body(depth - 1, list(vars_))
            s += "{{end}}"
            parts.append(s)
    return "".join(parts)


for i in range(1500):
    tmpl = body(2, [])
    print(json.dumps({"name": "random %d" % i, "tmpl": tmpl, "data": DATA, "zero": i % 2 == 0}, ensure_ascii=False))

# A second batch that mostly succeeds: printing-heavy functions, text with trim markers.
FUNCS1[:] = ["not", "html", "js", "urlquery", "print", "println", "echo", "list"]
FUNCS2[:] = ["and", "or", "print", "printf", "printf", "list", "dict"]
FIELDS[:] = [f for f in FIELDS if f not in (".missing.x", ".a.x", ".l.x", ".m.z.q", ".b.nope")]
for i in range(1500):
    tmpl = body(3, [])
    print(json.dumps({"name": "printing %d" % i, "tmpl": tmpl, "data": DATA, "zero": i % 2 == 0}, ensure_ascii=False))

# A third batch: definitions called with template/block, text with newlines (line and column
# numbers in errors), trim markers everywhere.
FUNCS1[:] = ["not", "len", "html", "print", "echo", "list"]
FUNCS2[:] = ["and", "or", "eq", "lt", "index", "print", "printf", "dict"]
FIELDS[:] = FIELDS + [".missing.x", ".a.x", ".l.x", ".m.z.q"]
for i in range(1000):
    defs = []
    for d in range(R.randint(0, 2)):
        defs.append('{{define "d%d"}}%s{{end}}' % (d, body(1, [])))
    main = body(2, [])
    calls = "".join(R.choice(['{{template "d%d" %s}}', '\n{{- template "d%d" %s -}}\n']) % (d, R.choice([".", ".m", "$.l", ".b"])) for d in range(len(defs)))
    blk = R.choice(["", '{{block "bb" .b}}\n {{.c}} {{.nope.x}}{{end}}', '{{block "bb" .}}{{.a.x}}{{end}}'])
    text = "\n".join(defs) + "\n" + main.replace(" ", "\n ", 1) + calls + blk
    print(json.dumps({"name": "defines %d" % i, "tmpl": text, "data": DATA, "zero": i % 2 == 0}, ensure_ascii=False))
