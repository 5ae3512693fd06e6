"""The `speech2video` command line. Heavy imports happen inside the commands, so `--help` is instant."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="speech2video", description="Speech in, talking-face video out.")
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="generate a talking-face video from a speech recording")
    generate.add_argument("input", help="speech file (wav/flac/mp3/ogg, or a video whose audio track is used)")
    generate.add_argument("-o", "--output", required=True, help="the mp4 to write")
    generate.add_argument("--model", default=None, help="embedded model name or model folder (default: the embedded default)")
    generate.add_argument("--emotion", default=None, help="override the emotion inferred from the voice")
    generate.add_argument("--seed", type=int, default=0, help="seed of the spontaneous motion (default 0)")
    generate.add_argument("--fps", type=float, default=None, help="output frame rate (default: the model's)")
    generate.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    generate.set_defaults(run=run_generate)
    return parser


def run_generate(args) -> None:
    from .video import check_output_path

    check_output_path(args.output, overwrite=args.overwrite)  # fail before any model work
    from transformers.utils import logging as transformers_logging

    from .pipeline_speech2video import Speech2VideoPipeline

    transformers_logging.disable_progress_bar()
    pipe = Speech2VideoPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=False)
    video = pipe(args.input, emotion=args.emotion, seed=args.seed, fps=args.fps)
    path = video.save(args.output, overwrite=args.overwrite)
    print(f"wrote {path} ({len(video.frames)} frames, {video.duration:.2f} s, emotion: {video.emotion})")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import Speech2VideoError

    try:
        args.run(args)
    except Speech2VideoError as error:
        print(f"speech2video: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
