"""The ``curator`` command (console script ``curator = curator.cli.main:app``).

Every command but ``serve`` runs in-process on ``--data-dir`` by default, or
against a running server with ``--server HOST:PORT``; the results are the same.
"""

from __future__ import annotations

import getpass
import json
import logging
import math
import os
import re
import sys
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import pydantic
import typer
from pydantic_settings import SettingsError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from curator.api.client import RemoteError
from curator.cli.backend import Backend, ensure_collection, load_settings, open_backend, server_limits
from curator.cli.filtering import Counts, FilterRun, Outputs
from curator.cli.io import InputError, JsonlWriter, Record, open_input, to_sample_input
from curator.cli.render import (
    collections_table,
    decisions_table,
    parse_duration,
    parse_when,
    policy_changes,
    stats_json,
    stats_tables,
    summary_table,
)
from curator.domain.decision import Action, Verdict
from curator.domain.evalset import MAX_ITEM_CHARS, MAX_ITEM_ID_CHARS, ContaminationFinding, EvalItem
from curator.domain.policy import Policy, PolicyPatch, as_patch
from curator.domain.review import ReviewAction, ReviewState
from curator.domain.sample import Sample
from curator.domain.validation import Limits, validate_sample
from curator.errors import CuratorError, FieldViolation, InvalidArgument, NotFound, Unavailable
from curator.formats import coverage_report_json, record_json
from curator.monitor.coverage import CoverageReport, ReferenceWindow, Region
from curator.service import Curator
from curator.settings import Settings
from curator.state.store import DecisionQuery, DecisionRecord, StatsQuery

app = typer.Typer(
    name="curator",
    help="Filter synthetic LLM training data: every sample gets keep, drop or review, with reasons.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
collections_app = typer.Typer(help="Create, list and show collections.", no_args_is_help=True)
app.add_typer(collections_app, name="collections")

EXIT_INTERRUPTED = 130

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Indexes and decision store of in-process runs (default: settings data_dir, ./curator-data).",
    ),
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file (also CURATOR_CONFIG).", dir_okay=False)
]
# Not CURATOR_SERVER: that is the server's own settings section (JSON), like CURATOR_SERVER__PORT.
SERVER_ENV = "CURATOR_SERVER_ADDRESS"
ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar=SERVER_ENV,
        help=f"HOST:PORT of a running curator server (also {SERVER_ENV}); "
        "default: run in-process on --data-dir.",
    ),
]
CollectionOption = Annotated[str, typer.Option("--collection", "-c", help="Collection to use.")]


def _err_console() -> Console:
    """stderr, with no markup parsing: messages carry field paths like samples[3]."""
    return Console(stderr=True, markup=False, highlight=False, soft_wrap=True)


@contextmanager
def _domain_errors(console: Console) -> Iterator[None]:
    """Expected failures become a one-line message (one line per violation) and exit code 1."""
    try:
        yield
    except InvalidArgument as err:
        console.print("error: invalid argument")
        for v in err.violations:
            console.print(f"  {v.field}: {v.description}" if v.field else f"  {v.description}")
        raise typer.Exit(1) from None
    except (CuratorError, InputError, FileNotFoundError) as err:
        console.print(f"error: {err}")
        raise typer.Exit(1) from None
    except SettingsError as err:  # an environment variable that does not parse, e.g. CURATOR_SERVER=host:port
        console.print(f"error: invalid settings in the environment: {err}")
        if '"server"' in str(err) and os.environ.get("CURATOR_SERVER"):
            console.print(
                "  CURATOR_SERVER holds the server's own settings as JSON (e.g. CURATOR_SERVER__PORT=50052);"
                f" to run commands against a server, set {SERVER_ENV}=HOST:PORT instead"
            )
        raise typer.Exit(1) from None
    except pydantic.ValidationError as err:
        console.print(f"error: invalid settings or policy ({err.error_count()} problems)")
        for e in err.errors():
            console.print(f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']}")
        raise typer.Exit(1) from None


# ---------------------------------------------------------------- serve


@app.command()
def serve(
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on; 0 picks a free one.")] = None,
    host: Annotated[str | None, typer.Option("--host", help="Address to bind.")] = None,
    http_port: Annotated[
        int | None,
        typer.Option(
            "--http-port", help="Port of the web dashboard and /metrics (default 8080); 0 picks a free one."
        ),
    ] = None,
    no_http: Annotated[
        bool, typer.Option("--no-http", help="Serve gRPC only: no dashboard, no /metrics.")
    ] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the gRPC server (and the web dashboard with /metrics) until SIGTERM or Ctrl-C."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from curator.api.server import serve as run_server

    console = _err_console()
    with _domain_errors(console):
        server = {k: v for k, v in (("port", port), ("host", host)) if v is not None}
        http: dict[str, object] = {"port": http_port} if http_port is not None else {}
        if no_http:
            http["enabled"] = False
        settings = Settings.load(config, data_dir=data_dir, server=server or None, http=http or None)
        run_server(settings)


# ---------------------------------------------------------------- filter


@app.command("filter")
def filter_command(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="JSONL (.jsonl/.json: an object per line), a .json array, or .parquet; - reads stdin."
            " --engine ray also takes several files and directories of shards.",
            show_default=False,
        ),
    ],
    decisions: Annotated[
        Path | None,
        typer.Option(
            "--decisions",
            help="Write one decision per valid record here (JSONL); required by --engine local.",
            dir_okay=False,
        ),
    ] = None,
    collection: CollectionOption = "default",
    kept: Annotated[Path | None, typer.Option("--kept", help="Input records that were kept.")] = None,
    dropped: Annotated[
        Path | None, typer.Option("--dropped", help="Input records that were dropped.")
    ] = None,
    review: Annotated[Path | None, typer.Option("--review", help="Input records sent to review.")] = None,
    invalid: Annotated[Path | None, typer.Option("--invalid", help="Bad input lines, verbatim.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Decide without admitting or logging anything.")
    ] = False,
    score_all: Annotated[
        bool, typer.Option("--score-all", help="Run every check on every sample (no short-circuit).")
    ] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Samples per request.")] = 500,
    strict: Annotated[
        bool, typer.Option("--strict", help="Stop at the first bad line, with exit code 1.")
    ] = False,
    create: Annotated[
        bool,
        typer.Option("--create/--no-create", help="Create the collection (default policy) if it is missing."),
    ] = True,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help="Exit 0 even when no record was valid (an empty input, or every line bad).",
        ),
    ] = False,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="local: this process (or --server). ray: a Ray cluster, same decisions (docs/ray.md).",
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="--engine ray: auto (this machine's cluster) or ray://HOST:PORT; default: a local runtime.",
        ),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            help="--engine ray: decisions/, kept/, dropped/, review/, invalid/ (one part per piece),"
            " summary.json; a rerun with the same directory resumes.",
            file_okay=False,
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--output-format", help="--engine ray: decisions as jsonl or parquet.")
    ] = "jsonl",
    num_cpus: Annotated[
        int | None,
        typer.Option("--num-cpus", min=1, help="--engine ray, no --ray-address: CPUs of the local runtime."),
    ] = None,
    piece_records: Annotated[
        int, typer.Option("--piece-records", min=1, help="--engine ray: records per unit of work.")
    ] = 5_000,
) -> None:
    """Filter a file of samples; write decisions, and optionally the records split by verdict.

    Each record is one sample in one content shape: Alpaca (instruction, input,
    output), chat (messages: a list of {role, content}), or text. Its id is the
    record's "id" field; a record without one gets "line-N", N being its 1-based
    line number (for a JSON array or Parquet file: its 1-based position), so
    re-running the same file gives the same ids. "context" (list of strings) is
    the grounding context; every other field goes to metadata (strings as they
    are, other values as JSON), so that stats can group by it.

    A bad line (not JSON, not an object, an invalid sample, or an id already
    seen in this run) is reported on stderr as "line N: problem" and skipped,
    unless --strict. A Parquet file or JSON array with no content column at all
    is one error up front. With --server, a --batch-size over the server's
    limits.max_batch is refused before the input is read.

    Exit code: 0 when at least one record was filtered; 1 on an error, on a
    --strict failure, when the service refused a whole batch, or when no record
    was valid (an empty input included; --allow-empty makes that 0); 2 on a bad
    option; 130 on Ctrl-C.
    """
    console = _err_console()
    if engine not in ("local", "ray"):
        raise typer.BadParameter("choose local or ray", param_hint="--engine")
    if engine == "ray":
        _filter_with_ray(
            console,
            inputs,
            output_dir,
            collection=collection,
            dry_run=dry_run,
            score_all=score_all,
            create=create,
            config=config,
            data_dir=data_dir,
            server=server,
            ray_address=ray_address,
            output_format=output_format,
            num_cpus=num_cpus,
            piece_records=piece_records,
        )
        return
    if decisions is None:
        raise typer.BadParameter(
            "--engine local writes its decisions to --decisions FILE", param_hint="--decisions"
        )
    if len(inputs) != 1:
        raise typer.BadParameter(
            "--engine local reads one file; --engine ray reads several, or directories of shards",
            param_hint="INPUTS",
        )
    input = inputs[0]
    with _domain_errors(console):
        settings = load_settings(config, data_dir)
        limits = settings.limits.limits()
        if server is None and batch_size > limits.max_batch:
            raise typer.BadParameter(
                f"{batch_size} is over limits.max_batch ({limits.max_batch})", param_hint="--batch-size"
            )
        interrupted = False
        failure: CuratorError | None = None
        with ExitStack() as stack:
            if server is None:
                source = open_input(input, require_content=True)  # fails before the service loads
                backend = stack.enter_context(open_backend(settings, server))
            else:
                backend = stack.enter_context(open_backend(settings, server))
                # The server's limits, not this machine's settings, say what a request may hold.
                limits = server_limits(backend) or limits
                if batch_size > limits.max_batch:
                    raise typer.BadParameter(
                        f"{batch_size} is over the server's limits.max_batch"
                        f" ({limits.max_batch}) at {server}",
                        param_hint="--batch-size",
                    )
                source = open_input(input, require_content=True)
            try:
                _, created = ensure_collection(backend, collection, create)
            except NotFound:
                raise NotFound(
                    f"collection {collection!r} does not exist: create it with"
                    f" `curator collections create {collection}`, or drop --no-create"
                ) from None
            if created:
                console.print(f"created collection {collection!r} with the default policy")
            outputs = Outputs(
                decisions=stack.enter_context(JsonlWriter(decisions)),
                **{
                    name: stack.enter_context(JsonlWriter(path))
                    for name, path in (
                        ("kept", kept),
                        ("dropped", dropped),
                        ("review", review),
                        ("invalid", invalid),
                    )
                    if path is not None
                },
            )
            progress = stack.enter_context(_progress(console))
            task = progress.add_task(
                f"filtering {'stdin' if str(input) == '-' else input.name}", total=source.total
            )
            run = FilterRun(
                backend,
                collection,
                outputs,
                limits,
                batch_size=batch_size,
                dry_run=dry_run,
                score_all=score_all,
                strict=strict,
                report=progress.console.print,
                advance=lambda n: progress.advance(task, n),
            )
            try:
                run.run(source.records)
            except KeyboardInterrupt:
                interrupted = True
            except CuratorError as err:  # e.g. the server went away: show what was done, then the error
                failure = err
        title = f"curator filter → {collection}" + (" (dry run: nothing admitted)" if dry_run else "")
        if interrupted:
            title += " (interrupted)"
        elif failure is not None:
            title += " (failed)"
        elif run.failed:
            title += " (stopped at the first bad line: --strict)"
        console.print(summary_table(run.counts, title))
        if failure is not None:
            raise failure
    if interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if run.failed:
        raise typer.Exit(1)
    counts = run.counts
    if counts.kept + counts.dropped + counts.review == 0 and not allow_empty:
        name = "stdin" if str(input) == "-" else str(input)
        if counts.read == 0:
            problem = f"{name} holds no records"
        else:
            problem = f"no valid record in {name} ({counts.read:,} read, {counts.invalid:,} invalid)"
        console.print(f"error: {problem}: nothing was filtered (--allow-empty accepts that)")
        raise typer.Exit(1)


def _filter_with_ray(
    console: Console,
    inputs: list[Path],
    output_dir: Path | None,
    *,
    collection: str,
    dry_run: bool,
    score_all: bool,
    create: bool,
    config: Path | None,
    data_dir: Path | None,
    server: str | None,
    ray_address: str | None,
    output_format: str,
    num_cpus: int | None,
    piece_records: int,
) -> None:
    """``curator filter --engine ray``: the job runs against this machine's store (or its PostgreSQL),
    with Ray doing the per-sample work and the shuffles; see curator.batch.engine."""
    from curator.batch.engine import BatchJob, run_batch

    if output_dir is None:
        raise typer.BadParameter(
            "--engine ray writes its results to --output-dir DIR", param_hint="--output-dir"
        )
    if server is not None:
        raise typer.BadParameter(
            "--engine ray works on the store itself (set store.url to share it with servers),"
            " not through --server",
            param_hint="--server",
        )
    if output_format not in ("jsonl", "parquet"):
        raise typer.BadParameter("choose jsonl or parquet", param_hint="--output-format")
    with _domain_errors(console):
        settings = load_settings(config, data_dir)
        with open_backend(settings, None) as backend:
            _, created = ensure_collection(backend, collection, create)
            if created:
                console.print(f"created collection {collection!r} with the default policy")
            job = BatchJob(
                inputs=list(inputs),
                output_dir=output_dir,
                collection=collection,
                dry_run=dry_run,
                score_all=score_all,
                output_format=output_format,  # type: ignore[arg-type]
                piece_records=piece_records,
                ray_address=ray_address,
                num_cpus=num_cpus,
            )
            summary = run_batch(
                job,
                backend,  # type: ignore[arg-type]
                report=console.print,
                progress=lambda stage: console.print(f"{stage}…"),
            )
        counts = Counts(
            read=summary.read,
            kept=summary.kept,
            dropped=summary.dropped,
            review=summary.review,
            invalid=summary.invalid,
            seconds=summary.seconds,
        )
        title = f"curator filter --engine ray → {collection}"
        title += " (dry run: nothing admitted)" if dry_run else ""
        console.print(summary_table(counts, title))
        typer.echo(json.dumps(summary.to_json(), sort_keys=True))


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


# ---------------------------------------------------------------- call


@app.command("call")
def call_command(
    method: Annotated[
        str,
        typer.Argument(
            help='A unary method, e.g. Filter or curator.v1.CuratorService/GetStats; "list" lists them.',
            show_default=False,
        ),
    ],
    body: Annotated[
        str, typer.Argument(help="The request as proto3 JSON, as grpcurl takes it; - reads stdin.")
    ] = "{}",
    server: Annotated[
        str,
        typer.Option("--server", envvar=SERVER_ENV, help=f"HOST:PORT of the server (also {SERVER_ENV})."),
    ] = "localhost:50051",
) -> None:
    """Call any unary method of a running server with a JSON request and print the JSON response: what
    `grpcurl -plaintext -d JSON HOST:PORT curator.v1.CuratorService/METHOD` does, for machines without
    grpcurl (CURATOR_TOKEN, CURATOR_TLS and CURATOR_CA_FILE apply as for --server)."""
    from curator.api.client import unary_methods
    from curator.cli.backend import client_for

    if method == "list":
        for name in unary_methods():
            typer.echo(name)
        return
    console = _err_console()
    request = sys.stdin.read() if body == "-" else body
    with _domain_errors(console), client_for(server) as client:
        typer.echo(client.call_json(method, request))


# ---------------------------------------------------------------- stats


@app.command()
def stats(
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="Only this collection (default: all).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Start: a duration ago (24h, 7d) or an ISO time.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="End: a duration ago or an ISO time (default: now).")
    ] = None,
    bucket: Annotated[
        str, typer.Option("--bucket", help="Width of the time-series buckets (e.g. 15m, 1h, 1d).")
    ] = "1h",
    group_by: Annotated[
        str | None, typer.Option("--group-by", help="Metadata key to break totals down by, e.g. generator.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
) -> None:
    """Rejection statistics from the decision log: totals, by reason, by check, by group, and over time."""
    now = datetime.now(UTC)
    try:
        start = parse_when(since, now) if since else None
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--since") from None
    try:
        end = parse_when(until, now) if until else None
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--until") from None
    try:
        bucket_seconds = int(parse_duration(bucket).total_seconds())
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--bucket") from None
    if bucket_seconds < 1:
        raise typer.BadParameter("buckets are at least 1s wide", param_hint="--bucket")
    query = StatsQuery(
        collection=collection, start=start, end=end, bucket_seconds=bucket_seconds, group_by=group_by
    )
    console = _err_console()
    with _domain_errors(console), open_backend(load_settings(config, data_dir), server) as backend:
        result = backend.stats(query)
    if as_json:
        typer.echo(orjson.dumps(stats_json(result), option=orjson.OPT_INDENT_2).decode())
        return
    out = Console(highlight=False)
    for table in stats_tables(result, group_by):
        out.print(table)


# ---------------------------------------------------------------- decisions and reviews


@app.command()
def decisions(
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="Only this collection (default: all).")
    ] = None,
    verdict: Annotated[
        Verdict | None, typer.Option("--verdict", help="Only decisions with this verdict.")
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Only decisions giving this reason code.")
    ] = None,
    check: Annotated[
        str | None, typer.Option("--check", help="Only decisions with a reason from this check.")
    ] = None,
    pending: Annotated[
        bool, typer.Option("--pending", help="Only REVIEW decisions waiting for a person.")
    ] = False,
    where: Annotated[
        str | None, typer.Option("--where", help="Metadata filter: KEY or KEY=VALUE, e.g. generator=gpt-x.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Start: a duration ago (24h, 7d) or an ISO time.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most decisions to show (newest first).")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
) -> None:
    """Logged decisions, newest first, with their reasons, matched samples and reviews."""
    try:
        start = parse_when(since, datetime.now(UTC)) if since else None
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--since") from None
    key, _, value = (where or "").partition("=")
    console = _err_console()
    records: list[DecisionRecord] = []
    matched: dict[tuple[str, str], Sample] = {}
    with _domain_errors(console), open_backend(load_settings(config, data_dir), server) as backend:
        token = ""
        while len(records) < limit:
            query = DecisionQuery(
                collection=collection,
                verdict=verdict,
                reason=reason,
                check=check,
                metadata_key=key or None,
                metadata_value=value if "=" in (where or "") else None,
                review_state=ReviewState.PENDING if pending else None,
                start=start,
                limit=min(limit - len(records), 1000),
            )
            page = backend.list_decisions(query, token)
            records += page.decisions
            matched.update(page.matched)
            token = page.next_page_token
            if not token:
                break
    if as_json:
        for rec in records:
            own = {k[1]: v for k, v in matched.items() if k[0] == rec.collection}
            typer.echo(orjson.dumps(record_json(rec, own)).decode())
        return
    Console(highlight=False).print(decisions_table(records))


@app.command()
def review(
    decision_ids: Annotated[
        list[int] | None,
        typer.Argument(
            help="Decision ids, as `curator decisions` shows them; several in one call.", show_default=False
        ),
    ] = None,
    *,
    action: Annotated[ReviewAction, typer.Argument(help="approve (admit the sample) or reject.")],
    all_pending: Annotated[
        bool,
        typer.Option("--all-pending", help="Review every pending REVIEW decision of --collection instead."),
    ] = False,
    collection: Annotated[
        str | None,
        typer.Option("--collection", "-c", help="With --all-pending: the collection whose queue to review."),
    ] = None,
    reviewer: Annotated[
        str | None,
        typer.Option(
            "--reviewer",
            help="Who reviews (default: $USER, else $LOGNAME, else the OS account name); "
            "a server with tokens logs the token's name.",
        ),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="Why, for the log.")] = "",
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
) -> None:
    """Approve or reject REVIEW decisions; approving admits the sample into the collection.

    `curator review 41 42 43 approve`, or `curator review --all-pending -c NAME reject`,
    reviews them one by one in this one process (or over one connection), printing a
    line per decision. A decision that cannot be reviewed (already reviewed, not a
    REVIEW decision, no such id) is reported on stderr and the others go on.

    Exit code: 0 when every decision was reviewed (or none was pending); 1 when any
    failed, or on an error; 2 on bad arguments, or when no reviewer is known.
    """
    if all_pending and decision_ids:
        raise typer.BadParameter("give decision ids or --all-pending, not both")
    if all_pending and collection is None:
        raise typer.BadParameter("--all-pending needs --collection", param_hint="--all-pending")
    if not all_pending and collection is not None:
        raise typer.BadParameter(
            "--collection goes with --all-pending; decision ids name their collection",
            param_hint="--collection",
        )
    if not all_pending and not decision_ids:
        raise typer.BadParameter("give decision ids, or --all-pending with --collection")
    who = reviewer if reviewer is not None else default_reviewer()
    # A server with tokens logs the token's name whatever the request says: no name is needed then.
    if not who.strip() and not (server and os.environ.get("CURATOR_TOKEN")):
        raise typer.BadParameter(
            "who is reviewing? pass --reviewer NAME ($USER, $LOGNAME and the OS account name are unknown)",
            param_hint="--reviewer",
        )
    console = _err_console()
    done = failed = 0
    ids: list[int] = []
    interrupted = False
    with _domain_errors(console), open_backend(load_settings(config, data_dir), server) as backend:
        ids = pending_ids(backend, collection) if collection else list(dict.fromkeys(decision_ids or []))
        if not ids:
            console.print(f"no pending REVIEW decisions in collection {collection}")
            return
        try:
            for decision_id in ids:
                try:
                    record = backend.review_decision(decision_id, action, who, note)
                except CuratorError as err:
                    if _ends_the_reviews(err):
                        raise
                    failed += 1
                    text = str(err)
                    prefix = (
                        "" if text.startswith(f"decision {decision_id} ") else f"decision {decision_id}: "
                    )
                    console.print(f"error: {prefix}{text}")
                    continue
                done += 1
                assert record.review is not None
                typer.echo(
                    f"decision {record.id} ({record.collection}/{record.decision.sample_id}): "
                    f"{record.review_state} by {record.review.reviewer}"
                )
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if len(ids) > 1 and done + failed < len(ids):
                console.print(f"stopped after {done + failed} of {len(ids)} decisions ({done} reviewed)")
    if len(ids) > 1 and done + failed == len(ids):
        console.print(f"reviewed {done} of {len(ids)} decisions" + (f"; {failed} failed" if failed else ""))
    if interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if failed:
        raise typer.Exit(1)


def _ends_the_reviews(err: CuratorError) -> bool:
    """Whether ``err`` is about the service or the request, not one decision: the next would fail too."""
    if isinstance(err, InvalidArgument):
        return any(v.field in ("reviewer", "note") for v in err.violations)
    return isinstance(err, Unavailable | RemoteError)


def default_reviewer() -> str:
    """$USER, else $LOGNAME, else the OS account name; "" when none is known."""
    name = os.environ.get("USER") or os.environ.get("LOGNAME")
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # OSError (KeyError before Python 3.13) when the account has no name
        return ""


def pending_ids(backend: Backend, collection: str) -> list[int]:
    """The ids of every pending REVIEW decision of ``collection``, oldest first."""
    ids: list[int] = []
    token = ""
    while True:
        query = DecisionQuery(collection=collection, review_state=ReviewState.PENDING, limit=1000)
        page = backend.list_decisions(query, token)
        ids += [r.id for r in page.decisions]
        token = page.next_page_token
        if not token:
            return sorted(ids)


# ---------------------------------------------------------------- audit


@app.command()
def audit(
    input: Annotated[
        Path | None,
        typer.Argument(
            help="Samples (JSONL, JSON array, Parquet) or a decisions file of `curator filter`; "
            "omit it to report on --collection's decision log.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the report as JSON here (default: stdout).", dir_okay=False),
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the report as one HTML page here.", dir_okay=False)
    ] = None,
    decisions: Annotated[
        Path | None,
        typer.Option(
            "--decisions", help="With a samples file: write the bias check's decisions here.", dir_okay=False
        ),
    ] = None,
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="Report on this collection's decision log.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="With --collection: a duration ago (24h, 7d) or ISO time.")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="With --collection: the window's end.")] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
) -> None:
    """Bias audit: group representation among kept samples, gendered language, occupation x gender,
    stereotyped pairs, and drop rates by group (flagged when curation removes text about a group
    disproportionately). Offline over a file, or from a collection's decision log (GetBiasReport)."""
    from curator.bias.audit import report_json
    from curator.bias.html import render_html
    from curator.cli.audit import audit_file, collection_report, summary_lines

    if (input is None) == (collection is None):
        raise typer.BadParameter("give either INPUT or --collection (not both)")
    now = datetime.now(UTC)
    try:
        start = parse_when(since, now) if since else None
        end = parse_when(until, now) if until else None
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--since/--until") from None
    console = _err_console()
    with _domain_errors(console):
        settings = load_settings(config, data_dir)
        if input is not None:
            with ExitStack() as stack:
                writer = stack.enter_context(JsonlWriter(decisions)) if decisions is not None else None
                progress = stack.enter_context(_progress(console))
                task = progress.add_task(f"auditing {input.name}", total=None)
                report, run = audit_file(
                    input,
                    settings,
                    decisions_out=writer,
                    report=progress.console.print,
                    advance=lambda n: progress.advance(task, n),
                )
            console.print(f"read {run.read:,} {run.kind} ({run.invalid:,} invalid)")
        else:
            report = collection_report(
                settings, server, StatsQuery(collection=collection, start=start, end=end)
            )
        document = orjson.dumps(report_json(report), option=orjson.OPT_INDENT_2)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(document + b"\n")
        else:
            typer.echo(document.decode())
        if html is not None:
            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(render_html(report), encoding="utf-8")
        for line in summary_lines(report):
            console.print(line)


# ---------------------------------------------------------------- collections


@collections_app.command("create")
def collections_create(
    name: Annotated[str, typer.Argument(help="Collection name: 1-64 of a-z, 0-9, _ . -", show_default=False)],
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            help="Policy file (.json or .toml); default: the server's default policy.",
            dir_okay=False,
        ),
    ] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
) -> None:
    """Create a collection; its dedup key and index parameters are fixed from now on."""
    console = _err_console()
    with _domain_errors(console):
        chosen = load_policy(policy) if policy is not None else None
        with open_backend(load_settings(config, data_dir), server) as backend:
            info = backend.create_collection(name, chosen)
    version, key = info.policy_version, info.policy.dedup_key
    typer.echo(f"created collection {info.name} (policy version {version}, dedup key {key})")


@collections_app.command("list")
def collections_list(
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
) -> None:
    """List collections with their policy version and how many samples they kept."""
    console = _err_console()
    with _domain_errors(console), open_backend(load_settings(config, data_dir), server) as backend:
        infos = backend.list_collections()
    Console(highlight=False).print(collections_table(infos))


@collections_app.command("show")
def collections_show(
    name: Annotated[str, typer.Argument(help="Collection name.", show_default=False)],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
) -> None:
    """Print a collection's resolved policy as JSON (every check and rule, defaults filled in)."""
    console = _err_console()
    with _domain_errors(console), open_backend(load_settings(config, data_dir), server) as backend:
        info = backend.get_collection(name)
    console.print(f"collection {info.name}: policy version {info.policy_version}, {info.kept_count} kept")
    typer.echo(orjson.dumps(info.policy.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode())


@collections_app.command("update")
def collections_update(
    name: Annotated[str, typer.Argument(help="Collection name.", show_default=False)],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="PATH=VALUE, repeatable. PATH: CHECK.enabled, CHECK.CODE.threshold, CHECK.CODE.action, "
            "CHECK.CODE.review_threshold or CHECK.params.NAME "
            "(e.g. near_duplicate.NEAR_DUPLICATE.threshold=0.85). "
            "VALUE: true/false, a number, drop/review/flag, or none (threshold: the rule's default; "
            "review_threshold: no REVIEW band).",
            show_default=False,
        ),
    ] = None,
    enable: Annotated[
        list[str] | None, typer.Option("--enable", help="Turn a check on (repeatable).", show_default=False)
    ] = None,
    disable: Annotated[
        list[str] | None, typer.Option("--disable", help="Turn a check off (repeatable).", show_default=False)
    ] = None,
    reset: Annotated[
        list[str] | None,
        typer.Option(
            "--reset",
            help="PATH back to its default (repeatable): a whole check (semantic), a rule "
            "(semantic.SEMANTIC_DUPLICATE), or one field.",
            show_default=False,
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            help="A partial policy (.json or .toml) merged in; --set, --enable and --disable win over it.",
            dir_okay=False,
        ),
    ] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
) -> None:
    """Change a collection's policy: only the fields the options name, nothing else.

    Prints each field that changed (old -> new) and the new policy version; decisions
    from now on use it. Index parameters (near_duplicate and semantic params) and
    dedup_key are fixed when a collection is created. Exit code: 0; 1 when the service
    refuses the change; 2 on a bad option.
    """
    edits = [_parse_set(text) for text in set_ or []]
    edits += [_switch(text, "--enable", True) for text in enable or []]
    edits += [_switch(text, "--disable", False) for text in disable or []]
    resets = [_Edit(_policy_path(text, "--reset", leaf=False), None, "--reset", text) for text in reset or []]
    if not (edits or resets or policy):
        raise typer.BadParameter("nothing to change: give --set, --enable, --disable, --reset or --policy")
    console = _err_console()
    with _domain_errors(console):
        values: dict[str, Any] = {}
        if policy is not None:
            values = dict(as_patch(load_policy(policy)).values)  # the fields the file sets
        with open_backend(load_settings(config, data_dir), server) as backend:
            before = backend.get_collection(name)
            for e in edits + resets:
                _check_names(e, before.policy)
            patch = _policy_patch(values, edits, resets)
            if isinstance(backend, Curator):  # enabling an indexed check computes features here: show it
                with _progress(console) as bar:
                    task = bar.add_task("indexing the kept samples for the newly enabled check", total=None)
                    after = backend.update_policy(
                        name,
                        patch,
                        progress=lambda done, total: bar.update(task, completed=done, total=total),
                    )
            else:  # the server computes them and logs its progress
                after = backend.update_policy(name, patch)
    typer.echo(
        f"updated collection {after.name}: policy version {before.policy_version} -> {after.policy_version}"
    )
    for line in policy_changes(before.policy, after.policy) or ["no field changed"]:
        typer.echo(f"  {line}")


_RULE_FIELDS = ("threshold", "action", "review_threshold")
_BOOLEANS = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
}
_PATH_HELP = "use CHECK, CHECK.enabled, CHECK.CODE, CHECK.CODE.FIELD or CHECK.params.NAME"


@dataclass(frozen=True, slots=True)
class _Edit:
    """An option of `collections update`: a path into the policy JSON, the value it sets, as given."""

    path: tuple[str, ...]  # e.g. ("checks", "semantic", "rules", "SEMANTIC_DUPLICATE", "threshold")
    value: Any
    option: str
    given: str


def _bad_edit(e: _Edit, problem: str) -> typer.BadParameter:
    return typer.BadParameter(f"{e.given!r}: {problem}", param_hint=e.option)


def _shown(path: Sequence[str]) -> str:
    """A policy path as the options write it: no "checks." and no "rules."."""
    keys = list(path[1:]) if path and path[0] == "checks" else list(path)
    if len(keys) >= 2 and keys[1] == "rules":
        del keys[1]
    return ".".join(keys)


def _policy_path(text: str, option: str, *, leaf: bool, given: str | None = None) -> tuple[str, ...]:
    """``semantic.SEMANTIC_DUPLICATE.threshold`` -> ("checks", "semantic", "rules", "SEMANTIC_DUPLICATE",
    "threshold"). "checks." and "rules." may be written out; rule codes are upper-cased. ``leaf``: the
    path must name one value (what --set sets), not a check or a rule. ``given``: the option's value as
    typed, for messages (default ``text``)."""
    quoted = repr(text if given is None else given)
    keys = text.strip().split(".")
    if keys[0] == "checks":
        keys = keys[1:]
    if not keys or any(not k.strip() for k in keys):
        raise typer.BadParameter(f"{quoted}: not a policy path; {_PATH_HELP}", param_hint=option)
    check, rest = keys[0], keys[1:]
    path: tuple[str, ...]
    if not rest:
        path = ("checks", check)
    elif rest == ["enabled"]:
        path = ("checks", check, "enabled")
    elif rest[0] == "params" and len(rest) <= 2:
        path = ("checks", check, "params", *rest[1:])
    else:
        rule = rest[1:] if rest[0] == "rules" else rest
        if len(rule) > 2:
            raise typer.BadParameter(f"{quoted}: not a policy path; {_PATH_HELP}", param_hint=option)
        if len(rule) == 2 and rule[1] not in _RULE_FIELDS:
            raise typer.BadParameter(
                f"{quoted}: {rule[1]!r} is not a rule field ({', '.join(_RULE_FIELDS)})", param_hint=option
            )
        path = ("checks", check, "rules")
        if rule:
            path += (rule[0].upper(), *rule[1:])
    if leaf and not _is_leaf(path):
        if len(path) == 4 and path[2] == "rules":
            problem = f"name a field: {_shown(path)}.threshold, .action or .review_threshold"
        else:
            problem = "name one field: CHECK.enabled, CHECK.CODE.FIELD or CHECK.params.NAME"
        raise typer.BadParameter(f"{quoted}: {problem}", param_hint=option)
    return path


def _is_leaf(path: tuple[str, ...]) -> bool:
    return (
        path[2:] == ("enabled",)
        or (path[2:3] == ("params",) and len(path) == 4)
        or (path[2:3] == ("rules",) and len(path) == 5)
    )


def _switch(text: str, option: str, on: bool) -> _Edit:
    """--enable / --disable CHECK."""
    path = _policy_path(text, option, leaf=False)
    if len(path) != 2:
        raise typer.BadParameter(f"{text!r}: name a check, e.g. semantic", param_hint=option)
    return _Edit((*path, "enabled"), on, option, text)


def _parse_set(text: str) -> _Edit:
    """One --set PATH=VALUE, its value parsed by the field it sets."""
    raw_path, eq, raw = text.partition("=")
    if not eq:
        raise typer.BadParameter(
            f"{text!r}: expected PATH=VALUE, e.g. semantic.enabled=false", param_hint="--set"
        )
    edit = _Edit(_policy_path(raw_path, "--set", leaf=True, given=text), None, "--set", text)
    field, word = edit.path[-1], raw.strip().lower()
    value: Any
    if field == "enabled":
        if word not in _BOOLEANS:
            raise _bad_edit(edit, f"{raw!r} is not true or false")
        value = _BOOLEANS[word]
    elif field == "action" and edit.path[2] == "rules":
        if word not in {str(a) for a in Action}:
            raise _bad_edit(edit, f"{raw!r} is not one of {', '.join(str(a) for a in Action)}")
        value = word
    elif word in ("none", "null") and edit.path[2] == "rules":
        value = None  # threshold: the rule's default; review_threshold: no REVIEW band
    else:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise _bad_edit(edit, f"{raw!r} is not a number")
    return _Edit(edit.path, value, "--set", text)


def _check_names(e: _Edit, policy: Policy) -> None:
    """The check, rule and parameter an option names exist in ``policy`` (the collection's current one)."""
    check = e.path[1]
    if check not in policy.checks:
        raise _bad_edit(e, f"unknown check {check!r}; checks: {', '.join(policy.checks)}")
    current = policy.checks[check]
    if len(e.path) < 4:
        return
    kind, key = e.path[2], e.path[3]
    if kind == "rules" and key not in current.rules:
        raise _bad_edit(e, f"{check} has no rule {key!r}; its rules: {', '.join(current.rules)}")
    if kind == "params" and key not in current.params:
        known = ", ".join(current.params) or "(none)"
        raise _bad_edit(e, f"{check} has no parameter {key!r}; its parameters: {known}")


def _policy_patch(values: dict[str, Any], edits: Sequence[_Edit], resets: Sequence[_Edit]) -> PolicyPatch:
    """The file's values with the options' on top, as a patch whose field mask names exactly the fields
    given (so a value of none travels over gRPC too) and the paths to reset."""
    chosen: dict[tuple[str, ...], _Edit] = {}
    for e in edits:
        earlier = chosen.setdefault(e.path, e)
        if earlier.value != e.value:
            raise typer.BadParameter(
                f"{_shown(e.path)} is set twice ({earlier.option} {earlier.given}, {e.option} {e.given})"
            )
    for path, e in chosen.items():
        target = values
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = e.value
    leaves = _leaf_paths(values)
    for r in resets:
        for leaf in leaves:
            if leaf[: len(r.path)] == r.path or r.path[: len(leaf)] == leaf:
                raise typer.BadParameter(
                    f"--reset {r.given} overlaps {_shown(leaf)}: reset or set it, not both"
                )
    paths = dict.fromkeys([*leaves, *(r.path for r in resets)])
    return PolicyPatch(values, tuple(".".join(p) for p in paths))


def _leaf_paths(values: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths to every value in nested dicts that is not itself a dict (an empty dict changes nothing)."""
    if not isinstance(values, dict):
        return [prefix]
    return [leaf for key, value in values.items() for leaf in _leaf_paths(value, (*prefix, str(key)))]


def load_policy(path: Path) -> Policy:
    """A Policy from JSON or TOML (by suffix; anything but .toml is read as JSON)."""
    if not path.is_file():
        raise FileNotFoundError(f"policy file {path} does not exist")
    data: Any
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as err:
            raise InputError(f"{path}: not valid TOML ({err})") from err
    else:
        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as err:
            raise InputError(f"{path}: not valid JSON ({err})") from err
    return Policy.model_validate(data)


# ---------------------------------------------------------------- eval sets

evalsets_app = typer.Typer(
    help="Register the eval sets (gold test sets) no training sample may leak; every collection shares them.",
    no_args_is_help=True,
)
app.add_typer(evalsets_app, name="evalsets")
_ITEMS_FIELD = re.compile(r"^items\[(\d+)\](.*)$")


@dataclass(slots=True)
class _EvalFile:
    """The items read from an eval set file, the line each came from, and how many records were bad."""

    items: list[EvalItem]
    lines: list[int]
    read: int = 0
    invalid: int = 0


def read_eval_items(records: Iterator[Record], report: Callable[[str], None]) -> _EvalFile:
    """Eval items from sample records: the id is the record's ``id``, else its 1-based line ("12"); the
    text is the sample's full text. A bad record is reported as "line N: problem" and skipped.

    Records are read and validated as ``curator filter`` reads them; only what an eval item keeps is bounded
    (its id and text), so metadata and context are not checked."""
    limits = Limits(max_text_chars=MAX_ITEM_CHARS, max_id_chars=MAX_ITEM_ID_CHARS)
    out = _EvalFile([], [])
    seen: dict[str, int] = {}
    for record in records:
        out.read += 1
        problems = _eval_item(record, limits, seen, out)
        if problems:
            out.invalid += 1
            report(f"line {record.line}: {'; '.join(problems)}")
    return out


def _eval_item(record: Record, limits: Limits, seen: dict[str, int], out: _EvalFile) -> list[str]:
    """What is wrong with ``record`` as an eval item; nothing once it is added to ``out``."""
    if record.data is None:
        return [record.problem or "unreadable record"]
    raw, problems = to_sample_input(record.data, record.line)
    if raw is None:
        return problems
    if record.data.get("id") is None:
        raw.id = str(record.line)
    raw.metadata, raw.context = {}, ()
    sample, violations = validate_sample(raw, limits)
    if sample is None:
        return [f"{v.field}: {v.description}" for v in violations]
    text = sample.full_text
    if not text.strip():
        return ["text: the record's content is empty; an eval item needs text"]
    if len(text) > MAX_ITEM_CHARS:
        return [f"text: {len(text):,} characters in all; an eval item holds at most {MAX_ITEM_CHARS:,}"]
    first = seen.setdefault(sample.id, record.line)
    if first != record.line:
        return [f"duplicate id {sample.id!r} (first seen on line {first}): ids must be unique"]
    out.items.append(EvalItem(sample.id, text))
    out.lines.append(record.line)
    return []


def _items_or_exit(file: Path, console: Console) -> _EvalFile:
    """The items of ``file`` (bad lines reported as they are met), or exit 1 when none is valid."""
    shown = "stdin" if str(file) == "-" else str(file)
    read = read_eval_items(open_input(file, require_content=True).records, console.print)
    if not read.items:
        problem = f"{shown} holds no records" if read.read == 0 else f"no valid record in {shown}"
        console.print(f"error: {problem} ({read.read:,} read, {read.invalid:,} invalid): nothing was added")
        raise typer.Exit(1)
    return read


def _with_lines(err: InvalidArgument, lines: Sequence[int]) -> InvalidArgument:
    """``err`` with each items[k] violation also naming the line the item came from."""
    violations = []
    for v in err.violations:
        m = _ITEMS_FIELD.match(v.field)
        if m and int(m.group(1)) < len(lines):
            v = FieldViolation(f"line {lines[int(m.group(1))]} ({v.field})", v.description)
        violations.append(v)
    return InvalidArgument(violations)


@evalsets_app.command("add")
def evalsets_add(
    name: Annotated[
        str,
        typer.Argument(help="Eval set name: 1-64 of a-z, 0-9, _ . - (e.g. mmlu-test).", show_default=False),
    ],
    file: Annotated[
        Path,
        typer.Argument(
            help="JSONL (.jsonl/.json: an object per line), a .json array, or .parquet; - reads stdin.",
            show_default=False,
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--source", help="Where the set comes from, shown by `list` (default: the file's name)."
        ),
    ] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
) -> None:
    """Register an eval set from a file of samples; from then on every collection checks against it.

    Records are read as `curator filter` reads them, in any of the three
    shapes (Alpaca, chat, text). An item's id is the record's "id" field,
    else its 1-based line number ("12"); its text is everything the sample
    says. A bad line (including an id already seen) is reported on stderr as
    "line N: problem" and skipped: the set is added from the good ones. To
    replace a set, remove it first. The whole set is sent in one request (a
    server accepts up to its server.max_message_mb, 128 MiB by default).

    Exit code: 0 when the set was added; 1 on an error, or when no record was
    a valid item.
    """
    console = _err_console()
    with _domain_errors(console):
        settings = load_settings(config, data_dir)
        read = _items_or_exit(file, console)
        with open_backend(settings, server) as backend:
            try:
                default = "stdin" if str(file) == "-" else file.name
                info = backend.add_evalset(name, read.items, source=source if source is not None else default)
            except InvalidArgument as err:
                raise _with_lines(err, read.lines) from None
    skipped = (
        f" ({read.invalid:,} bad line{'' if read.invalid == 1 else 's'} skipped)" if read.invalid else ""
    )
    typer.echo(f"added eval set {info.name}: {info.items:,} items{skipped}")


@evalsets_app.command("list")
def evalsets_list(
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
) -> None:
    """List the eval sets with how many items each holds, when it was added and where it came from."""
    console = _err_console()
    with _domain_errors(console), open_backend(load_settings(config, data_dir), server) as backend:
        infos = backend.list_evalsets()
    table = Table(title="eval sets", title_justify="left")
    table.add_column("name")
    table.add_column("items", justify="right")
    table.add_column("created (UTC)")
    table.add_column("source")
    for info in infos:
        created = info.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(info.name, f"{info.items:,}", created, info.source)
    Console(highlight=False, markup=False).print(table)  # a source is free text: no markup in it


@evalsets_app.command("remove")
def evalsets_remove(
    name: Annotated[str, typer.Argument(help="Eval set name.", show_default=False)],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
) -> None:
    """Unregister an eval set: samples are no longer checked against it (logged decisions stay)."""
    console = _err_console()
    with _domain_errors(console), open_backend(load_settings(config, data_dir), server) as backend:
        info = backend.remove_evalset(name)
    typer.echo(f"removed eval set {info.name} ({info.items:,} items)")


@evalsets_app.command("rescan")
def evalsets_rescan(
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="Collection to check (default: every one).")
    ] = None,
    eval_set: Annotated[
        str | None, typer.Option("--eval-set", help="Eval set to check against (default: every one).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per finding on stdout instead of a table.")
    ] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
) -> None:
    """Check the samples already kept against the eval sets (e.g. after adding one); changes nothing.

    Prints one finding per kept sample and eval item it leaks
    (EVAL_CONTAMINATION: the sample quotes the item; EVAL_PARAPHRASE: it
    rewords it), as a table or, with --json, one JSON object per line; then a
    count line on stderr. Exit code: 0, findings or not; 1 on an error (e.g.
    no such collection or eval set).
    """
    console = _err_console()
    with _domain_errors(console), open_backend(load_settings(config, data_dir), server) as backend:
        findings = backend.rescan_evalsets(collection=collection, evalset=eval_set)
    if as_json:
        for f in findings:
            typer.echo(orjson.dumps(_finding_json(f)).decode())
    elif findings:
        table = Table(title="contaminated kept samples", title_justify="left")
        for column in ("collection", "sample", "code", "eval set", "item", "score", "detail"):
            table.add_column(
                column, justify="right" if column == "score" else "left", no_wrap=column in ("code", "score")
            )
        for f in findings:
            table.add_row(
                f.collection, f.sample_id, str(f.code), f.eval_set, f.item_id, f"{f.score:.3f}", f.detail
            )
        Console(highlight=False, markup=False).print(table)
    samples = len({(f.collection, f.sample_id) for f in findings})
    scope = f"collection {collection}" if collection else "every collection"
    scope += f" against eval set {eval_set}" if eval_set else " against every eval set"
    plural = "" if len(findings) == 1 else "s"
    console.print(
        f"{len(findings):,} finding{plural} in {samples:,} kept sample{'' if samples == 1 else 's'} ({scope})"
    )


def _finding_json(f: ContaminationFinding) -> dict[str, Any]:
    return {
        "collection": f.collection,
        "sample_id": f.sample_id,
        "code": str(f.code),
        "eval_set": f.eval_set,
        "item_id": f.item_id,
        "score": f.score,
        "detail": f.detail,
    }


# ---------------------------------------------------------------- real-data reference and coverage

reference_app = typer.Typer(
    help="A collection's reference: real, human-written data its synthetic samples should cover "
    "(`curator report` compares them).",
    no_args_is_help=True,
)
app.add_typer(reference_app, name="reference")
EXAMPLE_CHARS = 160
_METRICS = {
    "mean_nn_distance": "mean NN distance (1 - cosine)",
    "cluster_entropy": "cluster entropy",
    "distinct_3": "distinct word 3-grams",
}
BELOW = "▼"  # marks a window's metric that fell more than the monitor's max_drop below the reference's


@reference_app.command("add")
def reference_add(
    collection: Annotated[str, typer.Argument(help="Collection name.", show_default=False)],
    file: Annotated[
        Path,
        typer.Argument(
            help="JSONL (.jsonl/.json: an object per line), a .json array, or .parquet; - reads stdin.",
            show_default=False,
        ),
    ],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
) -> None:
    """Add real, human-written items to a collection's reference, from a file of samples.

    Records are read as `curator evalsets add` reads them, in any of the
    three shapes (Alpaca, chat, text): an item's id is the record's "id"
    field, else its 1-based line number; its text is everything the sample
    says. A bad line (including an id already seen) is reported on stderr as
    "line N: problem" and skipped. Items are embedded once, now, and add to
    what the reference already holds (adding a file twice counts it twice).
    Nothing is filtered or admitted into the collection.

    Exit code: 0 when items were added; 1 on an error (e.g. no such
    collection), or when no record was a valid item.
    """
    console = _err_console()
    with _domain_errors(console):
        settings = load_settings(config, data_dir)
        read = _items_or_exit(file, console)
        with open_backend(settings, server) as backend:
            try:
                size = backend.add_reference(collection, read.items)
            except InvalidArgument as err:
                raise _with_lines(err, read.lines) from None
    added = len(read.items)
    skipped = f"; {read.invalid:,} bad line{'' if read.invalid == 1 else 's'} skipped" if read.invalid else ""
    typer.echo(
        f"added {added:,} item{'' if added == 1 else 's'} to the reference of collection {collection} "
        f"({size:,} in all{skipped})"
    )


@app.command("report")
def report_command(
    collection: Annotated[str, typer.Argument(help="Collection name.", show_default=False)],
    group_by: Annotated[
        str, typer.Option("--group-by", help="Metadata key to break the kept samples' mix down by.")
    ] = "source",
    k: Annotated[
        int,
        typer.Option(
            "--k",
            min=1,
            help="Nearest neighbours that set each point's radius in precision and recall (1-50).",
        ),
    ] = 5,
    clusters: Annotated[
        int, typer.Option("--clusters", min=1, help="k-means clusters the regions come from (2-100).")
    ] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    server: ServerOption = None,
) -> None:
    """How the collection's kept synthetic samples cover its real reference (`curator reference add`).

    Precision: the share of kept samples that look like real data. Recall:
    the share of real items the kept samples cover. Then the mix of kept
    samples by --group-by, the collapse monitor's metrics on either side,
    its daily windows against the reference (each metric of a window
    beside an equally large sample of the real data, marked where it fell
    more than the monitor's max_drop below; only with a semantic index and
    at least 5 kept samples in a window), and the regions of the embedding
    space: missed ones (real data the synthetic set lacks: generate more of
    it) with real examples, then over-filled ones with kept examples. At
    most 5,000 points of each side are compared (a uniform sample beyond).
    Takes a few seconds; changes nothing.
    """
    console = _err_console()
    with _domain_errors(console), open_backend(load_settings(config, data_dir), server) as backend:
        report = backend.report(collection, group_by=group_by, k=k, clusters=clusters)
    if as_json:
        typer.echo(orjson.dumps(coverage_report_json(report), option=orjson.OPT_INDENT_2).decode())
        return
    print_coverage(report, Console(highlight=False, markup=False))  # texts and metadata are free text


def print_coverage(report: CoverageReport, out: Console) -> None:
    """The report for people: header, mix, metrics, windows against the reference, then missed and
    over-filled regions with examples."""
    out.print(f"Coverage of collection {report.collection}", style="bold")
    out.print(
        f"{report.reference_items:,} reference items (real), {report.synthetic_kept:,} kept synthetic samples"
        + (" (compared on a uniform sample of at most 5,000 of each side)" if report.sampled else "")
    )
    if not report.reference_items:
        out.print(
            f"No reference yet: add real, human-written samples with "
            f"`curator reference add {report.collection} FILE`."
        )
    header = Table.grid(padding=(0, 2))
    header.add_column()
    header.add_column(justify="right")
    header.add_column(style="dim")
    header.add_row(
        "precision",
        _pct(report.precision),
        "share of kept samples that look like real data (within the real items' "
        f"{report.k}-nearest-neighbour radius)",
    )
    header.add_row(
        "recall",
        _pct(report.recall),
        f"share of real items the kept samples cover (within the kept samples' {report.k}-NN radius)",
    )
    out.print(header)
    if report.precision is None:
        out.print(f"(precision and recall need more than k = {report.k} items on both sides)", style="dim")

    out.print()
    if report.mix:
        mix = Table(title=f"kept samples by {report.mix_key}", title_justify="left")
        mix.add_column(report.mix_key)
        mix.add_column("kept", justify="right")
        mix.add_column("share", justify="right")
        for row in report.mix:
            mix.add_row(row.value or "(none)", f"{row.kept:,}", _pct(row.share))
        out.print(mix)

    names = [m for m in _METRICS if m in report.reference_metrics or m in report.synthetic_metrics]
    names += sorted((set(report.reference_metrics) | set(report.synthetic_metrics)) - set(names))
    if names:
        metrics = Table(
            title="diversity (ratio = synthetic / real; under 1: less diverse)", title_justify="left"
        )
        for column in ("metric", "real", "synthetic", "ratio"):
            metrics.add_column(column, justify="left" if column == "metric" else "right")
        for name in names:
            real, synthetic = report.reference_metrics.get(name), report.synthetic_metrics.get(name)
            ratio = synthetic / real if real and synthetic is not None else None
            metrics.add_row(_METRICS.get(name, name), _num(real), _num(synthetic), _num(ratio, 2))
        out.print(metrics)
    if report.windows:
        out.print(windows_table(report.windows))

    if not report.regions:
        out.print("regions: none (they need both reference items and kept samples)", style="dim")
        return
    missed = [g for g in report.regions if g.status == "missed"]
    over = sorted(
        (g for g in report.regions if g.status == "over-filled"),
        key=lambda g: g.real_share - g.synthetic_share,
    )
    balanced = len(report.regions) - len(missed) - len(over)
    out.print()
    out.print(
        f"Missed regions: {len(missed)} (real data the kept samples lack: generate more of this)",
        style="bold",
    )
    for g in missed:
        _print_region(out, g, "real examples")
    out.print(f"Over-filled regions: {len(over)} (more kept samples than the real data has)", style="bold")
    for g in over:
        _print_region(out, g, "kept examples")
    out.print(f"{balanced} balanced region{'' if balanced == 1 else 's'} of {len(report.regions)}.")


def windows_table(windows: list[ReferenceWindow]) -> Table:
    """The collapse monitor's windows against the reference: per metric, the window's value / the
    reference's, marked where the window fell more than the monitor's max_drop below it."""
    names = [m for m in _METRICS if any(m in w.window for w in windows)]
    names += sorted({m for w in windows for m in w.window} - set(names))
    daily = all(w.start.astimezone(UTC).time() == datetime.min.time() for w in windows)
    table = Table(
        title=f"windows against the reference (window / reference; {BELOW}: more than the collapse "
        "monitor's max_drop below the reference)",
        title_justify="left",
    )
    table.add_column("start (UTC)", no_wrap=True)
    table.add_column("kept", justify="right")
    for name in names:
        table.add_column(_METRICS.get(name, name), justify="right", no_wrap=True)
    for w in windows:
        cells: list[str | Text] = [
            w.start.astimezone(UTC).strftime("%Y-%m-%d" if daily else "%Y-%m-%d %H:%M"),
            f"{w.kept:,}",
        ]
        for name in names:
            if name not in w.window:
                cells.append("–")
            elif name in w.below:
                cells.append(
                    Text(f"{_num(w.window[name])} / {_num(w.reference.get(name))} {BELOW}", "bold red")
                )
            else:
                cells.append(f"{_num(w.window[name])} / {_num(w.reference.get(name))}")
        table.add_row(*cells)
    return table


def _print_region(out: Console, g: Region, what: str) -> None:
    out.print(
        f"  region {g.cluster}: {_pct(g.real_share)} of real items, "
        f"{_pct(g.synthetic_share)} of kept samples; {what}:"
    )
    examples = Table.grid(padding=(0, 1))
    examples.add_column(no_wrap=True)
    examples.add_column(overflow="fold")  # a long line wraps under its own start, not under the dash
    for text in g.examples:
        examples.add_row("    -", clip(text))
    out.print(examples)


def clip(text: str, limit: int = EXAMPLE_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _num(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x + 0.0:.{digits}f}"  # + 0.0: no "-0.000" for an entropy of -0.0


models_app = typer.Typer(help="Prepare embedding models.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("export-onnx")
def models_export_onnx(
    out: Annotated[
        Path | None, typer.Option("--out", file_okay=False, help="Default: <data_dir>/models/minilm-onnx.")
    ] = None,
    model: Annotated[
        Path | None, typer.Option("--model", file_okay=False, help="Default: the packaged MiniLM.")
    ] = None,
    opset: Annotated[int, typer.Option("--opset")] = 17,
    int8: Annotated[
        bool, typer.Option("--int8/--no-int8", help="Also write model.int8.onnx (less exact).")
    ] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Export the embedding model to ONNX, for embeddings.backend = "onnx" (same embeddings, ~2x faster)."""
    console = _err_console()
    with _domain_errors(console):
        from curator.embeddings.model import default_model_path
        from curator.embeddings.onnx_export import export_onnx

        settings = load_settings(config, data_dir)
        st_path = settings.embeddings.model_path if settings.embeddings.backend == "torch" else None
        source = model or st_path or default_model_path()
        target = out or settings.data_dir / "models" / "minilm-onnx"
        path = export_onnx(source, target, opset, quantize=int8)
    typer.echo(f"exported {source} to {path}")
    typer.echo(f"use it with CURATOR_EMBEDDINGS__BACKEND=onnx CURATOR_EMBEDDINGS__MODEL_PATH={target}")


# ---------------------------------------------------------------- train

train_app = typer.Typer(help="Rebuild the models curator ships (models/).", no_args_is_help=True)
app.add_typer(train_app, name="train")


@train_app.command("quality")
def train_quality_command(
    data: Annotated[
        Path | None,
        typer.Option("--data", file_okay=False, help="Training data folder (default: ../shared/data)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", file_okay=False, help="Where to write (default: models/quality).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random choice.")] = 13,
) -> None:
    """Train the fastText quality classifiers, language profiles and calibration (see MODEL_CARD.md)."""
    from curator.quality.train import TrainConfig, train_quality

    console = _err_console()
    with _domain_errors(console):
        defaults = TrainConfig()
        config = TrainConfig(data_dir=data or defaults.data_dir, out_dir=out or defaults.out_dir, seed=seed)
        train_quality(config, report=console.print)


if __name__ == "__main__":
    app()
