# SPDX-License-Identifier: LGPL-2.1-only
"""The tests' one TAP helper for Python (tests/lib/tap.sh is the shell one).

    from tap import Tap
    t = Tap()
    t.ok(cond, "what", "diagnostic lines")   # or a list of lines
    t.skip_all("why")          # "1..0 # SKIP why", exit 77
    sys.exit(t.done())         # the plan "1..N"; 1 if anything failed
"""
import sys


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what, detail=""):
        """One result, then DETAIL (a string of lines, or a list of them) as
        comment lines: the transcript of a pass or the reason of a failure."""
        self.n += 1
        if not cond:
            self.failed += 1
        print(f"{'ok' if cond else 'not ok'} {self.n} - {what}")
        if isinstance(detail, str):
            detail = detail.strip().splitlines()
        for line in detail:
            print(f"#   {line}")
        sys.stdout.flush()

    @staticmethod
    def skip_all(why):
        print(f"1..0 # SKIP {why}")
        sys.exit(77)

    def done(self):
        print(f"1..{self.n}")
        return 1 if self.failed else 0
