"""``python -m model_backend convert FORMAT ...``: label files -> instruction JSON lines, and
``convert augment`` for cyclic-referring self-augmentation of existing JSON lines."""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError


def _classes(text: str | None) -> dict[int, str] | None:
    """``"1=road,2=building"`` -> ``{1: "road", 2: "building"}``."""
    if not text:
        return None
    out: dict[int, str] = {}
    for part in text.split(","):
        value, sep, name = part.partition("=")
        if not sep or not value.strip().lstrip("-").isdigit() or not name.strip():
            raise ConfigError(f"--classes: expected VALUE=NAME pairs like 1=road,2=building, got {part!r}")
        out[int(value)] = name.strip()
    return out


def add_convert_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``convert`` (with one sub-command per input format) to a CLI's sub-parsers."""
    p = subparsers.add_parser("convert", help="make instruction JSON lines from labels (or augment them)")
    fmt = p.add_subparsers(dest="format", required=True)

    def common(sp, out_required=True):
        sp.add_argument("--output", "-o", required=out_required, help="JSON-lines file to write")
        sp.add_argument("--root", help="folder record image paths are relative to")
        return sp

    for name, helptext in (("dota", "x1 y1 ... x4 y4 class difficult"), ("cxcywha", "cx cy w h angle class")):
        sp = common(fmt.add_parser(name, help=f"rotated boxes, one text file per image ({helptext})"))
        sp.add_argument("--images", required=True, help="image folder")
        sp.add_argument("--labels", required=True, help="label text folder (same stems as the images)")
        sp.add_argument("--skip-difficult", action="store_true")
        if name == "cxcywha":
            sp.add_argument("--angle-unit", choices=("deg", "rad"), default="deg")
            sp.add_argument("--angle-sign", type=int, choices=(1, -1), default=1,
                            help="1: positive angles turn clockwise on screen (default); -1: counter-clockwise")
            sp.add_argument("--coord-scale", type=float, help="coordinates are 0..SCALE of the image (default: pixels)")
    sp = common(fmt.add_parser("referring", help="one mask per referring expression (index JSON/JSONL)"))
    sp.add_argument("--index", required=True, help='entries {"image", "mask", "expression"}')
    sp = common(fmt.add_parser("instances", help="class masks (and instance masks) per image"))
    sp.add_argument("--images", required=True)
    sp.add_argument("--masks", required=True, help="class-mask PNG folder")
    sp.add_argument("--instances", help="instance-mask PNG folder (default: connected components)")
    sp.add_argument("--classes", required=True, help="VALUE=NAME pairs, e.g. 2=building,3=road")
    sp = common(fmt.add_parser("coco", help="COCO-style polygon annotations"))
    sp.add_argument("--annotations", required=True)
    sp.add_argument("--images", required=True)
    for sp in (fmt.choices["referring"], fmt.choices["instances"], fmt.choices["coco"]):
        sp.add_argument("--keypoints", type=int, default=3, help="keypoints per mask (default 3)")
        sp.add_argument("--seed", type=int, default=0)
    sp = common(fmt.add_parser("change", help="LEVIR-MCI layout: A/, B/, label/"))
    sp.add_argument("--split", required=True, help="folder holding A/, B/ and label/")
    sp.add_argument("--captions", help="LEVIR-CC style captions JSON")
    sp.add_argument("--classes", help="VALUE=NAME pairs (default 1=road,2=building)")
    sp = common(fmt.add_parser("augment", help="cyclic-referring self-augmentation of JSON lines"))
    sp.add_argument("--data", required=True, help="JSON-lines records to augment")
    sp.add_argument("--ratio", type=float, default=0.5, help="share of records augmented (0..1)")
    sp.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_convert)
    return p


def cmd_convert(args: argparse.Namespace) -> int:
    """Run ``convert``; prints the summary line (and skipped records) on stderr. Returns 0."""
    from . import (
        convert_change,
        convert_coco,
        convert_instance_masks,
        convert_referring,
        convert_rotated,
        cyclic_augment,
        read_jsonl,
        write_jsonl,
    )

    f = args.format
    if f in ("dota", "cxcywha"):
        extra = {}
        if f == "cxcywha":
            extra = dict(angle_unit=args.angle_unit, angle_sign=args.angle_sign, coord_scale=args.coord_scale)
        report = convert_rotated(args.images, args.labels, fmt=f, skip_difficult=args.skip_difficult,
                                 root=args.root, **extra)
    elif f == "referring":
        report = convert_referring(args.index, root=args.root, n_keypoints=args.keypoints, seed=args.seed)
    elif f == "instances":
        report = convert_instance_masks(args.images, args.masks, _classes(args.classes),
                                        instance_masks_dir=args.instances, root=args.root,
                                        n_keypoints=args.keypoints, seed=args.seed)
    elif f == "coco":
        report = convert_coco(args.annotations, args.images, root=args.root, n_keypoints=args.keypoints,
                              seed=args.seed)
    elif f == "change":
        report = convert_change(args.split, captions=args.captions, classes=_classes(args.classes), root=args.root)
    else:
        aug = cyclic_augment(read_jsonl(args.data), ratio=args.ratio, seed=args.seed)
        write_jsonl(aug.records, args.output)
        print(aug.summary(), file=sys.stderr)
        return 0
    write_jsonl(report.records, args.output)
    for s in report.skipped[:20]:
        print(f"skipped {s.source}: {s.reason}", file=sys.stderr)
    if len(report.skipped) > 20:
        print(f"... and {len(report.skipped) - 20} more skipped", file=sys.stderr)
    print(report.summary(), file=sys.stderr)
    return 0
