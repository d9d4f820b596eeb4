"""Features of a trained model: latent posterior means, a linear probe, anomaly scores."""

from vaekit.features.activity import ACTIVE_UNIT_THRESHOLD, LatentActivity, latent_activity
from vaekit.features.anomaly import (
    AnomalyScores,
    anomaly_scores,
    binary_entropy_nats,
    compressed_nats,
    reconstruction_errors,
    score_rule,
)
from vaekit.features.latents import posterior_means
from vaekit.features.probe import ProbeRow, draw_per_class, linear_probe, probe_accuracy

__all__ = [
    "ACTIVE_UNIT_THRESHOLD",
    "LatentActivity",
    "AnomalyScores",
    "ProbeRow",
    "anomaly_scores",
    "binary_entropy_nats",
    "compressed_nats",
    "draw_per_class",
    "latent_activity",
    "linear_probe",
    "posterior_means",
    "probe_accuracy",
    "reconstruction_errors",
    "score_rule",
]
