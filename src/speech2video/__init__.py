"""speech2video: speech in, talking-face video out, with no reference image.

`import speech2video` is light: the torch-backed classes load on first use, and the `speech-to-video`
pipeline task plus the `AutoConfig`/`AutoModel` entries are registered with transformers as soon as
transformers loads its pipelines or auto classes (at once if it already has). So both work:

    import speech2video
    from transformers import pipeline
    pipe = pipeline("speech-to-video", model="path/to/model")

    from speech2video import Speech2VideoPipeline
    pipe = Speech2VideoPipeline.from_pretrained("path/to/model")
"""

from __future__ import annotations

import importlib

from ._registration import install_registration_hooks
from .errors import AudioError, CheckpointError, OutputError, Speech2VideoError

__version__ = "0.1.0.dev0"

_LAZY_NAMES = {
    "Speech2VideoConfig": ".configuration_speech2video",
    "Speech2VideoModel": ".modeling_speech2video",
    "Speech2VideoModelOutput": ".modeling_speech2video",
    "Speech2VideoPipeline": ".pipeline_speech2video",
    "Speech2VideoOutput": ".pipeline_speech2video",
    "Speech2VideoStream": ".pipeline_speech2video",
    "load_audio": ".audio",
    "read_video": ".video",
    "write_video": ".video",
    "embedded_models": ".checkpoints",
}

__all__ = [*_LAZY_NAMES, "AudioError", "CheckpointError", "OutputError", "Speech2VideoError"]


def __getattr__(name: str):
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


install_registration_hooks()
