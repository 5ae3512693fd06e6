"""SynthTalk: procedural talking-face clips whose voice is statistically tied to the face.

A speaker is a seeded identity vector: part of it drives both an espeak-ng voice and the face (the
voice-linked dimensions), part only the face (the control dimensions, which no model can infer from
speech). Emotion shows in prosody and expression; the mouth follows espeak's phoneme timings.

    from speech2video.data.synthtalk import build_corpus
    corpus = build_corpus("corpora/synthtalk", num_clips=2000)   # a datasets.DatasetDict
"""

from .corpus import SynthTalkClip, build_corpus, make_clip
from .emotions import EMOTIONS
from .speakers import IDENTITY_DIMENSIONS, Speaker

__all__ = ["EMOTIONS", "IDENTITY_DIMENSIONS", "Speaker", "SynthTalkClip", "build_corpus", "make_clip"]
