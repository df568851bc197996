#!/usr/bin/env python3
"""Count the results of scripts/test.sh's stages.

  tally.py --stage DIR NAME   count one stage, print its line; exit 1 if
                              it failed
  tally.py --summary DIR      every stage, then the closing line
                              "N passed, N failed[, N skipped]"; exit 1 on
                              any failure

DIR (build-logs/) holds stages.tsv (name, least results, exit code,
seconds; one line a stage) and each stage's NAME.log, plus NAME.json when
the stage ran `meson test` (its test log).  The rules (also at the top of
scripts/test.sh):
  - a TAP line "ok" passes, "not ok" fails, "ok ... # SKIP" skips, a plan
    "1..0 # SKIP why" skips once; a meson test without TAP lines counts
    once by its result;
  - "not ok ... # SKIP" fails: a skip must not hide a failure;
  - a meson test that failed after printing only "ok" lines (a crash, a
    timeout) adds one failure;
  - a stage that exits non-zero without a "not ok" line fails once more
    (exit 77 without any result: the stage could not run, a skip);
  - a stage with fewer results than its declared least number fails;
  - under CI=true every skip is a failure.
"""
import json
import os
import re
import sys

TAP = re.compile(r'^(not ok|ok)\b(.*)$')
PLAN_SKIP = re.compile(r'^1\.\.0\b.*#\s*skip\b\s*(.*)$', re.I)
SKIP = re.compile(r'#\s*skip\b', re.I)
CI = os.environ.get('CI', '') == 'true'


class Count:
    def __init__(self, label):
        self.label = label
        self.passed = self.failed = self.skipped = 0
        self.notes = []

    def total(self):
        return self.passed + self.failed + self.skipped

    def fail(self, why):
        self.failed += 1
        self.notes.append(f'FAILED [{self.label}] {why}')

    def skip(self, why):
        if CI:
            self.fail(f'skipped under CI=true (required): {why}')
        else:
            self.skipped += 1
            self.notes.append(f'SKIPPED [{self.label}] {why}')

    def tap(self, text, where=''):
        """Count TAP lines in text; return how many it held."""
        n = 0
        for line in text.splitlines():
            line = line.strip()
            m = PLAN_SKIP.match(line)
            if m:
                self.skip(f'{where}{m.group(1).strip()}')
                n += 1
                continue
            m = TAP.match(line)
            if not m:
                continue
            n += 1
            what = f'{where}{m.group(2).strip()}'
            if m.group(1) == 'not ok':
                if SKIP.search(m.group(2)):
                    self.fail(f'"not ok ... # SKIP" is a failure: {what}')
                else:
                    self.fail(what)
            elif SKIP.search(m.group(2)):
                self.skip(what)
            else:
                self.passed += 1
        return n


def count_meson(c, path):
    for line in open(path):
        d = json.loads(line)
        name, res = d['name'], d['result']
        out = d.get('stdout') or ''
        before = c.failed
        n = c.tap(out, f'{name}: ')
        if n == 0:
            if res in ('OK', 'EXPECTEDFAIL'):
                c.passed += 1
            elif res == 'SKIP':
                why = out.strip().splitlines()[-1:] or ['(no reason printed)']
                c.skip(f'{name}: {why[0]}')
            else:
                c.fail(f'{name} ({res})')
        elif res not in ('OK', 'SKIP', 'EXPECTEDFAIL') and c.failed == before:
            c.fail(f'{name} ({res}) after only passing TAP lines')


def count_stage(logdir, name, least, rc):
    c = Count(name)
    js = os.path.join(logdir, name + '.json')
    log = os.path.join(logdir, name + '.log')
    try:
        if os.path.exists(js):
            count_meson(c, js)
        else:
            c.tap(open(log, errors='replace').read())
    except (OSError, ValueError) as e:
        c.fail(f'no results: {e}')
    if rc == 77 and c.failed == 0 and c.passed == 0:
        if c.skipped == 0:
            c.skip(f'the stage cannot run on this machine (exit 77; '
                   f'see build-logs/{name}.log)')
    elif rc != 0 and c.failed == 0:
        c.fail(f'exit {rc} without a "not ok" line (a crash, a timeout or '
               f'a build error; see build-logs/{name}.log)')
    if c.total() < least:
        c.fail(f'{c.total()} results, fewer than the {least} it must produce')
    return c


def read_stages(logdir):
    rows = []
    with open(os.path.join(logdir, 'stages.tsv')) as f:
        for line in f:
            name, least, rc, secs = line.rstrip('\n').split('\t')
            rows.append((name, int(least), int(rc), int(secs)))
    return rows


def line_of(c, rc=None, secs=None):
    s = f'{c.label}: {c.passed} passed, {c.failed} failed, ' \
        f'{c.skipped} skipped'
    if rc is not None:
        s += f' (exit {rc}, {secs} s)'
    return s


def main(argv):
    if len(argv) == 3 and argv[0] == '--stage':
        logdir, want = argv[1], argv[2]
        for name, least, rc, secs in read_stages(logdir):
            if name == want:
                c = count_stage(logdir, name, least, rc)
        for n in c.notes:
            print(n)
        print(line_of(c, rc, secs))
        return 1 if c.failed else 0
    if len(argv) != 2 or argv[0] != '--summary':
        print(__doc__, file=sys.stderr)
        return 2
    logdir = argv[1]
    total = [0, 0, 0]
    stages = read_stages(logdir)
    if not stages:
        print('FAILED no stage ran')
        total[1] += 1
    counts = []
    for name, least, rc, secs in stages:
        c = count_stage(logdir, name, least, rc)
        counts.append((c, rc, secs))
        for n in c.notes:
            print(n)
    for c, rc, secs in counts:
        print(line_of(c, rc, secs))
        total = [a + b for a, b in zip(total, (c.passed, c.failed,
                                               c.skipped))]
    line = f'{total[0]} passed, {total[1]} failed'
    if total[2]:
        line += f', {total[2]} skipped'
    print(line)
    return 1 if total[1] else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
