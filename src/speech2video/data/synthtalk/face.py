"""A 2-D anti-aliased vector face (skia), drawn in unit coordinates and scaled to any size.

`FaceLook` holds what stays fixed over a clip (identity attributes and the emotion's expression);
`FaceRenderer.render` draws one frame from the per-frame state (mouth, eye closure, head pose).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
import skia

from .emotions import Emotion
from .speakers import HAIR_STYLES, IDENTITY_NAMES


def _hsv(h: float, s: float, v: float) -> skia.Color4f:
    return skia.Color4f(*colorsys.hsv_to_rgb(h % 1.0, s, v), 1.0)


def _mix(a: tuple, b: tuple, t: float) -> skia.Color4f:
    return skia.Color4f(*(x + (y - x) * t for x, y in zip(a, b)), 1.0)


def _darker(color: skia.Color4f, factor: float) -> skia.Color4f:
    return skia.Color4f(color.fR * factor, color.fG * factor, color.fB * factor, 1.0)


@dataclass
class FaceLook:
    """Clip-constant appearance: sizes in units of the image, colours, expression."""

    face_rx: float
    face_ry: float
    jaw: float
    eye_width: float
    eye_open: float
    brow_thickness: float
    brow_raise: float
    brow_tilt: float
    nose_length: float
    lip_thickness: float
    mouth_width: float
    smile: float
    hair_style: str
    skin: skia.Color4f
    hair: skia.Color4f
    shirt: skia.Color4f
    background: skia.Color4f
    iris: skia.Color4f

    @classmethod
    def from_identity(cls, identity: np.ndarray, emotion: Emotion, intensity: float) -> FaceLook:
        a = dict(zip(IDENTITY_NAMES, map(float, identity)))
        rx = 0.23 + 0.06 * a["face_size"]
        return cls(
            face_rx=rx,
            face_ry=rx * 1.3,
            jaw=rx * (0.55 + 0.35 * a["jaw_width"]),
            eye_width=rx * (0.15 + 0.08 * a["eye_size"]),
            eye_open=float(np.clip(1 + 0.6 * intensity * emotion.eye_open, 0.5, 1.5)),
            brow_thickness=rx * (0.05 + 0.07 * a["brow_thickness"]),
            brow_raise=intensity * emotion.brow_raise,
            brow_tilt=intensity * emotion.brow_tilt,
            nose_length=0.5 + 0.5 * a["nose_length"],
            lip_thickness=rx * (0.04 + 0.06 * a["lip_fullness"]),
            mouth_width=rx * (0.42 + 0.1 * a["lip_fullness"]),
            smile=intensity * emotion.smile,
            hair_style=HAIR_STYLES[round(a["hair_style"] * (len(HAIR_STYLES) - 1))],
            skin=_mix((0.98, 0.86, 0.75), (0.33, 0.21, 0.14), a["skin_tone"]),
            hair=_hsv(0.02 + 0.1 * a["hair_hue"], 0.55, 0.12 + 0.7 * a["hair_lightness"]),
            shirt=_hsv(a["shirt_hue"], 0.55, 0.7),
            background=_hsv(a["background_hue"], 0.22, 0.88),
            iris=_hsv(0.05 + 0.55 * a["eye_hue"], 0.6, 0.45),
        )


class FaceRenderer:
    """Draws frames of `size` x `size` pixels into a reused buffer."""

    def __init__(self, size: int = 128):
        self.size = size
        self._pixels = np.zeros((size, size, 4), np.uint8)
        self._surface = skia.Surface(self._pixels, colorType=skia.ColorType.kRGBA_8888_ColorType)

    def render(self, look: FaceLook, opening: float, width: float, eye_closure: float, pose: np.ndarray) -> np.ndarray:
        """One frame (size, size, 3) uint8. opening 0..1, width -1..1, eye_closure 0..1, pose (yaw, pitch, roll) degrees."""
        yaw, pitch, roll = (float(v) for v in pose)
        with self._surface as canvas:
            canvas.save()
            canvas.scale(self.size, self.size)
            canvas.clear(look.background)
            self._body(canvas, look)
            canvas.translate(0.5 + 0.004 * yaw, 0.47 + 0.004 * pitch)
            canvas.rotate(roll)
            canvas.scale(1 - 0.006 * abs(yaw), 1)
            self._hair_back(canvas, look)
            self._head(canvas, look)
            canvas.translate(0.006 * yaw * look.face_rx / 0.2, 0)  # features shift when the head turns
            self._eyes(canvas, look, eye_closure)
            self._brows(canvas, look)
            self._nose(canvas, look)
            self._mouth(canvas, look, opening, width)
            self._hair_front(canvas, look)
            canvas.restore()
        return self._pixels[:, :, :3].copy()

    @staticmethod
    def _paint(color: skia.Color4f, stroke: float = 0.0) -> skia.Paint:
        paint = skia.Paint(AntiAlias=True, Color4f=color)
        if stroke:
            paint.setStyle(skia.Paint.kStroke_Style)
            paint.setStrokeWidth(stroke)
            paint.setStrokeCap(skia.Paint.kRound_Cap)
        return paint

    def _body(self, canvas, look: FaceLook) -> None:
        neck = look.face_rx * 0.5
        canvas.drawRect(skia.Rect(0.5 - neck, 0.55, 0.5 + neck, 1.0), self._paint(_darker(look.skin, 0.85)))
        canvas.drawOval(skia.Rect(0.02, 0.9, 0.98, 1.4), self._paint(look.shirt))

    def _hair_back(self, canvas, look: FaceLook) -> None:
        rx, ry = look.face_rx, look.face_ry
        paint = self._paint(look.hair)
        if look.hair_style == "long":
            canvas.drawRRect(skia.RRect.MakeRectXY(skia.Rect(-rx * 1.18, -ry * 1.08, rx * 1.18, ry * 1.25), rx * 0.6, rx * 0.6), paint)
        elif look.hair_style == "bun":
            canvas.drawCircle(0, -ry * 1.05, rx * 0.42, paint)
        elif look.hair_style == "curly":
            for angle in np.linspace(np.pi * 0.95, np.pi * 2.05, 9):
                canvas.drawCircle(rx * 1.02 * np.cos(angle), -ry * 0.2 + ry * 0.85 * np.sin(angle), rx * 0.3, paint)

    def _head(self, canvas, look: FaceLook) -> None:
        rx, ry, jaw = look.face_rx, look.face_ry, look.jaw
        ear = self._paint(_darker(look.skin, 0.9))
        for side in (-1, 1):
            canvas.drawOval(skia.Rect.MakeXYWH(side * rx * 0.98 - rx * 0.13, -ry * 0.12, rx * 0.26, ry * 0.36), ear)
        face = skia.Path()
        face.moveTo(0, -ry)
        face.cubicTo(rx * 0.92, -ry, rx, -ry * 0.35, rx, 0)
        face.cubicTo(rx, ry * 0.5, jaw, ry * 0.88, 0, ry)
        face.cubicTo(-jaw, ry * 0.88, -rx, ry * 0.5, -rx, 0)
        face.cubicTo(-rx, -ry * 0.35, -rx * 0.92, -ry, 0, -ry)
        canvas.drawPath(face, self._paint(look.skin))

    def _hair_front(self, canvas, look: FaceLook) -> None:
        if look.hair_style == "bald":
            return
        rx, ry = look.face_rx, look.face_ry
        cap = skia.Path()
        cap.moveTo(-rx * 1.06, -ry * 0.25)
        cap.cubicTo(-rx * 1.1, -ry * 1.25, rx * 1.1, -ry * 1.25, rx * 1.06, -ry * 0.25)
        cap.cubicTo(rx * 0.7, -ry * 0.62, -rx * 0.2, -ry * 0.72, -rx * 1.06, -ry * 0.25)
        canvas.drawPath(cap, self._paint(look.hair))

    def _eyes(self, canvas, look: FaceLook, eye_closure: float) -> None:
        rx, ry = look.face_rx, look.face_ry
        ew = look.eye_width
        eh = ew * 0.55 * look.eye_open
        openness = 1.0 - float(np.clip(eye_closure, 0, 1))
        for side in (-1, 1):
            x, y = side * rx * 0.42, -ry * 0.12
            eye = skia.Rect(x - ew, y - eh, x + ew, y + eh)
            canvas.save()
            canvas.clipPath(skia.Path.Oval(eye), doAntiAlias=True)
            canvas.drawRect(eye, self._paint(skia.Color4f(0.96, 0.96, 0.94, 1)))
            canvas.drawCircle(x, y, ew * 0.5, self._paint(look.iris))
            canvas.drawCircle(x, y, ew * 0.22, self._paint(skia.Color4f(0.05, 0.05, 0.05, 1)))
            lid = y - eh + 2 * eh * (1 - openness)
            canvas.drawRect(skia.Rect(x - ew, y - eh - 0.01, x + ew, lid), self._paint(_darker(look.skin, 0.95)))
            canvas.restore()
            if openness < 0.99:  # the lid's lash line
                canvas.drawLine(x - ew, lid, x + ew, lid, self._paint(_darker(look.skin, 0.5), 0.006))

    def _brows(self, canvas, look: FaceLook) -> None:
        rx, ry = look.face_rx, look.face_ry
        y = -ry * 0.12 - look.eye_width * 0.55 * look.eye_open - ry * 0.1 - look.brow_raise * ry * 0.08
        paint = self._paint(_darker(look.hair, 0.8), look.brow_thickness)
        for side in (-1, 1):
            inner_y = y - look.brow_tilt * ry * 0.07
            canvas.drawLine(side * rx * 0.18, inner_y, side * rx * 0.68, y + abs(look.brow_tilt) * ry * 0.01, paint)

    def _nose(self, canvas, look: FaceLook) -> None:
        ry = look.face_ry
        bottom = ry * (0.08 + 0.14 * look.nose_length)
        path = skia.Path()
        path.moveTo(look.face_rx * 0.02, -ry * 0.02)
        path.quadTo(look.face_rx * 0.16, bottom * 0.8, look.face_rx * 0.02, bottom)
        path.lineTo(-look.face_rx * 0.1, bottom * 0.97)
        canvas.drawPath(path, self._paint(_darker(look.skin, 0.7), 0.008))

    def _mouth(self, canvas, look: FaceLook, opening: float, width: float) -> None:
        ry = look.face_ry
        y = ry * 0.5
        half = look.mouth_width * (1 + 0.25 * width + 0.12 * look.smile)
        gap = ry * 0.5 * float(np.clip(opening, 0, 1))
        corner = y - look.smile * ry * 0.07
        lip = look.lip_thickness

        def curve(depth: float) -> skia.Path:
            path = skia.Path()
            path.moveTo(-half, corner)
            path.quadTo(0, y + depth, half, corner)
            return path

        lips = skia.Path()
        lips.moveTo(-half * 1.06, corner)
        lips.quadTo(0, y - gap - 2.0 * lip, half * 1.06, corner)
        lips.quadTo(0, y + gap + 2.4 * lip, -half * 1.06, corner)
        canvas.drawPath(lips, self._paint(_mix((look.skin.fR, look.skin.fG, look.skin.fB), (0.7, 0.25, 0.28), 0.55)))
        if gap > 1e-4:
            inside = skia.Path()
            inside.moveTo(-half, corner)
            inside.quadTo(0, y - gap, half, corner)
            inside.quadTo(0, y + gap, -half, corner)
            canvas.save()
            canvas.clipPath(inside, doAntiAlias=True)
            canvas.drawPath(inside, self._paint(skia.Color4f(0.28, 0.06, 0.08, 1)))
            canvas.drawRect(skia.Rect(-half, y - gap, half, y - gap * 0.45), self._paint(skia.Color4f(0.95, 0.95, 0.92, 1)))
            canvas.restore()
        canvas.drawPath(curve(0.0), self._paint(skia.Color4f(0.3, 0.08, 0.1, 1), 0.006))
