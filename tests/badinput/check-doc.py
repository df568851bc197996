#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-only
"""docs/bad-input.md says exactly what its tests assert: run the two
bad-input tests and compare every table row with the test line it names.

  check-doc.py DOC XFM TEST-BADINPUT-SH TEST-BADINPUT-LIB

A CLI row (| # | input | exit | error line contains | test |) must match
the line "ok N - NAME: exit W, 'TEXT'" of badinput-cli; a library row
(| # | call | errno | message contains | test |) the line
"ok N - NAME: strerror (-E), 'TEXT'" of badinput-lib: same name, same
exit status or errno, same text ($T, $B, $O stand for the tests'
temporary directories).  Rows are numbered 1, 2, ... in order; every row
line of a test has a doc row; rows whose test is not badinput-cli or
badinput-lib (the lab's) are listed, not checked here.  TAP.
"""
import errno
import re
import subprocess
import sys

ROW = re.compile(r'^\|\s*(\d+)\s*\|(.*)\|\s*$')
CLI_TAP = re.compile(r"^(not ok|ok) \d+ - ([\w-]+): exit (\d+), '(.*)'$")
LIB_TAP = re.compile(r"^(not ok|ok) \d+ - (.+?): [^:]* \((-\d+)\), '(.*)'$")
SKIP_TAP = re.compile(r'^ok \d+ - ([\w-]+) # SKIP')


def doc_rows(path):
    """{'cli': [...], 'lib': [...]}: (number, cells) of each table row."""
    tables, cur = {'cli': [], 'lib': []}, None
    for line in open(path):
        if line.startswith('## '):
            cur = 'cli' if 'badinput-cli' in line else \
                'lib' if 'badinput-lib' in line else None
            continue
        m = ROW.match(line.strip())
        if cur and m:
            cells = [c.strip() for c in m.group(2).split('|')]
            tables[cur].append((int(m.group(1)), cells))
    return tables


def pattern(text):
    """The doc's text as a regex: $T, $B, $O are the temp directories."""
    t = r'/tmp/xfm-bad[A-Za-z0-9.]+'
    rx = re.escape(text)
    rx = rx.replace(r'\$B', t + '/bad').replace(r'\$O', t + '/out')
    return '^' + rx.replace(r'\$T', t) + '$'


def unquote(cell):
    return cell[1:-1] if len(cell) >= 2 and cell[0] == cell[-1] == '`' \
        else cell


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, text=True,
                          errors='replace').stdout.splitlines()


def check(kind, rows, lines, tap_rx, prefix, n):
    got, skipped = {}, set()
    for line in lines:
        m = tap_rx.match(line)
        if m:
            got[m.group(2)] = (m.group(3), m.group(4))
        m = SKIP_TAP.match(line)
        if m:
            skipped.add(m.group(1))
    bad, lab, seen = [], [], set()
    for i, (num, cells) in enumerate(rows):
        if num != i + 1:
            bad.append(f'row {num} is number {i + 1} in order')
        if len(cells) != 4:
            bad.append(f'row {num}: {len(cells)} cells, not 5')
            continue
        what, want, text, test = cells
        name = re.sub(r'\s*\*root\*$', '', what)
        if not test.startswith(prefix):
            lab.append(f'{num} ({test})')
            continue
        if test != prefix + name:
            bad.append(f'row {num}: test column "{test}" is not '
                       f'"{prefix}{name}"')
        seen.add(name)
        if name in skipped:
            continue
        if name not in got:
            bad.append(f'row {num} "{name}": no such test line')
            continue
        code, tap_text = got[name]
        if kind == 'lib':
            code_ok = want.startswith('-E') and \
                -getattr(errno, want[1:], 0) == int(code)
        else:
            code_ok = want == code
        if not code_ok:
            bad.append(f'row {num} "{name}": doc says {want}, the test '
                       f'asserts {code}')
        if not re.match(pattern(unquote(text)), tap_text):
            bad.append(f'row {num} "{name}": doc says {text!r}, the test '
                       f'asserts {tap_text!r}')
    extra = sorted(set(got) - seen)
    for e in extra:
        bad.append(f'test line "{e}" has no doc row')
    print(f'{"not " if bad else ""}ok {n} - {kind} table: {len(rows)} rows '
          f'match their {prefix.rstrip(": ")} lines exactly'
          + (f' (the lab checks rows {", ".join(lab)})' if lab else ''))
    for b in bad:
        print(f'#   {b}')
    return not bad


def main(doc, xfm, cli_sh, lib):
    tables = doc_rows(doc)
    print('1..2')
    ok = check('cli', tables['cli'], run(['bash', cli_sh, xfm]), CLI_TAP,
               'badinput-cli: ', 1)
    ok &= check('lib', tables['lib'], run([lib]), LIB_TAP,
                'badinput-lib: ', 2)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:5]))
