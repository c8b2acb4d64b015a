"""Command line: ``python -m model_backend run|plan|eval-plans|serve|capabilities|train|eval|convert|setup-env|models``.

Exit status: 0 success, 1 failure (one-line reason on stderr), 2 bad usage, 3 the model could not be
loaded (the message says how to point at a local folder or a model server), 130 interrupted (what was done
is kept, marked partial).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import time
from typing import Any, Sequence

from .errors import ConfigError, EngineError, GeoRSMLLMError

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_MODEL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--raster", help="raster file (any GDAL format), http(s) URL of a cloud-optimised GeoTIFF, or "
                                    "STAC item (JSON file or URL)")
    p.add_argument("--raster-b", dest="raster_b", help="second ('after') raster for change detection")
    p.add_argument("--stac-assets", dest="stac_assets",
                   help="STAC items: the asset to read (e.g. visual) or three single-band assets as R,G,B "
                        "(e.g. red,green,blue or B04,B03,B02); default: the visual asset, else red/green/blue")
    p.add_argument("--instruction", "-i", help='what to do, e.g. "[detection] planes" or "segment the lakes"')
    p.add_argument("--output", "-o", help="GeoPackage to write (other layers in it are kept)")
    p.add_argument("--geojson", help="also write the results as GeoJSON (EPSG:4326) here")
    p.add_argument("--task", help="force a task: detection, seg, change, caption, identify, vqa, classify, geolocation")
    p.add_argument("--engine", help="transformers (default, in-process), openai (model server) or scripted")
    p.add_argument("--model", help="model folder or hub id (transformers), or the model name a server expects")
    p.add_argument("--base-url", dest="base_url", action="append",
                   help="OpenAI-compatible server, e.g. http://localhost:8000/v1 (repeatable: several servers of "
                        "the same model share the tiles)")
    p.add_argument("--endpoint-concurrency", dest="endpoint_concurrency", type=int,
                   help="most requests in flight per model server (default: no limit of its own)")
    p.add_argument("--api-key", dest="api_key", help="bearer token for the model server")
    p.add_argument("--dialect", help="answer format; default: the model family's own")
    p.add_argument("--device", help="auto (default), cuda, mps or cpu")
    p.add_argument("--segmenter", help="sam2 (default), sam2-onnx or none")
    p.add_argument("--refine", help="none (default) or sam2: boxes of detection and change prompt the segmenter, "
                                    "giving outlines and rotated boxes")
    p.add_argument("--sam2-checkpoint", dest="sam2_checkpoint", help="SAM2 checkpoint file or hub id")
    p.add_argument("--sam2-size", dest="sam2_size", help="tiny, small, base_plus or large")
    p.add_argument("--sam2-image-size", dest="sam2_image_size", type=int,
                   help="SAM2's square input in pixels (default 1024, as the official checkpoints)")
    p.add_argument("--parser-model", dest="parser_model", help="text LLM that writes the instruction's plan")
    p.add_argument("--tile-size", dest="tile_size", type=int, help="tile side in pixels of the image sent")
    p.add_argument("--overlap", type=int, help="tile overlap in pixels of the image sent")
    p.add_argument("--gsd", type=float, help="target ground sample distance (CRS units per pixel sent)")
    p.add_argument("--bands", help="three band numbers (e.g. 4,3,2) or one")
    p.add_argument("--concurrency", type=int, help="tiles in flight at once")
    p.add_argument("--max-tiles", dest="max_tiles", type=int, help="refuse runs planning more tiles (default 10000)")
    p.add_argument("--max-batch", dest="max_batch", type=int,
                   help="transformers engine: most tiles run together in one generate call (default 4; 1: one at a time)")
    p.add_argument("--context-layer", dest="context_layers", action="append",
                   help="vector layers the instruction may name (repeatable): FILE gives each of its layers "
                        "by its own name, FILE|LAYER one of them, NAME=FILE[|LAYER] names it")
    p.add_argument("--classes", help="candidate classes for classification, comma separated")
    p.add_argument("--regions", help="vector file of features to describe (region caption)")
    p.add_argument("--area", help="vector file whose features bound the area of interest (results must touch them)")
    p.add_argument("--run-name", dest="run_name", help="name of the output layers' prefix")
    p.add_argument("--previous", help="a result layer to follow up on (FILE.gpkg|LAYER): \"now only those larger "
                   "than 500 m2\" filters its objects; the new layer goes into that file unless --output is given")
    p.add_argument("--follow-up", dest="follow_up", choices=("auto", "yes", "no"),
                   help="with --previous: follow up on it when the wording refers to it (auto, default), always, never")
    p.add_argument("--script", help="answers file for the scripted engine (demos and tests)")
    p.add_argument("--allow-pixel-coords", dest="allow_pixel_coords", action="store_true", default=None,
                   help="accept a raster without CRS and write pixel coordinates")
    p.add_argument("--config", help="TOML file of settings (also $GEORSMLLM_CONFIG)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model_backend", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run an instruction on a raster and write a GeoPackage")
    _add_run_options(run)
    run.add_argument("--resume", nargs="?", const="", default=None, metavar="RUN_ID",
                     help="go on with an interrupted run of --output from its journal, without redoing finished "
                          "tiles: RUN_ID's, else the one named --run-name, else the only one; its settings are "
                          "reused (options given must not change its results)")
    plan = sub.add_parser("plan", help="show how an instruction would run, as numbered sentences")
    _add_run_options(plan)
    plan.add_argument("--json", action="store_true", help="print the typed plan and its sentences as JSON")
    evalp = sub.add_parser("eval-plans", help="accuracy of the instruction parsers on a corpus, per construct")
    evalp.add_argument("file", help="JSON lines of instructions with expected plans (tests/data/instructions.jsonl)")
    for flag in ("--parser-model", "--engine", "--base-url", "--api-key", "--device", "--config"):
        evalp.add_argument(flag, dest=flag[2:].replace("-", "_"), default=None)
    evalp.add_argument("--failures", action="store_true", help="list the instructions each parser got wrong")
    serve = sub.add_parser("serve", help="start the local backend server (HTTP API for the QGIS plugin)")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8765; 0 picks a free one)")
    serve.add_argument("--token", default=None,
                       help="bearer token clients must send (default: a random one, printed at start or written "
                            "to --token-file)")
    serve.add_argument("--token-file", dest="token_file", default=None,
                       help="keep the token in this file (readable by you only) instead of printing it: a token "
                            "already there is used again, else a new one is written")
    serve.add_argument("--no-token", dest="no_token", action="store_true",
                       help="accept requests without a token (loopback only; any local program can then use it)")
    serve.add_argument("--allow-dir", dest="allow_dirs", action="append", default=None,
                       help="folder whose rasters and layers clients may name (repeatable)")
    serve.add_argument("--allow-url", dest="allow_urls", action="append", default=None,
                       help="http(s) URL prefix jobs may read rasters and layers from (repeatable; none by default)")
    serve.add_argument("--allow-host", dest="allow_hosts", action="append", default=None,
                       help="extra Host name (NAME or NAME:PORT) clients may use, e.g. behind a tunnel (repeatable)")
    serve.add_argument("--work-dir", dest="work_dir", default=None, help="where uploads and job outputs go")
    serve.add_argument("--max-upload-mb", dest="max_upload_mb", type=float, default=None,
                       help="largest upload request (default 256)")
    serve.add_argument("--max-upload-mpx", dest="max_upload_mpx", type=float, default=None,
                       help="largest uploaded image in megapixels (default 64)")
    serve.add_argument("--max-body-mb", dest="max_body_mb", type=float, default=None,
                       help="largest JSON request other than uploads (default 16)")
    serve.add_argument("--max-work-mb", dest="max_work_mb", type=float, default=None,
                       help="cap on the work folder (uploads and job outputs, default 8192)")
    serve.add_argument("--port-file", dest="port_file", default=None,
                       help="write the bound port here once listening (for clients that start the server)")
    for flag in ("--engine", "--model", "--api-key", "--dialect", "--device", "--segmenter", "--refine",
                 "--sam2-checkpoint", "--sam2-size", "--parser-model", "--script", "--config"):
        serve.add_argument(flag, dest=flag[2:].replace("-", "_"), default=None)
    serve.add_argument("--base-url", dest="base_url", action="append", default=None,
                       help="OpenAI-compatible model server (repeatable)")
    serve.add_argument("--concurrency", type=int, default=None)
    serve.add_argument("--sam2-image-size", dest="sam2_image_size", type=int, default=None)
    serve.add_argument("--sam2-cache-entries", dest="sam2_cache_entries", type=int, default=None,
                       help="SAM2 image encodings kept for refining results by clicking (default 32)")
    serve.add_argument("--sam2-cache-mb", dest="sam2_cache_mb", type=float, default=None,
                       help="memory the kept SAM2 encodings may take, in MB (default 512)")
    serve.add_argument("--max-tiles", dest="max_tiles", type=int, default=None)
    serve.add_argument("--endpoint-concurrency", dest="endpoint_concurrency", type=int, default=None)
    serve.add_argument("--max-batch", dest="max_batch", type=int, default=None,
                       help="transformers engine: most requests run together in one generate call")
    serve.add_argument("--lazy", action="store_true", help="load the model on the first job, not at start")
    serve.add_argument("--parent-pid", dest="parent_pid", type=int, default=None,
                       help="stop when this process (the QGIS that started the server) exits")
    capabilities = sub.add_parser("capabilities", help="list the names the backend accepts (tasks, dialects, "
                                  "engines, segmenters, model families, defaults, output fields)")
    capabilities.add_argument("--json", action="store_true", help="as JSON (what GET /v1/capabilities answers)")
    # Commands of other packages register a ``handler`` (their imports stay light: no torch at start-up).
    from .data.cli import add_convert_parser
    from .envsetup.cli import add_setup_env_parser, cmd_setup_env
    from .evaluation.cli import add_eval_parser
    from .models.cli import add_models_parser, cmd_models
    from .training.cli import add_train_parser

    add_train_parser(sub)
    add_eval_parser(sub)
    add_convert_parser(sub)
    add_setup_env_parser(sub).set_defaults(handler=cmd_setup_env)
    add_models_parser(sub).set_defaults(handler=cmd_models)
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    skip = {"command", "config", "quiet", "geojson", "regions", "area", "resume", "previous", "host", "port",
            "token", "token_file", "no_token", "allow_dirs", "allow_urls", "allow_hosts", "work_dir",
            "max_upload_mb", "max_upload_mpx", "max_body_mb", "max_work_mb", "port_file", "lazy", "parent_pid",
            "json", "file", "failures", "sam2_cache_entries", "sam2_cache_mb"}
    values = {k: v for k, v in vars(args).items() if k not in skip and v is not None}
    if isinstance(values.get("bands"), str):
        values["bands"] = [int(b) for b in values["bands"].split(",") if b.strip()]
    if isinstance(values.get("stac_assets"), str):
        values["stac_assets"] = [a.strip() for a in values["stac_assets"].split(",") if a.strip()]
    if isinstance(values.get("classes"), str):
        values["classes"] = [c.strip() for c in values["classes"].split(",") if c.strip()]
    return values


class ProgressBar:
    """A one-line progress bar on stderr (no dependency; silent when not a terminal and quiet)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.started = time.monotonic()

    def __call__(self, event) -> None:
        if not self.enabled:
            return
        if event.kind == "plan":
            print(f"plan: {event.message}", file=sys.stderr)
        elif event.kind == "tile" and event.tiles_total:
            done, total = event.tiles_done, event.tiles_total
            width = 30
            filled = int(width * done / total)
            elapsed = time.monotonic() - self.started
            eta = elapsed / done * (total - done) if done else 0
            print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} tiles  {elapsed:5.1f}s  "
                  f"eta {eta:5.1f}s", end="", file=sys.stderr, flush=True)
            if done == total:
                print(file=sys.stderr)


def _model_hint(config) -> str:
    return ("point --model at a local model folder (a checkpoint saved with save_pretrained, safetensors), "
            "or use a model server: --engine openai --base-url http://HOST:PORT/v1 --model NAME "
            f"(the model was {config.model!r})")


def cmd_run(args: argparse.Namespace, plan_only: bool = False) -> int:
    from .pipeline.config import RunConfig
    from .pipeline.context import read_context_layers
    from .pipeline.events import CancelToken
    from .pipeline.factory import build_engine, build_parser_engine, build_segmenter, needs_segmenter
    from .pipeline.inputs import raster_crs, read_area, read_features
    from .pipeline.previous import read_previous_layer
    from .pipeline.resume import check_settings, find_resumable, new_run_id, resumable_settings
    from .pipeline.runner import Pipeline

    overrides = _overrides(args)
    resuming = getattr(args, "resume", None) is not None
    stored = None
    if resuming:  # the interrupted run's own settings are the base; options given may only change where it runs
        probe = RunConfig.load(overrides, config_file=args.config)
        stored = find_resumable(probe.output, run_id=args.resume or None, run_name=probe.run_name)
    config = RunConfig.load(overrides, config_file=args.config,
                            base=resumable_settings(stored) if stored else None)
    if not config.raster:
        raise ConfigError("--raster is required")
    if not config.instruction:
        raise ConfigError("--instruction is required")
    if stored is not None:
        check_settings(stored, config)  # before a model is loaded for nothing
    engine = build_engine(config)
    context = read_context_layers(config.context_layers) if config.context_layers else {}
    assets = config.stac_assets
    regions = read_features(args.regions, config.raster, assets) if getattr(args, "regions", None) else None
    area = read_area(args.area, config.raster, assets) if getattr(args, "area", None) else None
    geojson = args.geojson
    if stored is not None:
        area = area if area is not None else _stored_area(stored.extra.get("area_wkb"))
        geojson = geojson or stored.extra.get("geojson")
    previous = read_previous_layer(args.previous, raster_crs(config.raster, assets)) \
        if getattr(args, "previous", None) else None
    if plan_only:
        parser_engine = build_parser_engine(config, engine) if config.parser_model else None
        if parser_engine is not None:
            parser_engine.load()
        pipeline = Pipeline(config, engine, context_layers=context, parser_engine=parser_engine, previous=previous)
        described = pipeline.describe_plan()
        if args.json:
            _print_out(json.dumps(described, indent=2, ensure_ascii=False))
        else:
            _print_out(f"task: {described['task']} ({described['task_reason']})\n{described['text']}")
        return EXIT_OK
    try:
        engine.load()
    except EngineError as exc:
        print(f"error: {exc}\nhint: {_model_hint(config)}", file=sys.stderr)
        return EXIT_MODEL
    parser_engine = build_parser_engine(config, engine)
    if parser_engine is not None and parser_engine is not engine and not resuming:  # a resumed run keeps its plan
        parser_engine.load()
    pipeline = Pipeline(config, engine, context_layers=context, regions=regions, parser_engine=parser_engine,
                        area=area, geojson_path=geojson, previous=previous)
    if pipeline.followup is not None and previous.gpkg and getattr(args, "output", None) is None:
        # a follow-up goes beside the result it follows, unless an output is given
        pipeline = dataclasses.replace(pipeline, config=dataclasses.replace(config, output=previous.gpkg))
    if needs_segmenter(config, pipeline.choice.task):
        pipeline = dataclasses.replace(pipeline, segmenter=build_segmenter(config))
    segmenter = pipeline.segmenter
    run_id = stored.run_id if stored else new_run_id()
    cancel = CancelToken()
    # Ctrl-C and SIGTERM stop the run within one tile; what is done is written (marked partial) and stays
    # resumable. A second signal stops at once (finished tiles are in the journal all the same).
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def stop(signum, _frame) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()

    for sig in handlers:
        signal.signal(sig, stop)
    try:
        result = pipeline.run(on_event=ProgressBar(not args.quiet), cancel=cancel, run_id=run_id, resume=resuming)
    except GeoRSMLLMError as exc:
        _resume_hint(config.output, run_id, exc)
        raise
    finally:
        for sig, previous in handlers.items():
            signal.signal(sig, previous)
        engine.close()
        if segmenter is not None:
            segmenter.close()
    _print_summary(result)
    if result.partial:
        print(f"resume    python -m model_backend run --resume {result.run_id} -o {config.output}")
    return EXIT_INTERRUPTED if result.partial else EXIT_OK


def _stored_area(wkb_hex: str | None):
    import shapely

    return shapely.from_wkb(wkb_hex) if wkb_hex else None


def _resume_hint(output: str, run_id: str, exc: Exception) -> None:
    """After a failed run: how to go on with it when it finished tiles (they are in the journal)."""
    from .pipeline.journal import iter_journal_runs

    if isinstance(exc, ConfigError):
        return
    try:
        run = next((r for r in iter_journal_runs(output) if r.run_id == run_id), None)
    except GeoRSMLLMError:
        return
    if run is not None and run.tiles_done:
        print(f"hint: {run.tiles_done} finished tiles are kept; once the cause is fixed, go on with: "
              f"python -m model_backend run --resume {run_id} -o {output}", file=sys.stderr)


def _print_summary(result) -> None:
    counts = ", ".join(f"{label}: {n}" for label, n in sorted(result.counts.items())) or "nothing found"
    engine = result.engine
    lines = [
        f"task      {result.task} ({result.task_reason})",
        f"objects   {counts}",
        f"tiles     {result.tiles_done}/{result.tiles_total}" + ("  (PARTIAL: cancelled)" if result.partial else ""),
        f"time      {result.elapsed_s:.2f} s",
        f"model     {engine.get('model')} [{engine.get('engine')}, dialect {result.dialect}]",
        f"device    {engine.get('device')}",
    ]
    for answer in result.answers:
        where = f" (region {answer.region})" if answer.region is not None else ""
        lines.append(f"{answer.kind.replace('_', ' '):<10}{answer.text}{where}")
    if result.outputs.get("gpkg"):
        lines.append(f"output    {result.outputs['gpkg']} layers {', '.join(result.outputs['layers'].values())}")
    if result.outputs.get("geojson"):
        lines.append(f"geojson   {result.outputs['geojson']}")
    shown = result.warnings[:5]
    lines += [f"warning   {w}" for w in shown]
    if len(result.warnings) > len(shown):
        lines.append(f"warning   ... and {len(result.warnings) - len(shown)} more")
    _print_out("\n".join(lines))


def _print_out(text: str) -> None:
    """Print ``text`` on stdout. A reader that went away (``run … | head -3``) is no failure of the run:
    what is left is dropped, silently, like other command-line tools do."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _drop_stdout()


def _drop_stdout() -> None:
    # Python flushes stdout again at exit and would print a traceback there: point it at /dev/null.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def cmd_eval_plans(args: argparse.Namespace) -> int:
    """Parse every instruction of a corpus with the grammar (and the LLM parser when ``--parser-model``
    is given) and print the share of plans that come out right, per construct."""
    from .conditions.evaluate import evaluate, format_reports, load_corpus
    from .conditions.parse import parse_plan
    from .pipeline.config import RunConfig
    from .pipeline.factory import build_parser_engine

    entries = load_corpus(args.file)
    reports = [evaluate(entries, lambda e: parse_plan(e.instruction, layer_names=list(e.layers)), "grammar")]
    parser_engine = None
    if args.parser_model:
        config = RunConfig.load(_overrides(args), config_file=args.config)
        parser_engine = build_parser_engine(config, None)
        if parser_engine is None:
            raise ConfigError("--parser-model 'same' needs a run's main model; name a parser model")
        try:
            parser_engine.load()
        except EngineError as exc:
            print(f"error: {exc}\nhint: {_model_hint(config)}", file=sys.stderr)
            return EXIT_MODEL
        name = f"llm ({args.parser_model})"

        def with_llm(entry):
            plan = parse_plan(entry.instruction, parser_engine, layer_names=list(entry.layers))
            if not plan.parser.startswith("llm"):
                raise ValueError(f"the LLM answer was unusable: {'; '.join(plan.warnings)}")
            return plan

        try:
            reports.append(evaluate(entries, with_llm, name))
        finally:
            parser_engine.close()
    lines = [f"{len(entries)} instructions in {args.file}", format_reports(reports)]
    if args.failures:
        for report in reports:
            wrong = [o for o in report.outcomes if not o.ok]
            lines.append(f"\n{report.parser}: {len(wrong)} wrong")
            for o in wrong:
                got = o.error or o.got.describe().replace("\n", " | ")
                lines.append(f"  {o.entry.id}: {o.entry.instruction}\n      got: {got}")
    _print_out("\n".join(lines))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .server.main import serve

    return serve(args, _overrides(args))


def main(argv: Sequence[str] | None = None) -> int:
    code = EXIT_FAIL
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, not at exit: a closed pipe must be caught like any other write
        return code
    except BrokenPipeError:  # the reader of stdout went away (``… | head``): stop quietly
        _drop_stdout()
        return code


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "plan":
            return cmd_run(args, plan_only=True)
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "eval-plans":
            return cmd_eval_plans(args)
        if args.command == "capabilities":
            from .vocabulary import capabilities_json, describe

            print(capabilities_json().rstrip("\n") if args.json else describe())
            return EXIT_OK
        if hasattr(args, "handler"):
            return args.handler(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except GeoRSMLLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    parser.error(f"unknown command {args.command}")
    return EXIT_USAGE
