#!/usr/bin/env python3
"""check_docs.py — the docs must match the code (ctest: docs.check, labels unit and docs).

Reads docs/*.md and README.md and checks what they mention against what the code knows:

  paths      every repository path (`sidecar/src/sink/sink.c`, `docs/x.md`) exists
  commands   `scripts/<s> [sub] [--flag]`, `byron-sidecar --flag`, `byron-operator --flag`,
             `build/tools/<t>`, `ctest -L <label>`: the script or binary, its sub-command and
             flags exist
  flags      every `--flag` is one of the binaries', the scripts' or a listed outside tool's
  env        every `BYRON_*` variable is read somewhere in the code
  http       every HTTP path of ours (`/v1/...`, `/healthz`, `/graphql`...) is served or called
  metrics    every metric name is registered; docs/metrics.md lists every registered metric
             with its type and exactly its labels
  reasons    every condition reason the operator sets is described in the CRD and docs/operator.md
  crd        every `spec.`/`status.` path of the resource exists in the CRD
  helm       every `--set key=` names a key of helm/byron/values.yaml

and, the other way round, that every flag and environment variable of byron-sidecar and
byron-operator and every metric is documented. Each problem is one line naming the doc (and
line) or the code it comes from and what to do. Exit 1 on any problem. Then it proves
itself: it renames a flag, a metric, a label, adds a condition reason and an environment
variable in memory (DRIFTS) and fails unless each is reported.

    tools/check_docs.py ROOT [CRD_PATHS_FILE]

CRD_PATHS_FILE: the output of `byron-crd-reference --paths` (the ctest passes it); without it
the crd check is skipped.
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else '.')
CRD_PATHS = sys.argv[2] if len(sys.argv) > 2 else None

def read(rel):
    with open(os.path.join(ROOT, rel), encoding='utf-8') as f:
        return f.read()


def files(top, exts):
    out = []
    for d, dirs, names in os.walk(os.path.join(ROOT, top)):
        dirs[:] = [x for x in dirs if not x.startswith(('.', 'build', 'node_modules'))]
        for n in names:
            if n.endswith(exts):
                out.append(os.path.relpath(os.path.join(d, n), ROOT))
    return sorted(out)


DOCS = ['README.md'] + files('docs', ('.md',))
C_PRODUCT = [f for top in ('lib/src', 'operator/src', 'sidecar/src', 'sidecar/graphql/src', 'cli/src')
             for f in files(top, ('.c', '.h'))]
SCRIPTS = files('scripts', ('',)) + files('e2e', ('.sh',)) + files('tools', ('.py',))
SCRIPTS = [f for f in SCRIPTS if os.path.isfile(os.path.join(ROOT, f)) and
           (f.endswith(('.sh', '.py')) or read(f).startswith('#!'))]
CODE = sorted(set(C_PRODUCT + SCRIPTS + files('.', ('.c', '.h', '.txt', '.cmake', '.yaml', '.yml', '.tpl',
                                                   '.py', '.cjs', '.mjs', '.js', '.sh', '.go', '.env'))
                  + ['.ci/run', 'scripts/bootstrap', 'scripts/test', 'scripts/testenv', 'scripts/demo',
                     'scripts/fuzz']))
CODE = [f for f in CODE if not f.startswith(('docs/', 'build')) and os.path.isfile(os.path.join(ROOT, f))]
CODE_TEXT = {f: read(f) for f in CODE}

DOC_LINES = {d: read(d).split('\n') for d in DOCS}


def check(code_text, doc_lines):
    """Every problem of the docs against code_text (path -> text); and a summary line."""
    problems = []

    def problem(where, msg):
        problems.append(f'{where}: {msg}')

    all_code = '\n'.join(code_text.values())
    # --- what the docs say, with line numbers -------------------------------------------


    def doc_tokens(pattern, group=0):
        rx = re.compile(pattern)
        for d, lines in doc_lines.items():
            for i, line in enumerate(lines, 1):
                for m in rx.finditer(line):
                    yield d, i, m.group(group)


    def code_blocks():
        """(doc, line, command line) for each line of a fenced shell block."""
        for d, lines in doc_lines.items():
            fence = None
            for i, line in enumerate(lines, 1):
                s = line.strip()
                if s.startswith('```'):
                    fence = None if fence is not None else s[3:].strip()
                    continue
                if fence in ('sh', 'bash', 'console', 'shell', ''):
                    cmd = s[2:] if s.startswith('$ ') else s
                    if cmd and not cmd.startswith('#'):
                        yield d, i, cmd


    def inline_commands():
        for d, i, t in doc_tokens(r'`([^`]+)`', 1):
            if re.match(r'(scripts/|byron-sidecar |byron-operator |build/tools/|ctest )', t):
                yield d, i, t


    # --- paths ------------------------------------------------------------------------------
    TOPS = ('sidecar', 'operator', 'lib', 'docs', 'scripts', 'e2e', 'examples', 'helm', 'crds', 'tools',
            'bench', 'fuzz', 'cmake', '.ci')
    def path_exists(t):
        full = os.path.join(ROOT, t)
        if os.path.exists(full) or os.path.exists(os.path.join(ROOT, 'docs', t)):
            return True
        d, base = os.path.split(full)  # a target named after its source: fuzz/graphql_parser(.c)
        return os.path.isdir(d) and any(n.startswith(base + '.') for n in os.listdir(d))


    for d, i, t in doc_tokens(r'(?<![\w./-])((?:%s)/[\w./-]*\w)(?![\w*<{-])' % '|'.join(re.escape(x) for x in TOPS), 1):
        if not path_exists(t):
            problem(f'{d}:{i}', f'path {t} does not exist in the repository')
    for d, i, t in doc_tokens(r'\]\(([\w.-]+\.md)(?:#[\w-]*)?\)', 1):
        base = os.path.dirname(d)
        if not os.path.exists(os.path.join(ROOT, base, t)):
            problem(f'{d}:{i}', f'link to {t}, which does not exist')

    # --- what the code knows: flags ---------------------------------------------------------
    def getopt_flags(rel):
        return set(re.findall(r'\{"([a-z][a-z0-9-]*)",\s*(?:no|required|optional)_argument', code_text.get(rel, '')))


    # byron-sidecar's flags, every mode's: the rows of its settings table (sidecar/src/settings.c),
    # OPT_<TYPE>("flag", ...) or {"flag", "BYRON_...", ...}.
    SIDECAR_FLAGS = set(re.findall(r'(?:\bOPT_[A-Z0-9]+\(\s*|\{)"([a-z][a-z0-9-]*)",\s*(?:"BYRON_|NULL|T_)',
                                   code_text.get('sidecar/src/settings.c', '')))
    GRAPHQL_FLAGS = {f for f in SIDECAR_FLAGS if f.startswith('graphql-')}
    OPERATOR_FLAGS = getopt_flags('operator/src/main.c')
    # kubectl-byron's flags: its table in cli/src/cli_args.c ({F_X, "name", 'c', ...}).
    CLI_FLAGS = set(re.findall(r'\{F_[A-Z_]+,\s*"([a-z][a-z0-9-]*)"', code_text.get('cli/src/cli_args.c', '')))


    def script_flags(rel):
        text = code_text.get(rel, '')
        return set(re.findall(r'(?<![\w-])--([a-z][a-z0-9-]*)', text))


    SCRIPT_FLAGS = set()
    for s in SCRIPTS:
        SCRIPT_FLAGS |= script_flags(s)
    # The benchmark drivers and the tools: flags as string literals ("--seconds").
    for f in files('bench', ('.c', '.py', '.cjs', '.sh')) + files('tools', ('.c',)):
        SCRIPT_FLAGS |= set(re.findall(r'"--([a-z][a-z0-9-]*)', read(f)))
        SCRIPT_FLAGS |= script_flags(f)

    # Flags of outside tools the docs show in commands (kubectl, helm, cmake, ctest, curl, ...).
    OUTSIDE_FLAGS = {
        'for', 'timeout', 'server-side', 'recursive', 'namespace', 'create-namespace', 'set', 'set-string',
        'wait', 'output-on-failure', 'test-dir', 'build', 'target', 'prefix', 'install', 'kubeconfig',
        'context', 'values', 'dry-run', 'field-manager', 'force-conflicts', 'jobs', 'filter', 'help',
        'version', 'all', 'no-tests', 'show-only', 'data-binary', 'header', 'request', 'silent', 'fail',
        'quiet', 'from-literal', 'from-file', 'selector', 'tail', 'follow', 'watch', 'show-labels',
        'all-namespaces', 'keep-cluster', 'assume-yes', 'no-install-recommends', 'rm', 'sqa-opt-out', 'dev',
        'global.checkNewVersion', 'global.sendAnonymousUsage', 'privileged', 'network', 'tag', 'file',
        'runs', 'output', 'template', 'preserve-env', 'trimpath', 'ldflags', 'max_total_time', 'fork',
        'mount', 'prune',  # Dockerfile RUN --mount, buildah rmi --prune
    }

    for d, i, t in doc_tokens(r'(?<![\w/`-])--([a-z][a-zA-Z0-9.-]*[a-zA-Z0-9])(?![\w*])', 1):
        if t.startswith('graphql-') and t not in GRAPHQL_FLAGS and not t.endswith('-'):
            problem(f'{d}:{i}', f'flag --{t}: byron-sidecar has no such GraphQL flag (sidecar/src/settings.c)')
        elif t not in SIDECAR_FLAGS | OPERATOR_FLAGS | SCRIPT_FLAGS | OUTSIDE_FLAGS | CLI_FLAGS:
            problem(f'{d}:{i}', f'flag --{t}: no binary or script of ours has it (and it is not a known outside '
                                f'tool\'s flag: add it to OUTSIDE_FLAGS in tools/check_docs.py if it is one)')

    # The flag tables: a flag in the first cell of a row is the page's binary's.
    for page, known, binary in (('docs/sidecar.md', SIDECAR_FLAGS, 'byron-sidecar'),
                                ('docs/cli.md', SIDECAR_FLAGS | CLI_FLAGS, 'byron-sidecar or kubectl-byron'),
                                ('docs/sink.md', SIDECAR_FLAGS, 'byron-sidecar'),
                                ('docs/graphql.md', SIDECAR_FLAGS, 'byron-sidecar'),
                                ('docs/consistency.md', SIDECAR_FLAGS, 'byron-sidecar'),
                                ('docs/operator.md', OPERATOR_FLAGS, 'byron-operator')):
        for i, line in enumerate(doc_lines.get(page, []), 1):
            if line.startswith('|'):
                first = line.strip('|').split('|')[0]
                for flag in re.findall(r'(?<![\w-])--([a-z][a-z0-9-]*[a-z0-9])(?![\w*-])', first):
                    if flag not in known:
                        problem(f'{page}:{i}', f'flag --{flag}: {binary} has no such flag')

    # --- commands ---------------------------------------------------------------------------
    CTEST_LABELS = set()
    for f, text in code_text.items():
        if f.endswith(('CMakeLists.txt', '.cmake')):
            CTEST_LABELS |= set(re.findall(r'\bLABEL\s+([a-z0-9_-]+)', text))
            for labels in re.findall(r'\bLABELS\s+"?([a-z0-9_;-]+)"?', text):
                CTEST_LABELS |= set(labels.split(';'))


    def check_command(d, i, cmd):
        words = cmd.split()
        if not words:
            return
        while words and re.match(r'^[A-Z_][A-Z0-9_]*=', words[0]):  # VAR=value prefixes
            words = words[1:]
        if words and words[0] in ('flock',) and len(words) > 2:
            words = words[2:]
        if not words:
            return
        prog = words[0]
        if prog.startswith('scripts/') or prog.startswith('e2e/') or prog.startswith('tools/'):
            if prog.endswith('/') or os.path.isdir(os.path.join(ROOT, prog)):
                if not os.path.isdir(os.path.join(ROOT, prog)):
                    problem(f'{d}:{i}', f'directory {prog}: no such directory')
                return
            if not os.path.isfile(os.path.join(ROOT, prog)):
                problem(f'{d}:{i}', f'command {prog}: no such script')
                return
            text = code_text.get(prog) or read(prog)
            for w in words[1:]:
                if w.startswith('--'):
                    flag = w.split('=')[0]
                    if flag not in text:
                        problem(f'{d}:{i}', f'command {prog} {flag}: the script does not know {flag}')
            if len(words) > 1 and re.match(r'^[a-z][a-z0-9-]*$', words[1]) and prog.startswith('scripts/'):
                sub = words[1]
                if not re.search(r'(?<![\w-])%s(?![\w-])' % re.escape(sub), text):
                    problem(f'{d}:{i}', f'command {prog} {sub}: the script has no "{sub}"')
        elif prog in ('byron-sidecar', 'byron-operator') or prog.endswith(('/byron-sidecar', '/byron-operator')):
            known = SIDECAR_FLAGS if prog.endswith('byron-sidecar') else OPERATOR_FLAGS
            for w in words[1:]:
                if w.startswith('--'):
                    flag = w[2:].split('=')[0]
                    if flag and flag not in known and not flag.endswith('*'):
                        problem(f'{d}:{i}', f'command {prog} --{flag}: {os.path.basename(prog)} has no such flag')
        elif prog.startswith('build/'):
            tool = os.path.basename(prog)
            if tool.startswith('byron-') and not any(re.search(r'\b%s\b' % re.escape(tool), t)
                                                      for f, t in code_text.items() if f.endswith('CMakeLists.txt')):
                problem(f'{d}:{i}', f'command {prog}: no CMake target builds {tool}')
        elif prog == 'ctest':
            for j, w in enumerate(words):
                if w in ('-L', '--label-regex') and j + 1 < len(words):
                    for lab in re.findall(r'[a-z][a-z0-9_-]*', words[j + 1]):
                        if lab not in CTEST_LABELS and lab not in ('operator', 'testenv', 'sidecar'):
                            problem(f'{d}:{i}', f'command ctest -L {lab}: no test has the label {lab}')


    for d, i, cmd in list(code_blocks()) + list(inline_commands()):
        for part in re.split(r'\s*(?:&&|\|\||;|\|)\s*', cmd):
            check_command(d, i, part.strip())

    # --- environment variables --------------------------------------------------------------
    for d, i, t in doc_tokens(r'\b(BYRON_[A-Z0-9_]*[A-Z0-9])\b(?![*<])', 1):
        if t not in all_code and not (t.startswith('BYRON_GRAPHQL_') and
                                      t[len('BYRON_GRAPHQL_'):].lower().replace('_', '-') in
                                      {f[len('graphql-'):] for f in GRAPHQL_FLAGS}):
            problem(f'{d}:{i}', f'environment variable {t}: nothing in the code reads it')

    # --- HTTP paths -------------------------------------------------------------------------
    def path_prefix(p):
        return re.split(r'<|\{|%|\.\.\.|…|\*|:[a-z]', p)[0]


    code_paths = set()
    for f in C_PRODUCT:
        for lit in re.findall(r'"(/(?:v1|healthz|readyz|metrics|graphql)[^"]*)"', code_text[f]):
            code_paths.add(path_prefix(lit))
    for d, i, t in doc_tokens(r'(?<![\w.])(/(?:v1/[\w./<>{}%…-]*|healthz|readyz|metrics|graphql[\w./-]*))', 1):
        pre = path_prefix(t).rstrip('.')
        if pre.endswith('/') and len(pre) > 4:
            ok = any(c.startswith(pre) for c in code_paths)
        else:  # a route, a route's parent, or an instance of a route (/v1/events/OrderShipped)
            ok = pre in code_paths or any(c.startswith(pre + '/') or (c.endswith('/') and len(c) > 4 and
                                                                        pre.startswith(c)) for c in code_paths)
        if not ok:
            problem(f'{d}:{i}', f'HTTP path {t}: neither served nor called by the code')

    # --- metrics ----------------------------------------------------------------------------
    METRIC_RX = re.compile(r'byron_metrics_register\(\s*[^,]+,\s*BYRON_METRIC_(\w+),\s*"([a-z_:][a-z0-9_:]*)",'
                           r'\s*((?:"(?:[^"\\]|\\.)*"\s*)+),\s*(\w+)')
    metrics = {}  # name -> (type, labels, file)
    for f in C_PRODUCT:
        text = code_text[f]
        for m in METRIC_RX.finditer(text):
            mtype, name, _help, labels_id = m.groups()
            labels = []
            if labels_id != 'NULL':
                defs = [x for x in re.finditer(r'\b%s\[\]\s*=\s*\{([^}]*)\}' % re.escape(labels_id), text)
                        if x.start() < m.start()]
                if defs:
                    labels = re.findall(r'"([a-z_][a-z0-9_]*)"', defs[-1].group(1))
                else:
                    problem(f, f'metric {name}: cannot find its label list {labels_id}[] (check_docs.py reads '
                               f'"{labels_id}[] = {{...}}" defined before the call in the same file)')
            metrics[name] = (mtype.lower(), labels, f)
    if len(metrics) < 20:
        problem('tools/check_docs.py', f'found only {len(metrics)} metrics in the code: the extraction broke')

    METRIC_PREFIX = r'(?:byron|controller_runtime|workqueue|rest_client|leader_election)_'
    for d, i, t in doc_tokens(r'\b(%s[a-z0-9_]*[a-z0-9])\b(?!\*)' % METRIC_PREFIX, 1):
        base = re.sub(r'_(bucket|count|sum)$', '', t)
        if t not in metrics and base not in metrics and not t.startswith(('byron_sidecar_model', 'byron_operator',
                                                                           'byron_graphql', 'byron_sidecar_core',
                                                                           'byron_sidecar_graphql', 'byron_testenv')):
            if re.match(r'byron_[a-z]+_[a-z]+$', t) and not t.endswith(('_total', '_seconds')):
                continue  # a C function or library name (byron_sink_new), not a metric
            if re.search(r'_(total|seconds|bytes|depth|status|pending|connections|subscriptions|workers|'
                         r'reconciles)$', t):
                problem(f'{d}:{i}', f'metric {t}: no code registers it')

    # The chart's alerts and dashboard query only what the code registers (and the
    # labels monitoring.yaml's PodMonitor adds: byron_io_component, byron_io_role).
    for rel in ('helm/byron/templates/monitoring.yaml', 'helm/byron/files/dashboard.json'):
        full = os.path.join(ROOT, rel)
        if not os.path.exists(full):
            continue
        for t in sorted(set(re.findall(r'\b(%s[a-z0-9_]*[a-z0-9])\b' % METRIC_PREFIX, read(rel)))):
            base = re.sub(r'_(bucket|count|sum)$', '', t)
            if t not in metrics and base not in metrics and t not in ('byron_io_component', 'byron_io_role'):
                problem(rel, f'metric {t}: no code registers it')

    METRICS_DOC = 'docs/metrics.md'
    documented = {}
    if os.path.exists(os.path.join(ROOT, METRICS_DOC)):
        for i, line in enumerate(doc_lines[METRICS_DOC], 1):
            cells = [c.strip() for c in line.strip().strip('|').split('|')] if line.startswith('|') else []
            if len(cells) >= 3:
                names = re.findall(r'`(%s[a-z0-9_]+)`' % METRIC_PREFIX, cells[0])
                for n in names:
                    documented[n] = (cells[1].lower(), sorted(re.findall(r'`([a-z_][a-z0-9_]*)`', cells[2])), i)
    for name, (mtype, labels, f) in sorted(metrics.items()):
        if name not in documented:
            problem(f, f'metric {name} ({mtype}, labels {", ".join(labels) or "none"}) is not in {METRICS_DOC}: '
                       f'add a row | `{name}` | {mtype} | labels | meaning | what to alert on |')
            continue
        dtype, dlabels, i = documented[name]
        if dtype != mtype:
            problem(f'{METRICS_DOC}:{i}', f'metric {name}: the doc says {dtype}, the code registers a {mtype} ({f})')
        if dlabels != sorted(labels):
            problem(f'{METRICS_DOC}:{i}', f'metric {name}: the doc lists labels {dlabels or "none"}, the code has '
                                          f'{sorted(labels) or "none"} ({f})')
    for name, (_t, _l, i) in documented.items():
        if name not in metrics:
            problem(f'{METRICS_DOC}:{i}', f'metric {name}: no code registers it')

    # --- the other way: flags and environment the docs omit ----------------------------------
    all_docs = '\n'.join('\n'.join(v) for v in doc_lines.values())
    for flag in sorted(SIDECAR_FLAGS):
        if not re.search(r'--%s\b' % re.escape(flag), all_docs) and not (
                flag.startswith('graphql-') and re.search(r'`%s`' % re.escape(flag[len('graphql-'):]), all_docs)):
            problem('sidecar/src/settings.c', f'byron-sidecar --{flag} is in no doc: document it in docs/sidecar.md '
                                          f'(or docs/graphql.md for --graphql-*)')
    for flag in sorted(OPERATOR_FLAGS):
        if not re.search(r'--%s\b' % re.escape(flag), read('docs/operator.md')):
            problem('operator/src/main.c', f'byron-operator --{flag} is not in docs/operator.md ("Flags")')
    product_env = set()
    for f in C_PRODUCT:
        product_env |= set(re.findall(r'"(BYRON_[A-Z0-9_]*[A-Z0-9])"', code_text[f]))
        product_env |= set(re.findall(r'getenv\("([A-Z_][A-Z0-9_]*)"\)', code_text[f]))
    for var in sorted(product_env):
        if var.startswith('BYRON_GRAPHQL_'):
            continue  # one per --graphql-* flag, documented with the flag
        if not re.search(r'\b%s\b' % re.escape(var), all_docs):
            where = next(f for f in C_PRODUCT if f'"{var}"' in code_text[f])
            problem(where, f'environment variable {var} is read here but in no doc: document it (docs/sidecar.md, '
                           f'docs/operator.md or the page of its feature)')

    # --- condition reasons ------------------------------------------------------------------
    crd_text = read('crds/byron.io_byroncomponents.yaml')
    for f in C_PRODUCT:
        for reason in re.findall(r'#define BYRON_REASON_\w+\s+"(\w+)"', code_text[f]):
            if not re.search(r'\b%s\b' % reason, crd_text):
                problem(f, f'condition reason {reason} is not described in the CRD (status.conditions[].reason)')
            if not re.search(r'`%s`' % reason, read('docs/operator.md')):
                problem(f, f'condition reason {reason} is not in docs/operator.md (conditions table)')

    # --- CRD paths --------------------------------------------------------------------------
    if CRD_PATHS:
        with open(CRD_PATHS) as fp:
            crd = {re.sub(r'\[\]', '', p.strip()) for p in fp if p.strip()}
        if len(crd) < 50:
            problem(CRD_PATHS, 'too few CRD paths: byron-crd-reference --paths broke')
        for d, i, t in doc_tokens(r'(?<![\w./`-])`?((?:spec|status)\.[a-zA-Z][\w.\[\]<>]*)', 1):
            norm = re.sub(r'\[[^\]]*\]', '', t).rstrip('.')
            norm = re.sub(r'\.<[^>]*>.*$', '', norm)
            if norm not in crd:
                problem(f'{d}:{i}', f'{t}: the ByronComponent has no field {norm} (crds/byron.io_byroncomponents.yaml)')

    # --- helm values ------------------------------------------------------------------------
    def yaml_keys(text):
        keys, stack = set(), []
        for line in text.split('\n'):
            m = re.match(r'^(\s*)([A-Za-z0-9_]+):', line)
            if not m or line.lstrip().startswith('#'):
                continue
            ind = len(m.group(1))
            while stack and stack[-1][0] >= ind:
                stack.pop()
            stack.append((ind, m.group(2)))
            keys.add('.'.join(k for _, k in stack))
        return keys


    VALUES = yaml_keys(read('helm/byron/values.yaml'))
    for d, i, t in doc_tokens(r'--set(?:-string)?[ =]"?([A-Za-z0-9_.\\]+)=', 1):
        key = t.replace('\\.', '\x00')
        parts = key.split('.')
        # operator.podAnnotations.<anything>: a map value
        ok = any('.'.join(parts[:k]).replace('\x00', '.') in VALUES for k in range(len(parts), 0, -1)
                 if k == len(parts) or '.'.join(parts[:k]).endswith(('Annotations', 'nodeSelector', 'Labels')))
        if not ok:
            problem(f'{d}:{i}', f'--set {t}: helm/byron/values.yaml has no key {t}')

    # --- images: one scheme, one version ----------------------------------------------------
    VERSION = re.search(r'project\(byron VERSION ([0-9][0-9.]*)', read('CMakeLists.txt')).group(1)
    app_version = re.search(r'^appVersion:\s*"?([^"\s]+)"?', read('helm/byron/Chart.yaml'), re.M)
    if not app_version or app_version.group(1) != VERSION:
        problem('helm/byron/Chart.yaml', f'appVersion must be Byron\'s version {VERSION} (CMakeLists.txt project())')
    IMAGE_RX = re.compile(r'(?<![\w.-])((?:[\w.-]+(?::\d+)?/)?byron/(operator|sidecar|example-orders|e2e-probe|[\w-]+))'
                          r'(?::([\w.<>…-]+))?')
    for f in sorted(set(CODE + DOCS)):
        if f.startswith(('build', 'tools/check_docs.py')):
            continue
        text = code_text.get(f) if f in code_text else read(f)
        for i, line in enumerate(text.split('\n'), 1):
            if 'byron-io' in line:
                problem(f'{f}:{i}', 'an image of the old scheme (byron-io): Byron\'s images are docker.io/byron/<part>:<version>')
            for m in IMAGE_RX.finditer(line):
                name, part, tag = m.groups()
                if '/byron/' not in '/' + name or name.startswith(('scripts', 'sidecar', 'operator')):
                    continue
                if part not in ('operator', 'sidecar', 'example-orders', 'e2e-probe'):
                    continue
                # 'previous': an earlier commit's build (e2e.upgrade, images.sh --previous)
                if tag is not None and tag not in (VERSION, 'dev', 'previous', '<version>', '<ver>', '…') and not tag.startswith('$'):
                    problem(f'{f}:{i}', f'image {name}:{tag}: Byron\'s images are tagged with its version {VERSION} '
                                        f'(or dev, built locally)')

    summary = (f'{len(DOCS)} docs agree with the code ({len(metrics)} metrics, {len(SIDECAR_FLAGS)} sidecar '
               f'flags, {len(OPERATOR_FLAGS)} operator flags, {len(product_env)} env)')
    return problems, summary


# The check must fail when the code changes under the docs: rename a flag, a metric, a
# label, add a reason or a variable — in memory — and expect a problem naming each.
DRIFTS = [
    ('sidecar/src/settings.c', 'OPT_INT("max-attempts",', 'OPT_INT("max-tries",',
     ['flag --max-attempts: byron-sidecar has no such flag', 'byron-sidecar --max-tries is in no doc']),
    ('operator/src/main.c', '{"resync-period", required_argument', '{"resync-seconds", required_argument',
     ['byron-operator --resync-seconds is not in docs/operator.md']),
    ('sidecar/src/sink/sink.c', '"byron_sink_consumer_pending"', '"byron_sink_consumer_lag"',
     ['metric byron_sink_consumer_pending: no code registers it', 'metric byron_sink_consumer_lag']),
    ('sidecar/src/sink/sink.c', 'PL[] = {"consumer", NULL}', 'PL[] = {"lane", NULL}',
     ["byron_sink_consumer_pending: the doc lists labels ['consumer'], the code has ['lane']"]),
    ('operator/src/controller.h', '#define BYRON_REASON_READY', '#define BYRON_REASON_X "Exploded"\n#define BYRON_REASON_READY',
     ['condition reason Exploded is not described in the CRD', 'condition reason Exploded is not in docs/operator.md']),
    ('sidecar/src/settings.c', 'OPT_INT("workers", "BYRON_WORKERS"', 'OPT_INT("workers", "BYRON_WORKER_THREADS"',
     ['environment variable BYRON_WORKER_THREADS is read here but in no doc']),
]


def self_test():
    failures = []
    for rel, old, new, wants in DRIFTS:
        text = CODE_TEXT.get(rel, '')
        if old not in text:
            failures.append(f'self-test: {rel} no longer contains {old!r}: update DRIFTS in tools/check_docs.py')
            continue
        drifted = dict(CODE_TEXT)
        drifted[rel] = text.replace(old, new, 1)
        found, _ = check(drifted, DOC_LINES)
        for want in wants:
            if not any(want in p for p in found):
                failures.append(f'self-test: renaming {old!r} to {new!r} in {rel} went unnoticed '
                                f'(no problem says {want!r})')
    return failures


problems, summary = check(CODE_TEXT, DOC_LINES)
problems += self_test()
for p in problems:
    print(p)
if problems:
    print(f'check_docs: {len(problems)} problem(s): fix the doc, or the code it describes', file=sys.stderr)
    sys.exit(1)
print(f'check_docs: {summary}; {len(DRIFTS)} drifts caught')
