"""Draw the pictures of the demo's sample website (bot/demo/site/img), small JPEGs.

    python3 scripts/demo_pictures.py

They are committed; run this only to change them. Each is a flat village scene with the
subject's motif and a Vietnamese label, about 15 KB.
"""

from __future__ import annotations

import random
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import patches

OUT = Path(__file__).resolve().parent.parent / "bot" / "demo" / "site" / "img"

# file, label, sky, ground, motif
PICTURES = [
    ("dan-van.jpg", "Đối thoại với nhân dân", "#9ecbf0", "#7fb069", "people"),
    ("tiep-dan.jpg", "Tiếp công dân", "#c7e3f7", "#d9c7a0", "office"),
    ("tiem-chung.jpg", "Trạm Y tế xã", "#bfe3f2", "#9fd18b", "clinic"),
    ("lua-he-thu.jpg", "Lúa Hè Thu", "#ffd98e", "#e0b43c", "field"),
    ("phap-luat.jpg", "Luật Đất đai", "#e8dcc8", "#b08d57", "book"),
    ("nuoc-sach.jpg", "Nước sạch", "#a8d8f0", "#5fa8d3", "water"),
    ("chu-nhat-xanh.jpg", "Chủ nhật xanh", "#b5e3c0", "#4f9d5d", "trees"),
    ("khai-giang.jpg", "Khai giảng năm học", "#ffe2a8", "#c9a66b", "school"),
    ("duong-dh21.jpg", "Đường ĐH21", "#cfe6f5", "#8d8d8d", "road"),
    ("mua-bao.jpg", "Phòng chống bão", "#6f7f8f", "#55704f", "storm"),
    ("khai-sinh.jpg", "Khai sinh trực tuyến", "#f6d5e0", "#c98da5", "phone"),
    ("cho-nong-san.jpg", "Chợ nông sản", "#fce3b0", "#cf8f4a", "market"),
    ("lich-cat-dien.jpg", "Lịch cắt điện", "#d6e4f0", "#7a9a6a", "power"),
    ("kham-suc-khoe.jpg", "Khám sức khỏe", "#d7f0e8", "#8cc7a5", "clinic"),
    ("van-nghe.jpg", "Hội thi văn nghệ", "#3d3b6e", "#8b3a3a", "stage"),
]


def house(ax: plt.Axes, x: float, y: float, w: float, color: str) -> None:
    ax.add_patch(patches.Rectangle((x, y), w, w * 0.7, color=color))
    ax.add_patch(
        patches.Polygon(
            [(x - 0.1 * w, y + 0.7 * w), (x + 0.5 * w, y + 1.15 * w), (x + 1.1 * w, y + 0.7 * w)],
            color="#b5442c",
        )
    )
    ax.add_patch(patches.Rectangle((x + 0.4 * w, y), 0.22 * w, 0.4 * w, color="#6b4226"))


def tree(ax: plt.Axes, x: float, y: float, s: float) -> None:
    ax.add_patch(patches.Rectangle((x - 0.05 * s, y), 0.1 * s, 0.4 * s, color="#6b4226"))
    ax.add_patch(patches.Circle((x, y + 0.55 * s), 0.3 * s, color="#2e7d32"))


def person(ax: plt.Axes, x: float, y: float, s: float, color: str) -> None:
    ax.add_patch(patches.Circle((x, y + 0.9 * s), 0.16 * s, color="#f1c27d"))
    ax.add_patch(
        patches.FancyBboxPatch(
            (x - 0.2 * s, y), 0.4 * s, 0.7 * s, boxstyle="round,pad=0.02", color=color
        )
    )


def draw(motif: str, ax: plt.Axes, rng: random.Random) -> None:
    if motif in ("people", "market", "stage"):
        for i in range(7):
            person(
                ax,
                1.2 + i * 1.15,
                1.0 + rng.random() * 0.3,
                1.2,
                rng.choice(["#1565c0", "#c62828", "#6a1b9a", "#ef6c00", "#2e7d32"]),
            )
        if motif == "market":
            for i in range(3):
                ax.add_patch(patches.Rectangle((1 + i * 2.8, 2.6), 2.2, 0.5, color="#e53935"))
        if motif == "stage":
            ax.add_patch(patches.Rectangle((0.5, 2.9), 9, 0.3, color="#ffca28"))
    elif motif in ("office", "clinic", "school"):
        color = {"office": "#f5e6c8", "clinic": "#ffffff", "school": "#fff3c4"}[motif]
        ax.add_patch(patches.Rectangle((2.5, 1.0), 5, 2.4, color=color))
        for i in range(4):
            ax.add_patch(patches.Rectangle((3 + i * 1.1, 2.3), 0.6, 0.6, color="#64b5f6"))
        ax.add_patch(patches.Rectangle((4.6, 1.0), 0.8, 1.0, color="#6b4226"))
        if motif == "clinic":
            ax.add_patch(patches.Rectangle((4.8, 3.55), 0.4, 1.2, color="#d32f2f"))
            ax.add_patch(patches.Rectangle((4.4, 3.95), 1.2, 0.4, color="#d32f2f"))
        if motif == "school":
            ax.add_patch(patches.Rectangle((7.9, 1.0), 0.06, 2.8, color="#555555"))
            ax.add_patch(patches.Rectangle((7.96, 3.2), 0.9, 0.6, color="#da251d"))
        else:
            tree(ax, 1.3, 1.0, 1.6)
            tree(ax, 8.6, 1.0, 1.6)
    elif motif == "field":
        for row in range(6):
            for col in range(16):
                ax.plot(
                    [col * 0.65 + 0.2, col * 0.65 + 0.3 + rng.random() * 0.1],
                    [0.3 + row * 0.4, 0.7 + row * 0.4],
                    color="#8d6e1f",
                    lw=2,
                )
        house(ax, 7.2, 2.6, 1.2, "#f5e6c8")
    elif motif == "book":
        ax.add_patch(
            patches.Polygon(
                [(2, 1), (5, 1.4), (8, 1), (8, 4.2), (5, 4.6), (2, 4.2)], color="#fafafa"
            )
        )
        ax.plot([5, 5], [1.4, 4.6], color="#8d6e63", lw=2)
        for i in range(6):
            ax.plot([2.4, 4.6], [1.8 + i * 0.4, 2.0 + i * 0.4], color="#9e9e9e", lw=2)
            ax.plot([5.4, 7.6], [2.0 + i * 0.4, 1.8 + i * 0.4], color="#9e9e9e", lw=2)
    elif motif == "water":
        ax.add_patch(patches.Rectangle((1.5, 1.2), 1.8, 3.0, color="#90a4ae"))
        ax.add_patch(patches.Rectangle((0, 1.5), 10, 0.35, color="#546e7a"))
        for i in range(5):
            ax.add_patch(patches.Circle((5 + i * 0.9, 2.6 + (i % 2) * 0.4), 0.22, color="#e1f5fe"))
    elif motif == "trees":
        for i in range(8):
            tree(ax, 0.8 + i * 1.2, 1.0, 1.5 + rng.random())
        for i in range(4):
            person(ax, 1.5 + i * 2.3, 0.4, 0.9, "#43a047")
    elif motif == "road":
        ax.add_patch(patches.Polygon([(3.5, 0), (6.5, 0), (5.3, 3.5), (4.7, 3.5)], color="#424242"))
        for i in range(5):
            ax.add_patch(patches.Rectangle((4.93, 0.2 + i * 0.65), 0.14, 0.35, color="#ffeb3b"))
        ax.add_patch(patches.Polygon([(7.5, 1), (8.3, 2.3), (9.1, 1)], color="#ff9800"))
        tree(ax, 1.5, 1.2, 1.8)
    elif motif == "storm":
        for i in range(4):
            ax.add_patch(patches.Ellipse((1.5 + i * 2.4, 4.6), 3, 1.1, color="#37474f"))
        for _ in range(60):
            x, y = rng.random() * 10, 1 + rng.random() * 3.2
            ax.plot([x, x - 0.15], [y, y - 0.4], color="#b3e5fc", lw=1.2)
        house(ax, 6.8, 0.8, 1.5, "#cfd8dc")
    elif motif == "phone":
        ax.add_patch(
            patches.FancyBboxPatch((3.8, 0.8), 2.4, 3.9, boxstyle="round,pad=0.1", color="#263238")
        )
        ax.add_patch(patches.Rectangle((4.0, 1.2), 2.0, 3.1, color="#e3f2fd"))
        for i in range(4):
            ax.add_patch(patches.Rectangle((4.2, 3.7 - i * 0.6), 1.6, 0.35, color="#90caf9"))
    elif motif == "power":
        for x in (1.5, 5, 8.5):
            ax.add_patch(patches.Rectangle((x - 0.08, 1), 0.16, 3.2, color="#616161"))
            ax.add_patch(patches.Rectangle((x - 0.6, 3.9), 1.2, 0.1, color="#616161"))
        for dy in (0, 0.25):
            ax.plot([1.5, 5, 8.5], [3.95 + dy, 3.75 + dy, 3.95 + dy], color="#212121", lw=1.2)
        house(ax, 3, 1.0, 1.2, "#f5e6c8")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for number, (name, label, sky, ground, motif) in enumerate(PICTURES):
        rng = random.Random(number)
        fig = plt.figure(figsize=(4.8, 2.7), dpi=100)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 5.625)
        ax.axis("off")
        ax.add_patch(patches.Rectangle((0, 0), 10, 5.625, color=sky))
        ax.add_patch(patches.Rectangle((0, 0), 10, 1.4, color=ground))
        if motif not in ("storm", "stage"):
            ax.add_patch(patches.Circle((8.8, 4.8), 0.45, color="#ffd54f"))
        draw(motif, ax, rng)
        ax.add_patch(patches.Rectangle((0, 0), 10, 0.75, color="#000000", alpha=0.55))
        ax.text(0.3, 0.36, label, color="white", fontsize=15, va="center", weight="bold")
        fig.savefig(OUT / name, format="jpg", pil_kwargs={"quality": 72, "optimize": True})
        plt.close(fig)
        print(name, (OUT / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
