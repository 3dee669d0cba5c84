"""Every snippet of docs/deploy.md means what it says: the settings load, the command's options exist, the
Python runs, the Envoy config has the shape gRPC needs, and the PromQL names real metrics."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main
import yaml

from curator.cli.main import app
from curator.observability import metrics
from curator.settings import Settings

DOC = (Path(__file__).resolve().parent.parent / "docs" / "deploy.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.S)


def test_the_settings_file_loads(tmp_path: Path) -> None:
    [toml] = _blocks("toml")
    path = tmp_path / "curator.toml"
    path.write_text(toml)
    settings = Settings.load(path)
    assert settings.store_url.startswith("postgresql://") and settings.server.host == "0.0.0.0"


def test_the_serve_command_takes_those_options() -> None:
    [console] = _blocks("console")
    command = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    known = {opt for param in command.params for opt in param.opts}
    used = set(re.findall(r"(--[a-z-]+)", console))
    assert used <= known, used - known


def test_the_python_snippet_runs() -> None:
    [python] = _blocks("python")
    scope: dict[str, object] = {}
    exec(compile(python, "deploy.md", "exec"), scope)  # makes a channel; nothing connects until a call
    scope["channel"].close()  # type: ignore[attr-defined]


def test_the_envoy_config_balances_grpc_per_request_and_checks_health() -> None:
    [config] = yaml.safe_load_all(_blocks("yaml")[0])
    [cluster] = config["static_resources"]["clusters"]
    options = cluster["typed_extension_protocol_options"][
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    ]
    assert "http2_protocol_options" in options["explicit_http_config"]  # gRPC needs HTTP/2 upstream
    assert cluster["lb_policy"] == "ROUND_ROBIN"
    assert "grpc_health_check" in cluster["health_checks"][0]
    [listener] = config["static_resources"]["listeners"]
    route = listener["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]["virtual_hosts"][0]
    assert route["routes"][0]["route"] == {"cluster": "curator", "timeout": "0s"}  # streams may last


def test_the_monitoring_queries_name_real_metrics() -> None:
    exposed = {name for family in metrics.REGISTRY.collect() for name in (s.name for s in family.samples)}
    families = list(metrics.REGISTRY.collect())
    exposed |= {f"{f.name}_total" for f in families if f.type == "counter"}
    exposed |= {
        f"{f.name}_{part}" for f in families if f.type == "histogram" for part in ("bucket", "sum", "count")
    }
    named = set(re.findall(r"\b(curator_[a-z_]+)", DOC.split("## What to monitor")[1].split("## Scaling")[0]))
    assert named and named <= exposed, named - exposed
