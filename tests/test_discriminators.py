"""Stage 2 critics and losses: shapes, gradients and the properties the training relies on."""

import torch

from speech2video.modeling_discriminators import (
    MOTION_CROP, FrameDiscriminator, MotionDiscriminator, MotionEncoder, SequenceDiscriminator,
    hinge_discriminator_loss,
)
from speech2video.teachers.mouth import MOUTH_BOX
from speech2video.training.generator import MOUTH_ROWS, reconstruction_loss


def test_critics_score_each_item_and_pass_gradients_to_the_frames():
    torch.manual_seed(0)
    frames = torch.rand(2, 6, 3, 32, 32, requires_grad=True)
    condition = torch.rand(12, 10)
    frame_scores = FrameDiscriminator(condition_dim=10)(frames.flatten(0, 1), condition)
    sequence_scores = SequenceDiscriminator()(frames, torch.randn(2, 6, 40, 20))
    assert frame_scores.shape == (12,) and sequence_scores.shape == (2,)
    (frame_scores.sum() + sequence_scores.sum()).backward()
    assert frames.grad.abs().sum() > 0


def test_frame_discriminator_uses_the_condition():
    torch.manual_seed(0)
    critic = FrameDiscriminator(condition_dim=4)
    frames = torch.rand(3, 3, 64, 64)
    assert not torch.allclose(critic(frames, torch.eye(4)[:3]), critic(frames, torch.eye(4)[1:]))


def test_motion_encoder_never_sees_the_mouth():
    torch.manual_seed(0)
    encoder = MotionEncoder(motion_dim=4)
    frames = torch.rand(2, 3, 64, 64)
    changed = frames.clone()
    changed[:, :, round(MOTION_CROP * 64):] = torch.rand_like(changed[:, :, round(MOTION_CROP * 64):])
    assert torch.equal(encoder(frames)[0], encoder(changed)[0])
    changed[:, :, :10] = 0
    assert not torch.equal(encoder(frames)[0], encoder(changed)[0])


def test_motion_discriminator_scores_sequences():
    assert MotionDiscriminator(motion_dim=4)(torch.randn(3, 32, 4)).shape == (3,)


def test_hinge_loss_is_zero_only_for_confident_correct_scores():
    assert hinge_discriminator_loss(torch.tensor([2.0]), torch.tensor([-3.0])) == 0
    assert hinge_discriminator_loss(torch.tensor([0.0]), torch.tensor([0.0])) == 2


def test_reconstruction_weights_the_mouth_rows_more():
    real = torch.zeros(1, 3, 20, 20)
    upper, lower = real.clone(), real.clone()
    cut = round(MOUTH_ROWS * 20)
    upper[..., :2, :] = 1
    lower[..., cut:cut + 2, :] = 1
    assert reconstruction_loss(lower, real) > 2 * reconstruction_loss(upper, real)


def test_lip_weight_weights_the_lips_more_than_the_jaw_beside_them():
    real = torch.zeros(1, 3, 40, 40)
    lips, cheek = real.clone(), real.clone()
    top, left, bottom, right = (round(f * 40) for f in MOUTH_BOX)
    lips[..., top:bottom, left:left + 2] = 1
    cheek[..., top:bottom, 1:3] = 1  # the same rows, outside the box
    assert torch.isclose(reconstruction_loss(lips, real), reconstruction_loss(cheek, real))
    assert reconstruction_loss(lips, real, lip_weight=5) > 4 * reconstruction_loss(cheek, real, lip_weight=5)
