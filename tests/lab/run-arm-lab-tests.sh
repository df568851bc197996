#!/bin/bash
# The arm64 lab (4 KiB and 16 KiB dom0 kernels): the one lab harness,
# tests/lab/run-lab-tests.sh, with --arch arm64.  Same options.
exec "$(dirname "${BASH_SOURCE[0]}")/run-lab-tests.sh" --arch arm64 "$@"
