#!/usr/bin/env python3
"""The layer rule of runtime/ (README.md, "Layout"), checked on the includes.

- cli/ includes public headers only (no folder's internal.h);
- runtime/sandbox/ may use container, image, net, cgroup;
- runtime/container/ may use isolation, rootfs, cgroup, net;
- isolation, rootfs, cgroup, net and image use none of each other;
- everything may use runtime/base/, specs/ and runtime/context.h; specs/ uses only base;
  base uses nothing above it;
- a folder's internal.h is included only from that folder (and tests/unit, which test it);
- every folder of runtime/ is named in README.md's layout section.

The build enforces the same on symbols (the layercheck-* shared objects of meson.build);
this check names the offending line. Exit 1 and one line per violation when broken.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYERS = ['base', 'isolation', 'rootfs', 'cgroup', 'net', 'image', 'container', 'sandbox']
COMMON = {'base', 'specs', 'context'}
ALLOWED = {
    'base': {'base'},
    'specs': {'base', 'specs'},
    'isolation': COMMON | {'isolation'},
    'rootfs': COMMON | {'rootfs'},
    'cgroup': COMMON | {'cgroup'},
    'net': COMMON | {'net'},
    'image': COMMON | {'image'},
    'container': COMMON | {'container', 'isolation', 'rootfs', 'cgroup', 'net'},
    'sandbox': COMMON | {'sandbox', 'container', 'image', 'net', 'cgroup'},
    'cli': COMMON | set(LAYERS),
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def target_layer(path):
    """The layer an include names: base..sandbox, specs, context, or None (not ours)."""
    if path == 'runtime/context.h':
        return 'context'
    parts = path.split('/')
    if parts[0] == 'specs':
        return 'specs'
    if parts[0] == 'runtime' and len(parts) == 3 and parts[1] in LAYERS:
        return parts[1]
    if parts[0] == 'runtime':
        return '?'  # runtime/X.h outside any folder: not allowed
    return None


def source_layer(rel):
    parts = rel.split('/')
    if parts[0] == 'runtime':
        return 'context' if len(parts) == 2 else parts[1]
    return parts[0]  # specs, cli, tests


def check_file(rel, problems):
    src = source_layer(rel)
    with open(os.path.join(ROOT, rel), encoding='utf-8', errors='replace') as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            inc = m.group(1)
            dst = target_layer(inc)
            if dst is None:
                continue
            where = f'{rel}:{n}: #include "{inc}"'
            if dst == '?':
                problems.append(f'{where}: runtime/ headers live in a layer folder (or are runtime/context.h)')
                continue
            if inc.endswith('/internal.h') and src != dst and src != 'tests':
                problems.append(f'{where}: internal.h of {dst}/ is for {dst}/ only')
                continue
            if src in ('tests', 'context'):
                continue
            allowed = ALLOWED.get(src)
            if allowed is None:
                problems.append(f'{where}: {src}/ is not a known layer')
            elif dst not in allowed:
                problems.append(f'{where}: {src}/ may not use {dst}/ (it may use: {", ".join(sorted(allowed))})')


def main():
    problems = []
    for top in ('runtime', 'specs', 'cli', 'tests/unit', 'tests/fuzz'):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith(('.c', '.h')):
                    check_file(os.path.relpath(os.path.join(dirpath, name), ROOT), problems)
    runtime = os.path.join(ROOT, 'runtime')
    for name in os.listdir(runtime):
        path = os.path.join(runtime, name)
        if os.path.isdir(path) and name not in LAYERS:
            problems.append(f'runtime/{name}/: not a layer of tests/check-layers.py (add it with its rule)')
        if os.path.isfile(path) and name != 'context.h':
            problems.append(f'runtime/{name}: files of runtime/ live in a layer folder')
    with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    layout = readme.split('## Layout', 1)[1].split('\n## ', 1)[0] if '## Layout' in readme else ''
    if not layout:
        problems.append('README.md: no "## Layout" section')
    for name in sorted(os.listdir(runtime)):
        if os.path.isdir(os.path.join(runtime, name)) and f'runtime/{name}/' not in layout:
            problems.append(f'README.md: the "Layout" section does not name runtime/{name}/')
    for p in problems:
        print(p)
    if problems:
        print(f'check-layers: {len(problems)} violation(s)')
        return 1
    print('check-layers: ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
