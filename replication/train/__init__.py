"""Training: :func:`fit`, the generic loop (:mod:`.fit`); HR24's run on a Boolean function, :func:`train`
(:mod:`.hr24`); and K such runs of one shape trained as one model, :func:`train_batched` (:mod:`.batched`)."""

from .fit import Batches, FitResult, fit, quiet, single_thread  # noqa: F401
from .hr24 import (
    EARLY_STOP,
    GAVE_UP,
    MATMUL_PRECISIONS,
    MAX_INPUT_LENGTH,
    NO_PLATEAU_EXIT,
    PHASE_DONE,
    PLATEAU_EXIT_RATIO,  # noqa: F401
    TrainConfig,
    TrainResult,
    evaluate,
    step_seconds,
    target_variance,
    train,
)
from .batched import check_batch, train_batched  # noqa: E402,F401
