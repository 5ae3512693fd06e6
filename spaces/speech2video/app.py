"""speech2video Space: a voice in, a talking face out, with no picture of the speaker (or, to compare, with
one: the static-image baseline).

Runs on Hugging Face Spaces (see README.md) and locally from the repository, also with models of your own
(folders saved by the training scripts), which then come first in the model menu:

    python spaces/speech2video/app.py
    python spaces/speech2video/app.py --model outputs/my-model
"""

from __future__ import annotations

import argparse
import functools
import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr
import numpy as np

from speech2video import Speech2VideoError, Speech2VideoPipeline, embedded_models, load_audio
from speech2video.checkpoints import DEFAULT_MODEL
from speech2video.pipeline_speech2video import MAX_MOTION_SCALE

MAX_SECONDS = 30  # longer recordings are refused (a 3.8 s recording renders in 1.0 s on 2 CPU cores)
SILENCE_PEAK = 1e-3  # a peak below this (-60 dBFS) is treated as silence
SAMPLING_RATE = 16_000
MAX_UPLOAD = "50mb"  # uploads above this are refused by Gradio before any decoding
OUTPUT_ROOT = Path(tempfile.gettempdir()) / "speech2video-space"  # every request writes in its own subfolder
OUTPUT_LIFETIME = 600  # seconds; Gradio has copied a result into its own cache long before
EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "audio").glob("*.wav"))


@functools.lru_cache(maxsize=2)
def load_pipeline(name: str) -> Speech2VideoPipeline:
    return Speech2VideoPipeline.from_pretrained(name)


def read_speech(audio_path: str | None, video_path: str | None) -> np.ndarray:
    """The request's speech at 16 kHz, checked against the Space's limits (gr.Error says what is wrong)."""
    source = audio_path or video_path
    if source is None:
        raise gr.Error("Record or upload some speech (or a video with sound) first.")
    try:
        audio = load_audio(source, target_rate=SAMPLING_RATE)
    except Speech2VideoError as error:
        raise gr.Error(str(error)) from None
    if len(audio) > MAX_SECONDS * SAMPLING_RATE:
        raise gr.Error(f"The recording is {len(audio) / SAMPLING_RATE:.0f} s long; this Space takes up to {MAX_SECONDS} s.")
    if np.abs(audio).max() < SILENCE_PEAK:
        raise gr.Error("The recording is silent: nothing to lip-sync to.")
    return audio


def voice_summary(pipe: Speech2VideoPipeline, identity: np.ndarray) -> str:
    """What the model inferred about the speaker, in words (SynthTalk models know what their dimensions mean)."""
    if not pipe.model.config.infers_speaker:
        return "This model does not infer the speaker: every voice gets the face it was trained on."
    if pipe.model.config.identity_teacher != "synthtalk":
        return f"Identity embedding: {len(identity)} numbers (the identity teacher's space)."
    from speech2video.data.synthtalk.speakers import IDENTITY_DIMENSIONS

    values = {name: value for (name, voice_linked), value in zip(IDENTITY_DIMENSIONS, identity.tolist()) if voice_linked}
    lines = [f"- voice sounds **{'female' if values['gender'] > 0.5 else 'male'}** (score {values['gender']:.2f})"]
    lines += [f"- {name.replace('_', ' ')}: {value:.2f}" for name, value in values.items() if name != "gender"]
    return "Face parameters inferred from the voice (0..1; hair, shirt and background are not in a voice):\n" + "\n".join(lines)


def generate(audio_path, video_path, model_name, emotion, seed, motion=1.0, picture=None,
             progress=gr.Progress(track_tqdm=True)):
    audio = read_speech(audio_path, video_path)
    pipe = load_pipeline(model_name)
    if picture is not None and not pipe.model.config.takes_reference_image:
        raise gr.Error(f"{model_name} cannot use a picture (it has no identity teacher and no reference frames); "
                       "remove the picture or choose another model.")
    choices = emotion_choices(model_name)
    if emotion not in choices:
        raise gr.Error(f"For {model_name} choose the emotion among: {', '.join(choices)}.")
    pipe.set_progress_bar_config(desc="rendering")  # followed by gr.Progress(track_tqdm=True)
    motion_scale = min(MAX_MOTION_SCALE, float(motion) * pipe.model.config.motion_scale)  # x the calibrated amount
    video = pipe(audio, sampling_rate=SAMPLING_RATE, seed=int(seed), emotion=None if emotion == "auto" else emotion,
                 motion_scale=motion_scale, reference_image=picture, stream=True)
    path = new_output_folder() / "speech2video.mp4"
    video.save(path)  # frames go to the file as they are rendered
    return str(path), video.emotion_probs, voice_summary(pipe, video.identity_embedding)


def emotion_choices(model_name: str) -> list[str]:
    """The emotion menu for a model: auto, then the emotions it can be given; none for a model that does not
    infer the speaker (its face never learnt an emotion, and the pipeline refuses one)."""
    config = load_pipeline(model_name).model.config
    return ["auto", *(config.emotion_labels if config.infers_speaker else [])]


def motion_limit(model_name: str) -> float:
    """The motion slider's top for a model: twice its calibrated amount, or less where that passes the
    pipeline's cap (a model calibrated at the cap stops at 1)."""
    calibrated = load_pipeline(model_name).model.config.motion_scale
    return round(min(2.0, MAX_MOTION_SCALE / calibrated), 1) if calibrated > 0 else 2.0


def new_output_folder() -> Path:
    """A fresh private folder for one request's video; folders of earlier requests past their lifetime go."""
    OUTPUT_ROOT.mkdir(parents=True, exist_ok=True)
    for folder in OUTPUT_ROOT.iterdir():
        if time.time() - folder.stat().st_mtime > OUTPUT_LIFETIME:
            shutil.rmtree(folder, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=OUTPUT_ROOT))


def build_demo(model_folders: tuple[str, ...] = ()) -> gr.Blocks:
    """The Space; `model_folders` (models saved by the training scripts) join the embedded ones, the first as
    the default."""
    models = [(Path(folder).name, str(folder)) for folder in model_folders] + [(name, name) for name in embedded_models()]
    default = str(model_folders[0]) if model_folders else DEFAULT_MODEL
    emotions = emotion_choices(default)
    with gr.Blocks(title="speech2video", delete_cache=(600, 3600)) as demo:
        gr.Markdown(
            "# speech2video\nSpeech in, talking face out, **with no picture of the speaker**: the model "
            "infers identity cues, emotion and lip motion from the voice alone (Si et al., INTERSPEECH 2021). "
            f"Up to {MAX_SECONDS} s of speech. The face's traits follow voice cues by the conventions of the "
            "synthetic corpus it learnt from (its model card says which): they say nothing reliable about a real speaker."
        )
        with gr.Row():
            with gr.Column():
                audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Speech", elem_id="speech")
                video_input = gr.Video(sources=["upload"], label="...or a video (its sound is used)")
                model = gr.Dropdown(models, value=default, label="Model")
                emotion = gr.Dropdown(emotions, value="auto", label="Emotion (auto: from the voice)")
                seed = gr.Number(value=0, precision=0, label="Seed (blinks and head motion)")
                motion = gr.Slider(0, motion_limit(default), value=1, step=0.1,
                                   label="Motion (x the amount the model was calibrated to)")
                with gr.Accordion("Compare: the static-image baseline", open=False):
                    picture = gr.Image(type="numpy", image_mode="RGB", sources=["upload"],
                                       label="A picture of the speaker (an aligned face crop like the model's frames)")
                button = gr.Button("Generate", variant="primary", elem_id="generate")
                if EXAMPLES:
                    gr.Examples([[str(path)] for path in EXAMPLES], inputs=[audio], label="Example voices")
            with gr.Column():
                output = gr.Video(label="Talking face", format="mp4", elem_id="talking-face")
                probabilities = gr.Label(label="Emotion heard in the voice",
                                         num_top_classes=len(load_pipeline(default).model.config.emotion_labels))
                summary = gr.Markdown()
        model.change(lambda name: gr.update(maximum=motion_limit(name), value=1), model, motion)
        model.change(lambda name: gr.update(choices=emotion_choices(name), value="auto"), model, emotion)
        button.click(generate, [audio, video_input, model, emotion, seed, motion, picture],
                     [output, probabilities, summary], api_name="generate")
    return demo.queue(default_concurrency_limit=1, max_size=16)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="The speech2video Space, locally.")
    parser.add_argument("--model", action="append", default=[],
                        help="a model folder of your own (repeat for several); the first is the default")
    args = parser.parse_args()
    for folder in args.model:
        if not (Path(folder) / "config.json").is_file():
            parser.error(f"--model {folder}: no config.json there (give a folder saved by a training script)")
    build_demo(tuple(args.model)).launch(max_file_size=MAX_UPLOAD)
