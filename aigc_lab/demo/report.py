"""The demo's outputs: summary tables, figures (reputation, load), JSON and an HTML page."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from rich.console import Console
from rich.table import Table

from aigc_lab.demo.actors import ESPS
from aigc_lab.demo.story import DemoResult


def tables(result: DemoResult, console: Console) -> None:
    t = Table(
        "ESP",
        "tasks",
        "delivered",
        "refunded",
        "revenue (wei)",
        "reputation (Alice's view)",
        title="ESPs",
    )
    for esp in ESPS:
        mine = [x for x in result.tasks if x["esp"] == esp]
        paid = [x for x in mine if x["status"] in ("registered", "claimed")]
        t.add_row(
            esp,
            str(len(mine)),
            str(len(paid)),
            str(sum(x["status"] == "refunded" for x in mine)),
            f"{sum(x['price'] for x in paid):,}",
            f"{result.reputation[esp][-1]:.3f}",
        )
    console.print(t)
    p = Table("token", "producer", "ESP", "prompt", "status", title="Products")
    for x in result.tasks:
        if x.get("token"):
            p.add_row(x["token"][:18] + "...", x["producer"], x["esp"], x["prompt"], x["status"])
    for c in result.challenges:
        p.add_row(
            c["duplicate"][:18] + "...", "Mallory", "ESP-B", "(edited copy)", c["copy_status"]
        )
    console.print(p)
    tr = Table("token", "seller", "buyer", "price (wei)", "royalty", "status", title="Trades")
    for x in result.trades:
        tr.add_row(
            x["token"][:18] + "...",
            x["seller"],
            x["buyer"],
            f"{x['price']:,}",
            f"{x['royalty']:,} to {x['royalty_to']}" if x["royalty"] else "-",
            x["status"],
        )
    console.print(tr)
    ch = Table("original", "copy", "challenger", "distance", "verdict", title="Challenges")
    for c in result.challenges:
        ch.add_row(
            c["original"][:18] + "...",
            c["duplicate"][:18] + "...",
            c["challenger"],
            str(c["distance"]),
            "upheld, copy revoked" if c["upheld"] else "rejected",
        )
    console.print(ch)
    batch_tables(result, console)
    g = Table("operation", "transactions", "gas each (min-max)", title="Gas per operation")
    for op, values in sorted(result.gas.items()):
        g.add_row(
            op,
            str(len(values)),
            f"{min(values):,}"
            if min(values) == max(values)
            else f"{min(values):,}-{max(values):,}",
        )
    console.print(g)


def batch_tables(result: DemoResult, console: Console) -> None:
    """The batch chapter: each batch, every token as a wallet reads it, the batched copy's
    challenge (issue 16)."""
    if not result.batches:
        return
    b = Table(
        "batch",
        "producer",
        "ESP",
        "images",
        "token ids",
        "commit gas",
        "reveal gas",
        "gas per image",
        title="Batches (one commit, one reveal)",
    )
    for x in result.batches:
        ids = x["token_ids"]
        b.add_row(
            str(x["batch_id"]),
            x["producer"],
            x["esp"],
            str(x["count"]),
            f"{ids[0]}..{ids[-1]}",
            f"{x['gas']['commit']:,}",
            f"{x['gas']['reveal']:,}",
            f"{x['gas']['per_image']:,}",
        )
    console.print(b)
    t = Table(
        "token",
        "batch",
        "ownerOf",
        "tokenURI",
        "royaltyInfo (at the sale price)",
        "status",
        title="Batch tokens (read from the chain)",
    )
    for x in result.batches:
        for tok in x["tokens"]:
            t.add_row(
                tok["token_id"],
                str(x["batch_id"]),
                tok["owner"],
                tok["token_uri"],
                f"{tok['royalty']:,} wei to {tok['royalty_receiver']}",
                tok["status"],
            )
    console.print(t)
    c = Table(
        "original", "batched copy", "challenger", "distance", "verdict", "siblings",
        title="Batch challenge",
    )  # fmt: skip
    for x in result.batch_challenges:
        siblings = sorted(set(x["sibling_statuses"].values()))
        c.add_row(
            x["original"],
            x["duplicate"],
            x["challenger"],
            str(x["distance"]),
            (
                f"upheld, copy {x['copy_status']}"
                + (f", {x['settled']['state']} after the hold" if x.get("settled") else "")
            )
            if x["upheld"]
            else "rejected",
            f"{len(x['sibling_statuses'])} {'/'.join(siblings)}",
        )
    console.print(c)


def figures(result: DemoResult, out: Path) -> list[Path]:
    rounds = range(1, len(result.reputation[ESPS[0]]) + 1)
    paths = []
    for name, series, ylabel in (
        ("reputation", result.reputation, "reputation (Alice's view)"),
        ("load", result.load, "cumulative tasks"),
    ):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for esp in ESPS:
            ax.plot(list(rounds), series[esp], marker="o", label=esp)
        ax.set_xlabel("round")
        ax.set_xticks(list(rounds))
        ax.set_ylabel(ylabel)
        ax.legend()
        fig.tight_layout()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def write_json(result: DemoResult, out: Path) -> Path:
    data: dict[str, Any] = {k: v for k, v in result.__dict__.items() if k != "images"}
    path = out / "summary.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def write_html(result: DemoResult, products: list[dict[str, Any]], out: Path) -> Path:
    """One card per product: its image and its provenance and history as the API reports them."""
    cards = []
    for p in products:
        img = result.images.get(p["token_id"])
        src = f"images/{img.name}" if img is not None else ""
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(p[k]))}</td></tr>"
            for k in (
                "token_id",
                "status",
                "producer",
                "owner",
                "esp",
                "task_id",
                "registered_block",
            )
        )
        history = "".join(
            f"<li>block {h['block']}: {html.escape(h['kind'])}</li>" for h in p["history"]
        )
        cards.append(
            f'<div class="card {html.escape(p["status"])}">'
            f'<img src="{src}" width="128" height="128">'
            f"<table>{rows}</table><ul>{history}</ul></div>"
        )
    page = (
        "<!doctype html><meta charset='utf-8'><title>AIGC demo</title><style>"
        "body{font-family:sans-serif}"
        ".card{border:1px solid #ccc;margin:8px;padding:8px;display:flex;gap:12px}"
        ".revoked{background:#fee}img{image-rendering:pixelated}th{text-align:left;padding-right:8px}"
        "td{font-family:monospace;font-size:12px}</style><h1>Products and their provenance</h1>"
        "<p><img src='reputation.png'> <img src='load.png'></p>" + "".join(cards)
    )
    path = out / "index.html"
    path.write_text(page)
    return path


def reset(out: Path) -> None:
    """Empties the output folder of a previous run (so running twice works)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
