"""Registering speech2video with transformers without importing torch at `import speech2video`.

transformers keeps its auto classes in `transformers.models.auto` and its pipeline tasks in
`transformers.pipelines`; both import torch. Our modules register themselves when they are imported
(`modeling_speech2video` with `AutoConfig`/`AutoModel`, `pipeline_speech2video` as the `speech-to-video`
task), and this module makes sure they are imported as soon as transformers loads the matching module:
at once if it already has, otherwise right after Python finishes importing it (a small import hook).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

# transformers module -> our module that registers with it. Our model needs transformers' Wav2Vec2Model:
# when the auto module loads in the middle of importing wav2vec2 (`from transformers import Wav2Vec2Model`
# after `import speech2video`), ours is imported once wav2vec2 is complete instead.
WAV2VEC2 = "transformers.models.wav2vec2.modeling_wav2vec2"
_IMPORT_AFTER = {
    "transformers.models.auto.modeling_auto": f"{__package__}.modeling_speech2video",
    WAV2VEC2: f"{__package__}.modeling_speech2video",
    "transformers.pipelines": f"{__package__}.pipeline_speech2video",
}


def _import_ours(transformers_module: str) -> None:
    ours = _IMPORT_AFTER[transformers_module]
    if ours in sys.modules:  # it registered already, or will when it finishes loading
        return
    wav2vec2 = sys.modules.get(WAV2VEC2)
    if wav2vec2 is not None and not hasattr(wav2vec2, "Wav2Vec2Model"):
        return  # wav2vec2 is half-imported: the hook on it imports ours when it is complete
    importlib.import_module(ours)


class _ImportHook(importlib.abc.MetaPathFinder):
    """Wraps the loader of the watched transformers modules so that ours are imported right after."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _IMPORT_AFTER:
            return None
        sys.meta_path.remove(self)  # find the real spec without finding ourselves
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is not None and spec.loader is not None:
            spec.loader = _LoaderThenImportOurs(spec.loader, fullname)
        return spec


class _LoaderThenImportOurs(importlib.abc.Loader):
    def __init__(self, loader, name):
        self.loader, self.name = loader, name

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        _import_ours(self.name)


def install_registration_hooks() -> None:
    """Import our registering modules for the transformers modules already loaded; hook the others."""
    for name in _IMPORT_AFTER:
        if name in sys.modules:
            _import_ours(name)
    if not all(name in sys.modules for name in _IMPORT_AFTER) and not any(
        isinstance(finder, _ImportHook) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _ImportHook())
