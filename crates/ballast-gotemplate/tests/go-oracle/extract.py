#!/usr/bin/env python3
"""Prints, as JSON lines for main.go, the inputs of Go's parse_test.go and lex_test.go tables
(from the Go source tree), run as whole templates against the exec test data."""
import json, re, sys

GO = "/usr/lib/go/src/text/template/parse/"


def go_string(lit):
    if lit.startswith("`"):
        return lit[1:-1]
    body = lit[1:-1]
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c); i += 1; continue
        e = body[i + 1]
        simple = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
        if e in simple:
            out.append(simple[e]); i += 2
        elif e == "x":
            out.append(chr(int(body[i + 2:i + 4], 16))); i += 4
        elif e == "u":
            out.append(chr(int(body[i + 2:i + 6], 16))); i += 6
        else:
            out.append(c); i += 1
    return "".join(out)


STR = r'("(?:[^"\\]|\\.)*"|`[^`]*`)'
seen = set()
for fname, table in (("parse_test.go", "parseTests"), ("lex_test.go", "lexTests")):
    src = open(GO + fname).read()
    start = src.index("var " + table)
    end = src.index("\n}\n", start)
    for m in re.finditer(r'\{' + STR + r',\s*' + STR, src[start:end]):
        name, tmpl = go_string(m.group(1)), go_string(m.group(2))
        if tmpl in seen or "{{" not in tmpl:
            continue
        seen.add(tmpl)
        print(json.dumps({"name": table + ": " + name, "tmpl": tmpl, "data": {"X": 1, "SI": [1, 2], "I": 3}, "zero": True}, ensure_ascii=False))
