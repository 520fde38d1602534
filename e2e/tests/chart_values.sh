#!/usr/bin/env bash
# helm/byron's values are honest: lint and schema with every values file,
# refusals named, every value changes the render (chart_values.py). Static:
# helm only (scripts/bootstrap cluster builds it), no cluster.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../cluster/common.sh"   # PATH with $BYRON_CACHE/bin
command -v helm >/dev/null || { echo "FAIL helm not found (scripts/bootstrap cluster builds it into $BIN)" >&2; exit 1; }
exec python3 "$here/chart_values.py" "$here/../../helm/byron"
