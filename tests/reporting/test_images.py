import numpy as np
import torch
from PIL import Image

from vaekit.reporting import image_grid, save_image_grid


def test_grid_places_each_image_in_its_cell():
    images = torch.zeros(3, 1, 2, 2)
    images[1] = 1.0
    grid = image_grid(images, num_columns=2, padding=1)
    assert grid.shape == (1 + 2 * 3, 1 + 2 * 3, 1)
    assert (grid[1:3, 1:3] == 0).all()  # image 0, top left
    assert (grid[1:3, 4:6] == 255).all()  # image 1, top right
    assert (grid[4:6, 1:3] == 0).all()  # image 2, second row


def test_saved_grid_is_upscaled_and_readable(tmp_path):
    save_image_grid(torch.rand(4, 3, 8, 8), tmp_path / "g.png")
    picture = Image.open(tmp_path / "g.png")
    assert picture.mode == "RGB" and max(picture.size) >= 512
    assert np.asarray(picture).std() > 0
