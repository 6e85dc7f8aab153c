#!/usr/bin/env bash
# The strongSwan testbed itself: every verb against real charons in network namespaces.
set -euo pipefail
exec bash "$(dirname "$0")/../../testbed/selftest.sh"
