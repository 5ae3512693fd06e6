"""espeak-ng through its C library (ctypes), with phoneme events: audio plus each phoneme's start time.

espeak reads voice files from its data folder, so each process gets a private, writable copy of that
folder (symlinks to the system files plus one voice variant file, rewritten per utterance).
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import shutil
import tempfile
from dataclasses import dataclass

import numpy as np

from ...errors import Speech2VideoError

SYSTEM_PACKAGES = "espeak-ng libespeak-ng1"
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS, _INITIALIZE_DONT_EXIT = 0x0001, 0x8000
_EVENT_LIST_TERMINATED, _EVENT_PHONEME = 0, 7
_PARAMETER_RATE = 1
VARIANT_NAME = "synthtalk"
CLAUSE_PAUSE_S = 0.2
PRIMER = b"a."


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):  # espeak_EVENT of speak_lib.h
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass
class Utterance:
    """audio (n,) float32 at `sampling_rate`; phonemes (espeak mnemonics) with start times in seconds."""

    audio: np.ndarray
    sampling_rate: int
    phonemes: list[str]
    phoneme_times: list[float]


class Espeak:
    """One espeak-ng engine per process (the library is a process-wide singleton)."""

    _instance: Espeak | None = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
            cls._instance._start()
        return cls._instance

    def _start(self) -> None:
        library = ctypes.util.find_library("espeak-ng")
        if library is None:
            raise Speech2VideoError(
                f"espeak-ng is not installed; SynthTalk needs the Debian packages {SYSTEM_PACKAGES} "
                f"(`make system-deps`, or apt-get install {SYSTEM_PACKAGES})"
            )
        self._lib = ctypes.CDLL(library)
        self._root = tempfile.mkdtemp(prefix="synthtalk-espeak-")
        atexit.register(shutil.rmtree, self._root, ignore_errors=True)
        self._variant_file = _private_data_folder(self._root)
        self.sampling_rate = self._lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, self._root.encode(), _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT
        )
        if self.sampling_rate <= 0:
            raise Speech2VideoError(f"espeak-ng failed to start (code {self.sampling_rate})")
        self._callback = _SynthCallback(self._on_audio)  # kept referenced: C holds the pointer
        self._lib.espeak_SetSynthCallback(self._callback)
        self._libc = ctypes.CDLL(None)  # espeak draws its noise (breath, roughness) from libc's rand()

    def _on_audio(self, samples, count, events) -> int:
        if samples and count > 0:
            self._chunks.append(np.ctypeslib.as_array(samples, (count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            if events[i].type == _EVENT_PHONEME:
                self._phonemes.append((events[i].id.string.decode("ascii", "replace"), events[i].sample))
            i += 1
        return 0

    def speak(self, text: str, accent: str, variant: str, words_per_minute: float, seed: int = 0) -> Utterance:
        """Synthesise `text` with the language `accent` and the voice variant file text `variant`.

        Deterministic: libc's rand() is seeded with `seed`, and each comma-separated clause is spoken
        on its own and joined by a fixed pause (espeak's own comma pauses vary with its internal state).
        """
        with open(self._variant_file, "w") as handle:
            handle.write(variant)
        if self._lib.espeak_SetVoiceByName(f"{accent}+{VARIANT_NAME}".encode()) != 0:
            raise Speech2VideoError(f"espeak-ng has no voice {accent!r}")
        self._lib.espeak_SetParameter(_PARAMETER_RATE, int(round(words_per_minute)), 0)
        clauses = text.split(", ")
        pieces, phonemes, times, offset = [], [], [], 0
        for i, clause in enumerate(clauses):
            audio, clause_phonemes = self._speak_clause(clause if i == len(clauses) - 1 else clause + ",", seed + i)
            phonemes += [name for name, _ in clause_phonemes]
            times += [(offset + sample) / self.sampling_rate for _, sample in clause_phonemes]
            gap = np.zeros(0 if i == len(clauses) - 1 else int(CLAUSE_PAUSE_S * self.sampling_rate), np.float32)
            pieces += [audio, gap]
            offset += len(audio) + len(gap)
        return Utterance(np.concatenate(pieces), self.sampling_rate, phonemes, times)

    def _speak_clause(self, clause: str, seed: int) -> tuple[np.ndarray, list[tuple[str, int]]]:
        """Audio of one clause without its trailing silence, and its (phoneme, start sample) events."""
        for data in (PRIMER, clause.encode()):  # the primer puts espeak's prosody state in a fixed place
            self._chunks, self._phonemes = [], []
            self._libc.srand(seed % 2**31)
            self._lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, 0, None, None)
        audio = np.concatenate(self._chunks).astype(np.float32) / 32768.0
        audio = audio[: np.flatnonzero(np.abs(audio) > 1e-3).max(initial=0) + 1]
        events = [(name, sample) for name, sample in self._phonemes if name.strip() and sample < len(audio)]
        return audio, events


def _private_data_folder(root: str) -> str:
    """root/espeak-ng-data: symlinks to the system data plus voices/!v/<VARIANT_NAME>; returns that file's path."""
    system = next(
        (p for p in ("/usr/lib/x86_64-linux-gnu/espeak-ng-data", "/usr/lib/aarch64-linux-gnu/espeak-ng-data",
                     "/usr/share/espeak-ng-data", "/usr/lib/espeak-ng-data") if os.path.isdir(p)),
        None,
    )
    if system is None:
        raise Speech2VideoError(f"espeak-ng data folder not found; install the Debian packages {SYSTEM_PACKAGES}")
    data = os.path.join(root, "espeak-ng-data")
    variants = os.path.join(data, "voices", "!v")
    os.makedirs(variants)
    for entry in os.listdir(system):
        if entry != "voices":
            os.symlink(os.path.join(system, entry), os.path.join(data, entry))
    return os.path.join(variants, VARIANT_NAME)


def variant_file(gender: str, pitch_hz: float, pitch_top_hz: float, formant_percent: float, tilt: float,
                 breath: float, formant_shape: tuple = (0.0,) * 5) -> str:
    """The text of an espeak-ng voice variant file.

    espeak's own roughness and flutter keep random state across utterances (not reproducible), so they
    are off here; `corpus.add_roughness` adds a seeded equivalent.
    """
    f = formant_percent
    breath_level = int(round(breath))
    lines = [
        "language variant",
        f"name {VARIANT_NAME}",
        f"gender {gender}",
        f"pitch {pitch_hz:.0f} {max(pitch_top_hz, pitch_hz * 1.1):.0f}",
        *(f"formant {i} {f * (1 + offset):.0f} 100 100" for i, offset in enumerate((0.0, *formant_shape))),
        f"tone 600 170 1200 {135 * np.exp(0.2 * tilt):.0f} 2000 {110 * np.exp(0.4 * tilt):.0f}",
        f"breath 0 {' '.join([str(breath_level)] * 7)}",
        "roughness 0",
        "flutter 0",
    ]
    return "\n".join(lines) + "\n"
