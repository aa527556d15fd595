"""What is learned: Boolean functions and their samplers, modular addition, image data and corruptions.

- :mod:`.boolean`: HR24's functions, random and sparse functions, samplers of strings, the scratchpad step.
- :mod:`.modular`: V25's modular-addition split and its commutativity baseline.
- :mod:`.synthetic`: V25's synthetic token task (§4): settings, token classes, samples.
- :mod:`.images`: MNIST (bundled), Fashion-MNIST and CIFAR-10 (files a reader supplies).
- :mod:`.corruptions`: the image corruptions of V25's robustness table.
"""
