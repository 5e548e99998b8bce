"""Server-rendered SVG charts (no JavaScript, no CDN): monthly inquiries by channel as
stacked bars, and the answer rate against its target line. Text is escaped and set in
Noto Sans CJK JP (installed with fonts-noto-cjk) so Japanese renders everywhere."""

from __future__ import annotations

import datetime as dt
import math
from html import escape

from django.utils.safestring import SafeString, mark_safe

from kpi.display import era_year

FONT = "'Noto Sans CJK JP','Noto Sans JP','Hiragino Sans','Yu Gothic',sans-serif"
CHANNEL_COLORS = (("phone", "電話", "#1f5fa8"), ("email", "メール", "#e08a1e"), ("form", "問合せフォーム", "#3a9d5d"))
W, H = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 36, 56


def _nice_max(value: float) -> float:
    """A round axis maximum whose quarters are whole numbers (4 ticks of counts)."""
    if value <= 4:
        return 4
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 5, 8, 10):
        if value <= step * exp and (step * exp) % 4 == 0:
            return step * exp
    return 10 * exp if (10 * exp) % 4 == 0 else 4 * math.ceil(value / 4)


def _text(
    x: float, y: float, s: str, *, size: int = 12, anchor: str = "start", color: str = "#333", weight: str = "normal"
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{color}" '
        f'font-weight="{weight}">{escape(str(s))}</text>'
    )


def _frame(title: str, body: list[str], label: str) -> SafeString:
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
        f'aria-label="{escape(label)}" font-family="{FONT}">'
        f'<rect width="{W}" height="{H}" fill="#fff"/>'
        + _text(LEFT, 22, title, size=15, weight="bold")
        + "".join(body)
        + "</svg>"
    )


def _x_labels(labels: list[str], slot: float) -> list[str]:
    out = []
    for i, label in enumerate(labels):
        x = LEFT + slot * (i + 0.5)
        for j, line in enumerate(label.split("\n")):
            out.append(_text(x, H - BOTTOM + 18 + 16 * j, line, size=11 if j == 0 else 10, anchor="middle"))
    return out


def axis_labels(months: list[str]) -> list[str]:
    """'10月' under every bar; the era year under the first month and each January."""
    out = []
    for i, m in enumerate(months):
        year, mon = (int(p) for p in m.split("-"))
        label = f"{mon}月"
        if i == 0 or mon == 1:
            era, y = era_year(dt.date(year, mon, 1))
            label += f"\n{era}{y}年"
        out.append(label)
    return out


def inquiries_by_channel_svg(months: list[str], labels: list[str], counts: list[dict[str, int]]) -> SafeString:
    """Stacked bars: one per month, phone / email / form."""
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    top = _nice_max(max((sum(c.values()) for c in counts), default=0))
    slot = plot_w / max(len(months), 1)
    bar = min(slot * 0.6, 48)
    body = []
    for k in range(5):
        v = top * k / 4
        y = TOP + plot_h - plot_h * k / 4
        body.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        body.append(_text(LEFT - 6, y + 4, f"{int(v):,}", size=11, anchor="end"))
    for i, c in enumerate(counts):
        x = LEFT + slot * i + (slot - bar) / 2
        y = TOP + plot_h
        for key, name, color in CHANNEL_COLORS:
            h = plot_h * c.get(key, 0) / top
            if h > 0:
                y -= h
                body.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{color}">'
                    f"<title>{escape(labels[i])} {name}: {c.get(key, 0):,}件</title></rect>"
                )
        body.append(_text(x + bar / 2, y - 4, f"{sum(c.values()):,}", size=10, anchor="middle"))
    body.append(f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#888"/>')
    body += _x_labels(labels, slot)
    for j, (_, name, color) in enumerate(CHANNEL_COLORS):
        ly = TOP + 10 + j * 22
        body.append(f'<rect x="{W - RIGHT + 18}" y="{ly}" width="14" height="14" fill="{color}"/>')
        body.append(_text(W - RIGHT + 38, ly + 12, name))
    body.append(_text(LEFT - 50, TOP - 8, "件数", size=11))
    return _frame("月別問合せ件数（チャネル別）", body, "月別問合せ件数のチャネル別積み上げ棒グラフ")


def answer_rate_svg(labels: list[str], rates: list[float | None], targets: list[float]) -> SafeString:
    """Answer rate per month (line with points; unmet points red) against the target,
    drawn as a step line because the target moves with the period type."""
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    lo = 0.0
    known = [r for r in rates if r is not None]
    if known and min(known + targets) >= 0.5:
        lo = 0.5

    def y_of(v: float) -> float:
        return TOP + plot_h - plot_h * (v - lo) / (1 - lo)

    body = []
    for k in range(6):
        v = lo + (1 - lo) * k / 5
        y = y_of(v)
        body.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        body.append(_text(LEFT - 6, y + 4, f"{v * 100:.0f}%", size=11, anchor="end"))
    # target step line
    pts = []
    for i, t in enumerate(targets):
        pts += [(LEFT + slot * i, y_of(t)), (LEFT + slot * (i + 1), y_of(t))]
    if pts:
        d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        body.append(f'<polyline points="{d}" fill="none" stroke="#c0392b" stroke-width="2" stroke-dasharray="6 4"/>')
    # rate line, broken where a month had no calls
    seg: list[str] = []
    segments = []
    for i, r in enumerate(rates):
        if r is None:
            if seg:
                segments.append(seg)
            seg = []
            continue
        seg.append(f"{LEFT + slot * (i + 0.5):.1f},{y_of(r):.1f}")
    if seg:
        segments.append(seg)
    for s in segments:
        body.append(f'<polyline points="{" ".join(s)}" fill="none" stroke="#1f5fa8" stroke-width="2.5"/>')
    for i, r in enumerate(rates):
        if r is None:
            continue
        x, y = LEFT + slot * (i + 0.5), y_of(r)
        met = r >= targets[i]
        color = "#1f5fa8" if met else "#c0392b"
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{color}"><title>{escape(labels[i])} '
            f"{r * 100:.1f}%（目標 {targets[i] * 100:.0f}%）</title></circle>"
        )
        body.append(_text(x, y - 9, f"{r * 100:.1f}%", size=10, anchor="middle", color=color))
    body.append(f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#888"/>')
    body += _x_labels(labels, slot)
    ly = TOP + 10
    body.append(
        f'<line x1="{W - RIGHT + 16}" y1="{ly + 7}" x2="{W - RIGHT + 34}" y2="{ly + 7}" stroke="#1f5fa8" stroke-width="2.5"/>'
    )
    body.append(_text(W - RIGHT + 38, ly + 12, "応答率"))
    body.append(
        f'<line x1="{W - RIGHT + 16}" y1="{ly + 29}" x2="{W - RIGHT + 34}" y2="{ly + 29}" stroke="#c0392b" '
        f'stroke-width="2" stroke-dasharray="6 4"/>'
    )
    body.append(_text(W - RIGHT + 38, ly + 34, "目標"))
    return _frame("応答率と目標", body, "月別応答率と目標値の折れ線グラフ")
