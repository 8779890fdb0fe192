"""Renders a cell diagram with cairo (cairosvg: no browser, no paint-order support) and measures,
for each edge label, how many dark pixels its box holds with the labels drawn and with their
text removed. Labels that render add dark pixels; labels that cairo paints over (a white text
stroke under `paint-order`) add none, or remove the edge lines under them.

    python svg_labels.py CELL.svg   → {"labels": [[text, dark_with, dark_without], …]}
"""

import io
import json
import re
import sys

import cairosvg
from PIL import Image

svg = open(sys.argv[1]).read()
# Edge labels are the 11 px texts (node names are 12 px, titles bold); each cell is a group
# translated by (dx, dy).
label = re.compile(r'<text x="([\d.]+)" y="([\d.]+)" font-size="11"[^>]*>([^<]*)</text>')
group = re.compile(r'<g transform="translate\(([\d.]+),([\d.]+)\)">')
found, (dx, dy) = [], (0.0, 0.0)
for m in re.finditer(f"{group.pattern}|{label.pattern}", svg):
    if m.group(1) is not None:
        dx, dy = float(m.group(1)), float(m.group(2))
    else:
        found.append((dx + float(m.group(3)), dy + float(m.group(4)), m.group(5)))


def dark(document):
    png = cairosvg.svg2png(bytestring=document.encode())
    img = Image.open(io.BytesIO(png)).convert("L")
    counts = []
    for x, y, text in found:
        half = 3.2 * len(text)
        box = (int(x - half), int(y - 11), int(x + half), int(y + 2))
        counts.append(sum(img.crop(box).histogram()[:128]))
    return counts


with_labels = dark(svg)
without = dark(label.sub("", svg))
json.dump({"labels": [[t, a, b] for (_, _, t), a, b in zip(found, with_labels, without)]}, sys.stdout)
