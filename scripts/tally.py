#!/usr/bin/env python3
"""Count test results across meson test logs and TAP files.

Each TAP line counts ("ok", "not ok", "# SKIP"); a test without TAP
lines counts once by its result.  A test that failed after printing only
"ok" lines (a crash, a timeout) adds one failure.  Prints the closing
line "N passed, N failed, N skipped" and exits non-zero on any failure.
"""
import json
import re
import sys

TAP = re.compile(r'^(not ok|ok)\b(.*)$')


def count_tap(text):
    p = f = s = 0
    for line in text.splitlines():
        m = TAP.match(line.strip())
        if not m:
            continue
        if re.search(r'#\s*skip', m.group(2), re.I):
            s += 1
        elif m.group(1) == 'ok':
            p += 1
        else:
            f += 1
    return p, f, s


def count_meson(path, label):
    tot = [0, 0, 0]
    for line in open(path):
        d = json.loads(line)
        p, f, s = count_tap(d.get('stdout') or '')
        res = d['result']
        if p + f + s == 0:
            p, f, s = (res == 'OK', res not in ('OK', 'SKIP'), res == 'SKIP')
        elif res not in ('OK', 'SKIP') and f == 0:
            f = 1
        if res not in ('OK', 'SKIP'):
            print(f'FAILED [{label}] {d["name"]} ({res})')
        if res == 'SKIP':
            why = (d.get('stdout') or '').strip().splitlines()[-1:] or ['']
            print(f'SKIPPED [{label}] {d["name"]}: {why[0]}')
        for i, v in enumerate((p, f, s)):
            tot[i] += int(v)
    return tot


def main():
    total = [0, 0, 0]
    for arg in sys.argv[1:]:
        label, _, path = arg.partition('=')
        try:
            if path.endswith('.json'):
                c = count_meson(path, label)
            else:
                c = list(count_tap(open(path, errors='replace').read()))
        except OSError as e:
            print(f'FAILED [{label}] no results: {e}')
            c = [0, 1, 0]
        print(f'{label}: {c[0]} passed, {c[1]} failed, {c[2]} skipped')
        total = [a + b for a, b in zip(total, c)]
    line = f'{total[0]} passed, {total[1]} failed'
    if total[2]:
        line += f', {total[2]} skipped'
    print(line)
    return 1 if total[1] else 0


if __name__ == '__main__':
    sys.exit(main())
