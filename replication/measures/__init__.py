"""What is measured: sensitivity, Fourier spectra, sharpness, norms and blowup, phases of training.

- :mod:`.sensitivity`: exact average sensitivity of Boolean functions and of models over the cube (HR24 Eq. 6).
- :mod:`.fourier`: Walsh–Hadamard spectra and degree profiles (HR24 Eq. 17).
- :mod:`.token`: token-wise sensitivity (V25 Def. 4.1): patch noise and embedding noise.
- :mod:`.sharpness`: HR24 Eq. 15 and the original code's ΔMSE.
- :mod:`.output_sharpness`: V25's ShOp and ShPred of a classifier (§7.2).
- :mod:`.norms`: parameter norm, LayerNorm blowup (HR24 Cor. 5), weight norm.
- :mod:`.phases`: phases of a run read off its curves (V25 §7.3, App. A.5).
"""
