"""`vaekit train`: fit a model on a dataset and write a run directory."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

import torch

from vaekit.cli.argtypes import (
    WIDTH,
    float_in,
    int_in,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
)
from vaekit.cli.pictures import import_plotting_beside, write_run_pictures
from vaekit.cli.progress import ProgressBar, show_bar
from vaekit.cli.resume import ignored_flags
from vaekit.cli.runtime import add_device_arguments, apply_runtime
from vaekit.cli.signals import stop_on_signals
from vaekit.cli.timings import PhaseClock
from vaekit.data import DataConfig, DataSplits, load_data
from vaekit.data.load import absolute_source
from vaekit.errors import CheckpointError, ConfigError
from vaekit.likelihoods import BINARY_LIKELIHOODS, LIKELIHOODS, default_likelihood
from vaekit.models import MODELS, LatentVariableModel, read_model_config
from vaekit.models.config import ARCHITECTURES, DEFAULT_PSEUDO_INPUTS, MAX_PSEUDO_INPUTS
from vaekit.models.m2 import CLASSIFIER_ARCHS
from vaekit.objectives import OBJECTIVES
from vaekit.priors import PRIORS
from vaekit.reporting.tensorboard import tensorboard_callbacks
from vaekit.training import TrainConfig, fit, has_checkpoint
from vaekit.training.config import PRECISIONS
from vaekit.training.distributed import World, in_process_group
from vaekit.training.loop import check_labels
from vaekit.training.presets import (
    PRESETS,
    Preset,
    data_kind,
    get_preset,
    preset_train_fields,
    table_recipe,
)
from vaekit.training.schedules import LR_SCHEDULES

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        default="digits",
        help="digits | fashion-mnist | mnist | a .npy/.npz/.csv file | an image folder",
    )
    parser.add_argument("--binarize", default="none", choices=("none", "static", "dynamic"))
    parser.add_argument("--label-column", default=None, help="CSV: the column holding labels")
    parser.add_argument(
        "--no-dequantize",
        dest="dequantize",
        action="store_false",
        help="tables: keep integer-valued columns as they are (default: add U(-1/2, 1/2) noise)",
    )
    parser.add_argument(
        "--input-shape",
        type=WIDTH,
        nargs="+",
        default=None,
        metavar="N",
        help="user files: C H W to read examples as images, D to read them as a table "
        "(default: flat uint8/bool arrays of square width are images, others tables)",
    )
    parser.add_argument("--val-size", type=positive_int(), default=None)
    parser.add_argument(
        "--labelled-repeats",
        type=positive_int(1000),
        default=1,
        metavar="R",
        help="semi-supervised: each labelled training example appears R times per epoch (1)",
    )
    parser.add_argument(
        "--labels-per-class",
        type=positive_int(),
        default=None,
        metavar="K",
        help="semi-supervised: keep K training labels per class, hide the rest (val/test keep "
        "theirs)",
    )
    parser.add_argument(
        "--train-limit", type=positive_int(), default=None, help="use the first N training examples"
    )
    parser.add_argument(
        "--eval-limit", type=positive_int(), default=None, help="use the first N val/test examples"
    )
    parser.add_argument(
        "--preset",
        default=None,
        choices=tuple(PRESETS),
        help="a documented recipe (model + training); explicit flags override its values",
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--epochs",
        type=positive_int(),
        default=None,
        help="default 10; with --resume, the run's own (a larger total trains it further)",
    )
    add_training_arguments(parser)
    parser.add_argument(
        "--checkpoint-every",
        type=positive_int(2**62),
        default=None,
        help="also checkpoint every N steps",
    )
    parser.add_argument("--out", default="runs/latest", help="run directory (default: runs/latest)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last checkpoint"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar (the per-epoch lines stay)"
    )
    parser.add_argument("--tensorboard", action="store_true",
                        help="also write TensorBoard events to OUT/tensorboard/")  # fmt: skip
    parser.add_argument(
        "--precision",
        default=None,
        choices=PRECISIONS,
        help="the networks' format; the loss stays fp32. auto (default): bf16 on a CPU with "
        "bf16 instructions for the MLP VAE's fused step and the MLP hierarchical VAE "
        "(Bernoulli decoder), fp32 elsewhere",
    )
    parser.add_argument("--compile", action="store_true", help="run the loss through torch.compile")
    add_device_arguments(parser)


# flags that default to None so that a preset's value shows through unless one is given;
# the model's or TrainConfig's own default applies when neither sets them
MODEL_FLAGS = ("arch", "latent_dim", "hidden_dims", "conv_channels", "activation", "linear_skip",
               "num_latent_layers", "state_dim", "prior", "num_pseudo_inputs",
               "classifier_weight", "classifier_arch", "classifier_hidden_dims")  # fmt: skip
TRAIN_FLAGS = ("epochs", "batch_size", "lr", "beta", "kl_warmup_epochs", "grad_clip",
               "objective", "iw_train_samples", "free_bits", "lr_schedule", "lr_warmup_steps",
               "lr_final_factor", "ema_decay", "early_stopping_patience",
               "time_budget_seconds", "checkpoint_every", "weight_decay",
               "data_init", "precision")  # fmt: skip


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, choices=tuple(MODELS), help="default vae")
    parser.add_argument("--arch", default=None, choices=ARCHITECTURES, help="default mlp")
    parser.add_argument("--latent-dim", type=WIDTH, default=None, help="default 16")
    parser.add_argument("--hidden-dims", type=WIDTH, nargs="*", default=None, help="default 400")
    parser.add_argument(
        "--conv-channels", type=WIDTH, nargs="+", default=None, help="default 32 64"
    )
    parser.add_argument("--activation", default=None, help="default relu")
    parser.add_argument(
        "--linear-skip",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="mlp: add a linear map beside encoder and decoder (default: on for tables)",
    )
    parser.add_argument(
        "--num-latent-layers", type=int_in(1, 64), default=None, help="hvae: stochastic layers (3)"
    )
    parser.add_argument(
        "--state-dim", type=WIDTH, default=None, help="hvae: width of the top-down path (256)"
    )
    parser.add_argument(
        "--prior", default=None, choices=tuple(PRIORS), help="p(z) (default standard_normal)"
    )
    parser.add_argument(
        "--pseudo-inputs",
        dest="num_pseudo_inputs",
        type=int_in(1, MAX_PSEUDO_INPUTS),
        default=None,
        help=f"--prior vamp: learned pseudo-inputs K ({DEFAULT_PSEUDO_INPUTS})",
    )
    parser.add_argument(
        "--classifier-weight",
        type=nonnegative_float(),
        default=None,
        help="m2: alpha, weight of the mean classification loss of a batch's labelled rows "
        "(default 0.1 * N_train / N_labelled)",
    )
    parser.add_argument(
        "--classifier-arch", default=None, choices=CLASSIFIER_ARCHS, help="m2: q(y|x) (mlp)"
    )
    parser.add_argument(
        "--classifier-hidden-dims",
        type=WIDTH,
        nargs="+",
        default=None,
        help="m2: classifier widths (500 500; conv: the hidden layer after the conv stages)",
    )
    parser.add_argument(
        "--likelihood",
        default=None,
        help=f"{' | '.join(LIKELIHOODS)} (default: the preset's, else discretized_logistic "
        "for 8-bit images, bernoulli for other images, gaussian for tables; bernoulli_ar is "
        "autoregressive over the pixels, for binary images)",
    )


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=positive_int(), default=None, help="default 128")
    parser.add_argument(
        "--lr", type=positive_float(), default=None, help="Adam learning rate (1e-3)"
    )
    parser.add_argument(
        "--beta", type=nonnegative_float(), default=None, help="weight of the KL term (1)"
    )
    parser.add_argument("--kl-warmup-epochs", type=nonnegative_float(), default=None)
    parser.add_argument("--grad-clip", type=positive_float(1e30), default=None)
    parser.add_argument("--objective", default=None, choices=OBJECTIVES, help="default elbo")
    parser.add_argument(
        "--iw-train-samples",
        type=int_in(1, 10_000),
        default=None,
        help="K of the iwae objective (1)",
    )
    parser.add_argument(
        "--free-bits",
        type=nonnegative_float(),
        default=None,
        help="KL floor per latent group, nats (elbo)",
    )
    parser.add_argument("--lr-schedule", default=None, choices=LR_SCHEDULES, help="constant")
    parser.add_argument("--lr-warmup-steps", type=nonnegative_int(), default=None, help="default 0")
    parser.add_argument(
        "--lr-final-factor",
        type=float_in(0.0, 1.0),
        default=None,
        help="cosine ends at lr x this (0)",
    )
    parser.add_argument(
        "--ema-decay",
        type=float_in(0.0, 1.0, low_open=True, high_open=True),
        default=None,
        help="keep a weight average (e.g. 0.999)",
    )
    parser.add_argument(
        "--early-stopping-patience",
        type=positive_int(),
        default=None,
        help="stop after N epochs without a better validation ELBO",
    )
    parser.add_argument(
        "--weight-decay",
        type=nonnegative_float(),
        default=None,
        help="AdamW's decoupled weight decay (default 0: plain Adam)",
    )
    parser.add_argument(
        "--data-init",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="start the decoder's output bias at the training data's mean (MLP decoders)",
    )
    parser.add_argument(
        "--time-budget",
        dest="time_budget_seconds",
        type=positive_float(1e9),
        default=None,
        help="stop after this many seconds of training (with --resume: the run's new total)",
    )


def run(args: argparse.Namespace) -> int:
    clock = PhaseClock(getattr(args, "started_unix", None))
    device = apply_runtime(args)
    # a single process unless torchrun started several
    return in_process_group(device, lambda world: _train(args, device, world, clock))


def _train(args: argparse.Namespace, device: torch.device, world: World, clock: PhaseClock) -> int:
    """Train on every rank alike; only rank 0 (`world.is_main`) talks and writes files."""
    run_dir = Path(args.out)
    plotting_import = import_plotting_beside() if world.is_main else None
    if args.resume:
        data_config, model, train_config = _resumed_setup(args, run_dir)
        data = load_data(data_config)
        clock.mark("data")
    else:
        if has_checkpoint(run_dir):
            raise ConfigError(
                f"{run_dir} already holds a run; pass --resume to continue it "
                "or choose another --out"
            )
        data_config = _data_config(args)
        data = load_data(data_config)
        clock.mark("data")
        recipe = _recipe(args, data)
        train_config = _train_config(args, recipe, len(data.train))
        model = _build_model(args, data, recipe)
        train_config.check_model(model)  # fit() checks too; here, before the recipe line
        check_labels(model, data)
        if world.is_main:
            _announce_table_recipe(args, recipe)
            _announce_classifier_weight(args, model, data)
    model.to(device)
    logger.info(
        "training %s on %s (%d examples)", type(model).__name__, data.spec.source, len(data.train)
    )
    callbacks = [
        ProgressBar(enabled=show_bar(args.quiet)),
        *tensorboard_callbacks(args.tensorboard, run_dir, data, seed=args.seed),
    ] if world.is_main else []  # fmt: skip
    clock.mark("setup")
    with stop_on_signals() as stop:
        state = fit(model, data, train_config, run_dir=run_dir, resume=args.resume,
                    callbacks=callbacks, should_stop=stop, world=world,
                    compile=args.compile)  # fmt: skip
    clock.mark("fit")
    clock.add_fit(state.phase_seconds)
    if not world.is_main:
        return stop.exit_code if state.interrupted else 0
    if state.interrupted:
        launcher = "torchrun [its options] -m vaekit" if world.is_distributed else "vaekit"
        print(
            f"vaekit: stopped by {stop.signal_name or 'a signal to another process'}: "
            f"checkpoint saved at step {state.step}; "
            f"continue with: {launcher} train --out {run_dir} --resume",
            file=sys.stderr,
        )
        return stop.exit_code
    if not state.trained:
        print(f"nothing to do: {run_dir} already {state.stop_reason}; a larger --epochs or "
              "--time-budget trains it further")  # fmt: skip
        return 0
    plotting_import.join()
    pictures = write_run_pictures(model, data, run_dir, state.history, seed=args.seed)
    _summarize(state, run_dir, pictures)
    clock.mark("pictures")
    clock.write(run_dir)
    return 0


def _summarize(state, run_dir: Path, pictures: list[str]) -> None:
    """What the run came to: why it stopped (when not at its last epoch), the validation
    ELBO, and the files written."""
    if state.stop_reason and not state.stop_reason.startswith("finished"):
        print(f"training {state.stop_reason}")  # early stopping or the time budget
    last = state.history[-1] if state.history else {}
    if "val_elbo_nats" in last:
        print(
            f"validation ELBO {last['val_elbo_nats']:.2f} nats/example "
            f"({last['val_bits_per_dim']:.4f} bits/dim)"
        )
    if "val_accuracy" in last:
        print(f"validation accuracy {100 * last['val_accuracy']:.2f} %")
    print(f"run written to {run_dir} ({', '.join(pictures)})", file=sys.stdout)


def _data_config(args: argparse.Namespace) -> DataConfig:
    return DataConfig(
        source=absolute_source(args.data),
        binarize=args.binarize,
        val_size=args.val_size,
        train_limit=args.train_limit,
        eval_limit=args.eval_limit,
        label_column=args.label_column,
        seed=args.seed,
        dequantize=args.dequantize,
        input_shape=None if args.input_shape is None else tuple(args.input_shape),
        labels_per_class=args.labels_per_class,
        labelled_repeats=args.labelled_repeats,
    )


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> dict:
    """The flags among `names` given on the command line (lists become tuples)."""
    values = {name: getattr(args, name) for name in names}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if v is not None}


def _recipe(args: argparse.Namespace, data: DataSplits) -> Preset | None:
    """The preset asked for (its variant for this kind of data); for a table without one,
    the table recipe sized to its rows."""
    if args.preset:
        recipe = get_preset(args.preset).for_data(data.spec)
        logger.info("preset %s for %s: %s", args.preset, data_kind(data.spec), recipe.description)
        return recipe
    if data.spec.kind != "table":
        return None
    return table_recipe(len(data.train), data.spec.num_dims)


def _announce_table_recipe(args: argparse.Namespace, recipe: Preset | None) -> None:
    """One stderr line with the table recipe's values, once the run is known to start."""
    if recipe is None or args.preset:
        return
    fields = {**recipe.model_fields, **recipe.train_fields}
    print(
        f"vaekit: {recipe.description}: "
        + ", ".join(f"{k}={v}" for k, v in fields.items())
        + " (flags given override these)",
        file=sys.stderr,
    )


def _train_config(args: argparse.Namespace, recipe: Preset | None, num_train: int) -> TrainConfig:
    given = _given(args, TRAIN_FLAGS)
    if recipe is not None:
        given, notes = preset_train_fields(recipe, given, num_train)
        for note in notes:
            logger.warning("%s", note)
    # the command line's default; TrainConfig's own (for the Python API) stays fp32
    return TrainConfig(**{"precision": "auto", **given, "seed": args.seed})


def _build_model(
    args: argparse.Namespace, data: DataSplits, preset: Preset | None
) -> LatentVariableModel:
    spec = data.spec
    likelihood = args.likelihood or (preset and preset.likelihood) or default_likelihood(spec)
    if likelihood in BINARY_LIKELIHOODS and spec.kind == "table":
        raise ConfigError(
            f"a {likelihood} likelihood needs values in [0, 1]; use --likelihood gaussian for "
            "tables"
        )
    name = args.model or (preset.model if preset else "vae")
    cls = MODELS[name]
    accepted = {f.name for f in dataclasses.fields(cls.config_class)}
    given = _given(args, MODEL_FLAGS)
    for key in given.keys() - accepted:
        # a field name with "_" becomes its flag in cli.main (num_pseudo_inputs: --pseudo-inputs)
        flag = key if "_" in key else f"--{key}"
        raise ConfigError(f"{flag} does not apply to --model {name}")
    # a preset's fields for another model (e.g. --preset fast --model vae) are left out
    fields = {k: v for k, v in (preset.model_fields if preset else {}).items() if k in accepted}
    fields.update(_label_fields(accepted, data, given, args.labelled_repeats))
    config = cls.config_class(input_shape=spec.shape, likelihood=likelihood, **{**fields, **given})
    torch.manual_seed(args.seed)  # weights depend on the seed alone
    return cls(config)


def _label_fields(accepted: set[str], data: DataSplits, given: dict, repeats: int) -> dict:
    """The fields a model that reads labels takes from the data: num_classes, and for a
    classifier_weight not given, the paper's alpha = 0.1 * N_train / N_labelled."""
    fields = {}
    if "num_classes" in accepted and data.spec.num_classes is not None:
        fields["num_classes"] = max(2, data.spec.num_classes)
    if "classifier_weight" in accepted and "classifier_weight" not in given:
        counts = _distinct_counts(data, repeats)
        if counts is not None and counts[1] > 0:
            fields["classifier_weight"] = 0.1 * counts[0] / counts[1]
    return fields


def _distinct_counts(data: DataSplits, repeats: int) -> tuple[int, int] | None:
    """(N_train, N_labelled) counting each example once: alpha weighs the mean cross-entropy
    of a batch's labelled rows, so copies from --labelled-repeats must not shrink it."""
    if data.train.y is None:
        return None
    rows = int((data.train.y >= 0).sum())
    distinct = rows // repeats
    return len(data.train) - rows + distinct, distinct


def _announce_classifier_weight(args: argparse.Namespace, model, data: DataSplits) -> None:
    """One stderr line with the default alpha, once the run is known to start."""
    if args.classifier_weight is not None or not hasattr(model.config, "classifier_weight"):
        return
    num_train, num_labelled = _distinct_counts(data, args.labelled_repeats)
    print(
        f"vaekit: classifier weight alpha = 0.1 * {num_train} / {num_labelled} labelled "
        f"= {model.config.classifier_weight:.4g} (set it with --classifier-weight)",
        file=sys.stderr,
    )


def _resumed_setup(args: argparse.Namespace, run_dir: Path):
    """Configs of the run being resumed, from its latest checkpoint; --epochs and
    --time-budget may extend it."""
    from vaekit.models import build_model

    if not has_checkpoint(run_dir):
        raise ConfigError(f"{run_dir} has no checkpoint to resume; start a run without --resume")
    if args.preset:
        raise ConfigError("--preset starts a new run; --resume continues with the run's own")
    for flag in ignored_flags(args, add_arguments):
        logger.warning("%s is ignored: a resumed run keeps its own settings "
                       "(only --epochs and --time-budget change it)", flag)  # fmt: skip
    payload, problems = None, []
    for name in ("latest", "previous"):  # the same order restore_checkpoint tries
        try:
            payload = read_model_config(run_dir / "checkpoints" / name)
            break
        except CheckpointError as err:
            problems.append(str(err))
    if payload is None:
        raise CheckpointError(f"no readable checkpoint in {run_dir}: {problems[0]}")
    model = build_model(payload["model"]["name"], payload["model"]["config"])
    train_payload = dict(payload.get("train", {}))
    if args.epochs is not None:
        train_payload["epochs"] = args.epochs
    if args.time_budget_seconds is not None:  # the total over all sessions, like --epochs
        train_payload["time_budget_seconds"] = args.time_budget_seconds
    return (
        DataConfig.from_dict(payload.get("data_config", {})),
        model,
        TrainConfig.from_dict(train_payload),
    )
