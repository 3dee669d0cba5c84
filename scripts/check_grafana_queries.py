"""Run every query of deploy/grafana/curator-dashboard.json against a real Prometheus that scrapes
curator, and report which return data. Grafana's variables are replaced the way Grafana would.

    curator serve --http-port 8080 &                       # the scrape config's target
    prometheus --config.file=deploy/prometheus/prometheus.yml --storage.tsdb.path=/tmp/tsdb &
    curator filter samples.jsonl --server 127.0.0.1:50051 ...   # then wait for two scrapes
    python scripts/check_grafana_queries.py --prometheus http://127.0.0.1:9090

Prints one JSON line per query and exits 1 if any query fails or returns nothing.
"""

from __future__ import annotations

import argparse
import json
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "curator-dashboard.json"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090")
    parser.add_argument("--range", default="10m", help="what $__range and $__rate_interval become")
    args = parser.parse_args()
    dashboard = json.loads(DASHBOARD.read_text())
    failed = 0
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = (
                target["expr"]
                .replace("$collection", ".*")
                .replace("$__rate_interval", args.range)
                .replace("$__range", args.range)
            )
            url = f"{args.prometheus}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
            with urllib.request.urlopen(url, timeout=30) as response:
                body = json.loads(response.read())
            series = body.get("data", {}).get("result", [])
            ok = body.get("status") == "success" and len(series) > 0
            failed += not ok
            print(
                json.dumps(
                    {
                        "panel": panel["title"],
                        "expr": expr,
                        "status": body.get("status"),
                        "series": len(series),
                        "ok": ok,
                    }
                )
            )
    print(json.dumps({"queries_failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
