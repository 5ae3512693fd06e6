"""examples/speech_to_video.ipynb runs top to bottom (nbclient) with the embedded default model."""

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_the_notebook_runs_and_shows_a_video_and_pictures(tmp_path):
    nbclient, nbformat = pytest.importorskip("nbclient"), pytest.importorskip("nbformat")
    for folder in ("audio", "images"):  # the notebook's relative paths, without writing into examples/
        (tmp_path / folder).symlink_to(EXAMPLES / folder)
    notebook = nbformat.read(EXAMPLES / "speech_to_video.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    shown = [kind for output in outputs for kind in output.get("data", {})]
    assert "text/html" in shown and shown.count("image/png") >= 3  # the inline video and the frame strips
    assert (tmp_path / "talking_face.mp4").stat().st_size > 10_000
