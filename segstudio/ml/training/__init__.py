"""Fine-tuning: transforms, loss, schedule, checkpoints, evaluation, the
Trainer with hooks, and torchrun/DDP support.  No Qt here; torch is imported
by the modules of this package, so import them lazily from the CLI and app."""
