"""PNG figures of the paper's experiment (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from aigc_lab.reputation.experiment import ESPS, POLICIES, ExperimentResult

__all__ = ["plot_experiment"]

_TITLES = {
    "mwsl": "MWSL reputation T = b + a·u",
    "authors": "authors' formulas R = 10b + u·d",
    "habit": "habit score (own positive interactions)",
}


def _trend(result: ExperimentResult, path: Path) -> None:
    fig = Figure(figsize=(14, 4.2), layout="constrained")
    rounds = list(range(1, result.config.trend_rounds + 1))
    viewer = result.config.producer_ids[result.config.viewer]
    for k, policy in enumerate(POLICIES):
        ax = fig.add_subplot(1, len(POLICIES), k + 1)
        for esp in ESPS:
            ax.plot(rounds, result.reputation[policy][esp], marker="o", markersize=3, label=esp)
        ax.axvline(result.onset_round, color="grey", linestyle="--", linewidth=1)
        ax.text(
            result.onset_round + 0.3, ax.get_ylim()[1], "ESP1 starts delaying", va="top", fontsize=8
        )
        fall = result.fall_round(policy)
        ax.set_title(
            f"{_TITLES[policy]}\nfalls below both: {'round ' + str(fall) if fall else 'no'}",
            fontsize=10,
        )
        ax.set_xlabel("round")
        ax.set_ylabel(f"score from {viewer}'s view")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("(a) Reputation trend: ESP1 turns bad")
    fig.savefig(path, dpi=110)


def _load(result: ExperimentResult, path: Path) -> None:
    fig = Figure(figsize=(14, 4.2), layout="constrained")
    rounds = list(range(1, result.config.load_rounds + 1))
    for k, policy in enumerate(POLICIES):
        ax = fig.add_subplot(1, len(POLICIES) + 1, k + 1)
        for esp in ESPS:
            ax.plot(rounds, result.load[policy][esp], label=esp)
        ratio = result.load_ratio(policy)
        shown = "inf" if ratio == float("inf") else f"{ratio:.2f}"
        ax.set_title(f"{policy}: busiest/idlest = {shown}", fontsize=10)
        ax.set_xlabel("round")
        ax.set_ylabel("cumulative tasks")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax = fig.add_subplot(1, len(POLICIES) + 1, len(POLICIES) + 1)
    width = 0.25
    for i, esp in enumerate(ESPS):
        xs = [k + (i - 1) * width for k in range(len(POLICIES))]
        ax.bar(xs, [result.tasks[p][esp] for p in POLICIES], width, label=esp)
    ax.set_xticks(range(len(POLICIES)), list(POLICIES))
    ax.set_title(f"tasks after {result.config.load_rounds} rounds", fontsize=10)
    ax.legend(fontsize=8)
    fig.suptitle("(b) Load: cumulative tasks per ESP, reputation versus habit")
    fig.savefig(path, dpi=110)


def plot_experiment(result: ExperimentResult, directory: Path) -> list[Path]:
    """Writes ``reputation_trend.png`` and ``reputation_load.png`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    trend, load = directory / "reputation_trend.png", directory / "reputation_load.png"
    _trend(result, trend)
    _load(result, load)
    return [trend, load]
