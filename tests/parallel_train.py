"""Train a config given as JSON through `difflab.training.loop.train` and save the EMA weights and the
summary (main process only): tests/test_parallel.py runs it under `accelerate launch`.

    accelerate launch ... tests/parallel_train.py CONFIG_JSON FOLDER [UNTIL]
"""

import json
import sys
from pathlib import Path

from safetensors.torch import save_file

from difflab.core import parallel
from difflab.training.loop import TrainConfig, train

config, folder = TrainConfig(**json.loads(sys.argv[1])), Path(sys.argv[2])
until = int(sys.argv[3]) if len(sys.argv) > 3 else None
denoiser, summary = train(config, folder / "train_state.pt", progress=False, until=until)
if parallel.is_main():
    save_file(denoiser.net.state_dict(), folder / "weights.safetensors")
    (folder / "summary.json").write_text(json.dumps(summary))
