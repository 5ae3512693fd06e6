"""Pretrained face networks that supervise training ("teachers"), and the face alignment they rely on.

- `EmotionTeacher`: FER2013 mini-Xception, 7 emotion probabilities, differentiable (PyTorch).
- `IdentityTeacher`: dlib's ResNet face embedding, 128-d, not differentiable (runs in dlib).
- `SynthTalkTeacher`: a small CNN trained on SynthTalk (identity vector, emotion, mouth opening), the
  teacher for the synthetic domain; `targets.cache_teacher_targets` stores teacher outputs as corpus columns.
- `align_clip`: dlib face detection + 5-point landmarks -> steady square face crops of a clip.

Needs torch, and for identity and alignment `dlib-bin` + `face-recognition-models`, imported on first use.
"""

from .alignment import AlignedClip, LandmarkDetector, align_clip
from .base import FaceTeacher
from .emotion import EmotionTeacher
from .identity import IdentityTeacher
from .synthtalk import SynthTalkTeacher

__all__ = ["AlignedClip", "EmotionTeacher", "FaceTeacher", "IdentityTeacher", "LandmarkDetector", "SynthTalkTeacher",
           "align_clip"]
