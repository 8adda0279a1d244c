"""The attack simulation's figure (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from aigc_lab.reputation.simulation.attacks import AttackResult

__all__ = ["plot_attacks"]


def plot_attacks(results: list[AttackResult], path: Path) -> Path:
    """One panel per attack: honest tasks sent to malicious ESPs per round, per weighting."""
    attacks = list(dict.fromkeys(r.config.attack for r in results if r.config.attack != "none"))
    fig = Figure(figsize=(4.2 * len(attacks), 3.8), layout="constrained")
    for k, attack in enumerate(attacks):
        ax = fig.add_subplot(1, len(attacks), k + 1)
        for r in results:
            if r.config.attack != attack:
                continue
            rounds = range(1, len(r.bad_share) + 1)
            ax.plot(rounds, [100 * x for x in r.bad_share], label=r.config.weighting)
            warmup = r.config.warmup
        ax.axhline(5, color="red", linestyle=":", linewidth=1, label="goal 5%")
        ax.axvline(warmup + 0.5, color="grey", linestyle="--", linewidth=1, label="warm-up")
        ax.set_title(attack, fontsize=10)
        ax.set_xlabel("round")
        ax.set_ylabel("% of honest tasks to malicious ESPs")
        ax.set_ylim(0, 45)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    cfg = results[0].config
    fig.suptitle(
        f"{cfg.esps:,} ESPs ({cfg.malicious_share:.0%} malicious), {cfg.producers:,} honest "
        f"producers, {cfg.sybils:,} Sybils, seed {cfg.seed}"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
