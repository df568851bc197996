# SPDX-License-Identifier: LGPL-2.1-only
"""Run the pytest suite; without Debian's python3-pytest skip (exit 77)
with the reason, except under CI=true where that is a failure."""
import os
import sys

try:
    import pytest
except ImportError:
    print("SKIP: pytest is not installed (apt-get install python3-pytest)")
    sys.exit(1 if os.environ.get("CI") == "true" else 77)

sys.exit(pytest.main(["-q", "-rs", "-p", "no:cacheprovider", sys.argv[1]]))
