"""Demo detector: a plain CNN with a YOLOX-Nano-compatible output.

Where it sits: trained by train.py on scenes from `adasval scenario synth`, exported by
export.py to engines/demo/detector.onnx, decoded by the project's YOLOX decoder.

Only Conv (+BatchNorm, folded at export), ReLU, MaxPool, nearest Upsample, Add, Concat and a
final Sigmoid, so that every backend (tract on the CPU, cuDNN fused conv+ReLU on the GPU) runs
it without special cases. Output layout per anchor: raw x, y, w, h, then sigmoid(objectness),
sigmoid(class 0..4); anchors on the stride-8 grid then the stride-16 grid, row-major.
"""

import torch
import torch.nn as nn

CLASSES = ("pedestrian", "cyclist", "car", "truck", "obstacle")
STRIDES = (8, 16)
WIDTH, HEIGHT = 512, 288


def conv_bn_relu(cin, cout, k=3, s=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, s, k // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Head(nn.Module):
    """One stride level: a 3x3 conv, then 1x1 convs for the box and for objectness+classes."""

    def __init__(self, cin, mid, num_classes):
        super().__init__()
        self.conv = conv_bn_relu(cin, mid)
        self.reg = nn.Conv2d(mid, 4, 1)
        self.score = nn.Conv2d(mid, 1 + num_classes, 1)
        # Prior of 1% for objectness and classes keeps the first steps' loss sane.
        nn.init.constant_(self.score.bias, -4.6)
        nn.init.zeros_(self.reg.bias)

    def forward(self, x, export: bool):
        x = self.conv(x)
        s = self.score(x)
        if export:
            s = torch.sigmoid(s)
        return torch.cat([self.reg(x), s], 1)


class Residual(nn.Module):
    """x + conv-bn(conv-bn-relu(x)), then ReLU. The last BatchNorm starts at zero scale, so a
    new block is the identity on the non-negative features it receives: a checkpoint
    without it loads unchanged and the block learns from there."""

    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(conv_bn_relu(c, c), nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))
        nn.init.zeros_(self.body[2].weight)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(x + self.body(x))


class DemoDetector(nn.Module):
    def __init__(self, widths=(8, 16, 32, 80), num_classes=len(CLASSES), res8=0, post8=0):
        super().__init__()
        c1, c2, c3, c4 = widths
        self.num_classes = num_classes
        self.res8 = res8
        self.post8 = post8
        self.stem = nn.Sequential(conv_bn_relu(3, c1, 3, 2), conv_bn_relu(c1, c2, 3, 2))  # /4
        # /8; `res8` residual blocks after the two convolutions: depth where the pedestrians are.
        self.down8 = nn.Sequential(conv_bn_relu(c2, c3, 3, 2), conv_bn_relu(c3, c3), *(Residual(c3) for _ in range(res8)))
        self.down16 = nn.Sequential(conv_bn_relu(c3, c4, 3, 2), conv_bn_relu(c4, c4))  # /16
        # Context at /32 for large vehicles, folded back into /16 (strides stay 8 and 16).
        self.down32 = nn.Sequential(nn.MaxPool2d(2, 2), conv_bn_relu(c4, c4), conv_bn_relu(c4, c4))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.lateral = conv_bn_relu(c4, c3, 1)
        self.fuse8 = conv_bn_relu(c3, c3)
        # `post8` residual blocks after the top-down fusion: stride-8 depth that already sees
        # the /16 and /32 context (occluded people, people in groups, pedestrian vs cyclist).
        self.refine8 = nn.Sequential(*(Residual(c3) for _ in range(post8)))
        self.head8 = Head(c3, c3, num_classes)
        self.head16 = Head(c4, c3, num_classes)
        self.export = False
        self.export_batch = 1

    def forward(self, images):
        x4 = self.stem(images)
        x8 = self.down8(x4)
        x16 = self.down16(x8)
        p16 = x16 + self.up(self.down32(x16))
        p8 = self.refine8(self.fuse8(x8 + self.up(self.lateral(p16))))
        outs = [self.head8(p8, self.export), self.head16(p16, self.export)]
        # [B, 5+C, H, W] -> [B, 5+C, H*W] -> concat anchors -> [B, N, 5+C]
        if self.export:
            # Python ints keep the exported Reshape static (no Shape/Slice/Gather nodes).
            b, c = self.export_batch, 5 + self.num_classes
            flat = [o.reshape(b, c, (HEIGHT // s) * (WIDTH // s)) for o, s in zip(outs, STRIDES)]
        else:
            flat = [o.flatten(2) for o in outs]
        return torch.cat(flat, 2).permute(0, 2, 1)


def anchor_grid(width=WIDTH, height=HEIGHT, strides=STRIDES):
    """Per anchor: grid x index, grid y index, stride (same order as the model output)."""
    gx, gy, st = [], [], []
    for s in strides:
        h, w = height // s, width // s
        yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        gx.append(xx.reshape(-1))
        gy.append(yy.reshape(-1))
        st.append(torch.full((h * w,), s))
    return torch.cat(gx).float(), torch.cat(gy).float(), torch.cat(st).float()


def count_macs(model, width=WIDTH, height=HEIGHT):
    """Multiply-accumulates of the convolutions for one frame (the rest is negligible)."""
    total = 0
    hooks = []

    def hook(m, _inp, out):
        nonlocal total
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total += out.numel() // out.shape[0] * k

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(hook))
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, height, width))
    for h in hooks:
        h.remove()
    return total


def fuse_for_export(model):
    """Copy of the model with every BatchNorm folded into its Conv and sigmoid enabled."""
    import copy

    from torch.nn.utils.fusion import fuse_conv_bn_eval

    m = copy.deepcopy(model).eval().float()
    for mod in m.modules():
        if isinstance(mod, nn.Sequential):
            for i in range(len(mod) - 1):
                if isinstance(mod[i], nn.Conv2d) and isinstance(mod[i + 1], nn.BatchNorm2d):
                    mod[i] = fuse_conv_bn_eval(mod[i], mod[i + 1])
                    mod[i + 1] = nn.Identity()
    for name, mod in list(m.named_modules()):
        if isinstance(mod, nn.Sequential):
            kept = [c for c in mod if not isinstance(c, nn.Identity)]
            mod._modules.clear()
            for i, c in enumerate(kept):
                mod.add_module(str(i), c)
    m.export = True
    return m
