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
    generate.add_argument("--motion-scale", type=float, default=None,
                          help="how much the face moves, 0 (still) to 3 (default: the model's calibrated scale)")
    generate.add_argument("--reference-image", default=None,
                          help="a picture of the speaker (an aligned face crop): the static-image baseline")
    generate.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    generate.add_argument("--compile", action="store_true",
                          help="render through torch.compile: 1.4-1.6x the frames/s, after a compilation of a few seconds "
                               "(tens of seconds the first time on a machine); worth it for long inputs")
    generate.set_defaults(run=run_generate)

    synthtalk = commands.add_parser("synthtalk", help="generate the SynthTalk corpus (needs espeak-ng)")
    synthtalk.add_argument("output_dir", help="folder for the datasets.DatasetDict (save_to_disk)")
    synthtalk.add_argument("--num-clips", type=int, default=2000, help="clips over all splits (default 2000)")
    synthtalk.add_argument("--num-speakers", type=int, default=None, help="speakers over all splits (default clips / 4)")
    synthtalk.add_argument("--image-size", type=int, default=128, help="face frame size in pixels (default 128)")
    synthtalk.add_argument("--seed", type=int, default=0, help="corpus seed: same seed, byte-identical corpus")
    synthtalk.add_argument("--num-proc", type=int, default=None, help="worker processes (default: all cores)")
    synthtalk.add_argument("--voices", choices=("espeak", "festival"), default="espeak",
                           help="the speakers' own espeak-ng voices (default), or Festival's training voices of "
                                "recorded people speaking neutrally: a corpus for the lips (needs Festival)")
    synthtalk.add_argument("--overwrite", action="store_true", help="replace a non-empty OUTPUT_DIR")
    synthtalk.set_defaults(run=run_synthtalk)
    return parser


def run_generate(args) -> None:
    from .video import check_output_path

    check_output_path(args.output, overwrite=args.overwrite)  # fail before any model work
    from transformers.utils import logging as transformers_logging

    from .pipeline_speech2video import Speech2VideoPipeline

    transformers_logging.disable_progress_bar()
    pipe = Speech2VideoPipeline.from_pretrained(args.model, compile=args.compile)
    pipe.set_progress_bar_config(disable=False)
    video = pipe(args.input, emotion=args.emotion, seed=args.seed, fps=args.fps, motion_scale=args.motion_scale,
                 reference_image=args.reference_image, stream=True)
    path = video.save(args.output, overwrite=args.overwrite)  # frames go to the file as they are rendered
    heard = f", emotion: {video.emotion}" if video.emotion else ""
    heard += ", heard as narrowband speech (a telephone line or 8 kHz recording)" if video.narrowband else ""
    print(f"wrote {path} ({video.num_frames} frames, {video.duration:.2f} s{heard})")


def run_synthtalk(args) -> None:
    import time

    from .data.synthtalk import build_corpus

    start = time.perf_counter()
    corpus = build_corpus(args.output_dir, num_clips=args.num_clips, num_speakers=args.num_speakers,
                          image_size=args.image_size, seed=args.seed, num_proc=args.num_proc, overwrite=args.overwrite,
                          voices=args.voices)
    seconds = time.perf_counter() - start
    clips = sum(len(split) for split in corpus.values())
    print(f"wrote {clips} clips to {args.output_dir} in {seconds:.1f} s ({clips / seconds:.1f} clips/s): "
          + ", ".join(f"{name} {len(split)}" for name, split in corpus.items()))


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
