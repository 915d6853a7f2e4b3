"""Training: losses as (sum, count), metrics, optimizers and schedules, checkpoints, the loop."""
