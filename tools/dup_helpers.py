#!/usr/bin/env python3
"""dup_helpers.py ROOT — finds helper functions written twice in Byron's C.

STYLE.md: one path per concern; a second copy of a concept is a bug waiting
for its first divergence. This reads every tracked .c file, cuts it into its
top-level function definitions, and reports two kinds of repeats:

  same body   two functions whose bodies are the same token for token once
              comments, spacing and every name but called functions and
              CONSTANTS are set aside (a helper pasted and renamed or retyped),
              of MIN_TOKENS tokens or more;
  near copy   two functions in different files that call the same functions
              and whose shapes (NEAR_MIN_TOKENS tokens or more) are SIMILAR alike (a clock, a body buffer, a
              file reader copied and since edited apart).

Each report is one line naming both places and the shared helper to use
instead. tools/dup_helpers.allow lists accepted repeats by the key the report
shows in brackets, one per line with its reason after `#`; an entry nobody
needs any more is reported too, so the list cannot rot. Exit 1 when anything
is reported.
"""
import difflib
import os
import re
import subprocess
import sys

MIN_TOKENS = 25
SIMILAR = 0.85
NEAR_MIN_TOKENS = 50

TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|[A-Za-z_]\w*|\d[\w.]*|->|\+\+|--|[<>=!&|+\-*/%^]=?|\S')
KEYWORDS = set("""auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef union unsigned
void volatile while _Bool _Atomic bool size_t ssize_t int64_t uint64_t int32_t uint32_t uint8_t NULL""".split())
DEF = re.compile(r'^(?:static\s+)?(?:inline\s+)?[A-Za-z_][\w\s\*]*?\b([A-Za-z_]\w*)\s*\(([^;{}]*)\)\s*\{', re.M)


def strip_comments(text):
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text[i] in "\"'":
            q, j = text[i], i + 1
            while j < n and text[j] != q:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def functions(path):
    """(name, is_static, first_line, lines, body_text) of each top-level definition."""
    text = strip_comments(open(path, encoding="utf-8", errors="replace").read())
    for m in DEF.finditer(text):
        if text[m.start():m.start() + 1].isspace():
            continue
        depth, i = 0, m.end() - 1
        while i < len(text):
            c = text[i]
            if c in "\"'":
                q, i = c, i + 1
                while i < len(text) and text[i] != q:
                    i += 2 if text[i] == "\\" else 1
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        body = text[m.end():i]
        first = text.count("\n", 0, m.start()) + 1
        yield m.group(1), m.group(0).startswith("static"), first, body.count("\n") + 1, m.group(2), body


TYPES = set("char short int long unsigned signed double float size_t ssize_t int64_t uint64_t int32_t "
            "uint32_t uint8_t bool _Bool".split())


def shape(body):
    """The body's tokens with every name that is not a call or a CONSTANT made
    anonymous (locals, parameters, fields, types): a helper pasted and renamed,
    or retyped from int64_t to long long, keeps its shape."""
    toks = TOKEN.findall(body)
    out = []
    for i, t in enumerate(toks):
        if re.match(r"[A-Za-z_]", t) and (t in TYPES or (t not in KEYWORDS and not t.isupper()
                                                         and not (i + 1 < len(toks) and toks[i + 1] == "("))):
            t = "_"
        out.append(t)
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    files = subprocess.run(["git", "-C", root, "ls-files", "*.c"], capture_output=True, text=True,
                           check=True).stdout.split()
    allow_path = os.path.join(root, "tools", "dup_helpers.allow")
    allow = {}
    if os.path.exists(allow_path):
        for line in open(allow_path):
            key = line.split("#", 1)[0].strip()
            if key:
                allow[key] = 0
    by_shape = {}
    for f in files:
        for name, static, first, lines, params, body in functions(os.path.join(root, f)):
            toks = shape(body)
            if len(toks) >= MIN_TOKENS:
                by_shape.setdefault(" ".join(toks), []).append((f, first, name))
    problems = []

    def report(key, places, what):
        if key in allow:
            allow[key] += 1
            return
        where = ", ".join(f"{f}:{line} {n}()" for f, line, n in places)
        problems.append(f"{what} [{key}]: {where}")

    for places in by_shape.values():
        if len(places) > 1:
            report(places[0][2], places, "same body")
    # Near copies (a copy since edited: one checks realloc, the other not):
    # bodies that call the same functions and whose shapes (NEAR_MIN_TOKENS tokens or more) are SIMILAR alike.
    by_calls = {}
    for key, places in by_shape.items():
        toks = key.split(" ")
        calls = frozenset(t for i, t in enumerate(toks[:-1]) if toks[i + 1] == "(" and re.match(r"[a-z_]", t))
        if len(calls) >= 2 and len(toks) >= NEAR_MIN_TOKENS:
            by_calls.setdefault(calls, []).append((toks, places[0]))
    for group in by_calls.values():
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                (ta, a), (tb, b) = group[i], group[j]
                if a[0] != b[0] and difflib.SequenceMatcher(None, ta, tb, autojunk=False).ratio() >= SIMILAR:
                    report(a[2] if a[2] == b[2] else f"{a[2]}~{b[2]}", [a, b], "near copy")
    for key, used in allow.items():
        if not used:
            problems.append(f"tools/dup_helpers.allow: {key} is no longer repeated: remove the entry")
    for p in sorted(set(problems)):
        print("  " + p)
    if problems:
        print(f"dup_helpers: {len(set(problems))} repeat(s): move the helper into lib/ (runtime) or "
              "lib/tests/support/ (tests) once, or justify it in tools/dup_helpers.allow")
        return 1
    print(f"dup_helpers: no repeated helper in {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
