"""Reference for adasval's image corruptions: the `imagecorruptions` package (Michaelis et
al., the COCO-C packaging of Hendrycks & Dietterich's ImageNet-C definitions).

stdin: {"dir": D, "width": W, "height": H, "seed": S,
        "cases": [{"name": n, "severity": s, "angle": a (motion_blur, snow),
                   "map": file (fog), "layer": file (snow), "dx", "dy": files (elastic),
                   "offsets": file (glass_blur, int64 dx, dy pairs)}]}
Reads D/input.u8 (H×W×3 bytes), writes D/<name>_<severity>.u8 with the reference's output.

Three compatibility shims, none touching a corruption's arithmetic: `pkg_resources` (only
used to locate frost images, which adasval does not use) where setuptools no longer ships
it; `np.float_` (removed in NumPy 2), which the package's plasma fractal names; and
scikit-image's `gaussian(multichannel=True)`, renamed `channel_axis=-1` in 0.19 and removed
later, which glass blur calls.
Gaussian, shot and impulse noise draw from `np.random.seed(S)`; motion blur, fog, glass
blur, snow and elastic transform are called with the draws adasval made (angle, plasma map,
pixel offsets, flake layer and fall angle, displacement fields), handed to the reference in
place of numpy's, so their pixels can be compared.
"""
import collections
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



def with_draws(corruption, img, sev, normal=(), uniform=(), randint=()):
    """Call a corruption with numpy's normal, uniform and randint draws replaced, in order,
    by adasval's (each call must ask for the shape it is given, which is checked, and all
    must be used)."""
    queues = {"normal": list(normal), "uniform": list(uniform), "randint": list(randint)}
    queues = {k: collections.deque(v) for k, v in queues.items()}
    saved = np.random.normal, np.random.uniform, np.random.randint

    def take(kind):
        def draw(*args, size=None, **kw):
            value = queues[kind].popleft()
            got = np.shape(value)
            want = () if size is None else tuple(np.atleast_1d(size))
            assert got == want, f"{corruption.__name__}: {kind} draw of shape {want}, given {got}"
            return value
        return draw

    np.random.normal, np.random.uniform = take("normal"), take("uniform")
    np.random.randint = take("randint")
    try:
        out = corruption(Image.fromarray(img), sev)
    finally:
        np.random.normal, np.random.uniform, np.random.randint = saved
    assert not any(queues.values()), f"{corruption.__name__}: draws left unused"
    return out


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
    elif name == "glass_blur":
        pairs = np.fromfile(os.path.join(d, case["offsets"]), dtype="<i8").reshape(-1, 2)
        out = with_draws(ic.glass_blur, img, sev, randint=list(pairs))
    elif name == "snow":
        layer = np.fromfile(os.path.join(d, case["layer"]), dtype="<f8").reshape(h, w)
        out = with_draws(ic.snow, img, sev, normal=[layer], uniform=[case["angle"]])
    elif name == "elastic_transform":
        fields = [np.fromfile(os.path.join(d, case[k]), dtype="<f8").reshape(h, w) for k in ("dx", "dy")]
        out = with_draws(ic.elastic_transform, img, sev, uniform=fields)
    else:
        out = imagecorruptions.corrupt(img, severity=sev, corruption_name=name)
    np.uint8(out).tofile(os.path.join(d, f"{name}_{sev}.u8"))
