"""History buffer of generated images (Shrivastava et al.), used to update discriminators with older fakes."""
import random

import torch


class ImagePool:
    """Return either the new fake images or, with probability 0.5 each, images generated earlier.

    The pool owns its random generator so that its choices are part of the saved training state and a
    resumed run picks exactly the images an uninterrupted run would have picked.
    """

    def __init__(self, pool_size, seed=0):
        self.pool_size = pool_size
        self.images = []
        self.rng = random.Random(seed)

    def query(self, images):
        if self.pool_size == 0:
            return images
        return_images = []
        for image in images.detach().float():  # fp32 history: the saved pool does not depend on --amp
            image = image.unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image.clone())
                return_images.append(image)
            elif self.rng.uniform(0, 1) > 0.5:
                idx = self.rng.randint(0, self.pool_size - 1)
                previous = self.images[idx].clone()
                self.images[idx] = image.clone()
                return_images.append(previous)
            else:
                return_images.append(image)
        return torch.cat(return_images, 0)

    def state_dict(self):
        return {'images': [im.cpu() for im in self.images], 'rng': self.rng.getstate()}

    def load_state_dict(self, state, device=None):
        self.images = [(im.to(device) if device is not None else im).float() for im in state['images']]
        version, internal, gauss = state['rng']
        self.rng.setstate((version, tuple(internal), gauss))
