"""Reference for adasval's image corruptions: the `imagecorruptions` package (Michaelis et
al., the COCO-C packaging of Hendrycks & Dietterich's ImageNet-C definitions).

stdin: {"dir": D, "width": W, "height": H, "seed": S,
        "cases": [{"name": n, "severity": s, "angle": a (motion_blur), "map": file (fog)}]}
Reads D/input.u8 (H×W×3 bytes), writes D/<name>_<severity>.u8 with the reference's output.

Three compatibility shims, none touching a corruption's arithmetic: `pkg_resources` (only
used to locate frost images, which adasval does not use) where setuptools no longer ships
it; `np.float_` (removed in NumPy 2), which the package's plasma fractal names; and
scikit-image's `gaussian(multichannel=True)`, renamed `channel_axis=-1` in 0.19 and removed
later, which glass blur calls.
Random corruptions draw from `np.random.seed(S)`; motion blur and fog are called with the
angle and plasma map adasval drew, so their pixels can be compared.
"""
import json
import os
import sys
import types
import warnings

import numpy as np

warnings.filterwarnings("ignore")
if not hasattr(np, "float_"):
    np.float_ = np.float64
try:
    import pkg_resources  # noqa: F401
except ImportError:
    shim = types.ModuleType("pkg_resources")
    shim.resource_filename = lambda pkg, name: os.path.join(os.path.dirname(__file__), name)
    sys.modules["pkg_resources"] = shim

from PIL import Image  # noqa: E402
import imagecorruptions  # noqa: E402
from imagecorruptions import corruptions as ic  # noqa: E402

_gaussian = ic.gaussian


def _gaussian_multichannel(image, sigma=1, multichannel=None, **kw):
    if multichannel:
        kw["channel_axis"] = -1
    return _gaussian(image, sigma=sigma, **kw)


ic.gaussian = _gaussian_multichannel

req = json.load(sys.stdin)
d, w, h = req["dir"], req["width"], req["height"]
img = np.fromfile(os.path.join(d, "input.u8"), dtype=np.uint8).reshape(h, w, 3)
np.random.seed(req["seed"])
for case in req["cases"]:
    name, sev = case["name"], case["severity"]
    if name == "motion_blur":
        c = [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)][sev - 1]
        out = np.clip(ic._motion_blur(img, radius=c[0], sigma=c[1], angle=case["angle"]), 0, 255)
    elif name == "fog":
        side = int(case["map_size"])
        fixed = np.fromfile(os.path.join(d, case["map"]), dtype="<f8").reshape(side, side)
        ic.plasma_fractal = lambda mapsize=256, wibbledecay=3, m=fixed: m.copy()
        out = ic.fog(Image.fromarray(img), sev)
    else:
        out = imagecorruptions.corrupt(img, severity=sev, corruption_name=name)
    np.uint8(out).tofile(os.path.join(d, f"{name}_{sev}.u8"))
