"""Train the demo detector on scenes rendered by `adasval scenario synth`.

Where it sits: runs on the GPU device machine (PyTorch, no network). The adasval binary
renders the training and validation scenes there (one process per seed, all cores), the
whole set is kept on the GPU as uint8, and training runs for a fixed wall-clock budget with
a cosine schedule over elapsed time, bf16 autocast and an EMA of the weights. At the end the
EMA model is saved, exported to ONNX (export.py) and checked. Outputs (under --out):
train.log, model.pt, detector.onnx, export.json, metrics.json.

    python3 train.py --bin ./adasval --train-seeds 1000-1015 --per-seed 1250 \
        --val-seeds 900000-900001 --val-per-seed 250 --minutes 5 --out $OUT
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset  # noqa: E402
import evaluate  # noqa: E402
from model import CLASSES, HEIGHT, STRIDES, WIDTH, DemoDetector, count_macs  # noqa: E402

LOG = None


def log(msg):
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if LOG:
        LOG.write(line + "\n")
        LOG.flush()


def seed_range(text):
    a, _, b = text.partition("-")
    return list(range(int(a), int(b or a) + 1))


def flip_targets(tbox, tcls):
    """Mirror targets left-right, level by level (the anchor grids are symmetric)."""
    boxes, classes, start = [], [], 0
    for s in STRIDES:
        h, w = HEIGHT // s, WIDTH // s
        b = tbox[:, start:start + h * w].reshape(-1, h, w, 4).flip(2)
        b = torch.stack([WIDTH - b[..., 2], b[..., 1], WIDTH - b[..., 0], b[..., 3]], -1)
        boxes.append(b.reshape(-1, h * w, 4))
        classes.append(tcls[:, start:start + h * w].reshape(-1, h, w).flip(2).reshape(-1, h * w))
        start += h * w
    return torch.cat(boxes, 1), torch.cat(classes, 1)


def flip_gt(gtb):
    """Mirror the padded ground-truth boxes left-right (padding stays padding: its class is NEG)."""
    return torch.stack([WIDTH - gtb[..., 2], gtb[..., 1], WIDTH - gtb[..., 0], gtb[..., 3]], -1)


def decode_boxes(raw, grid):
    """YOLOX decode of raw [..., N, >=4] to boxes xyxy [..., N, 4] (as evaluate.decode)."""
    gx, gy, st = grid
    cx = (raw[..., 0] + gx) * st
    cy = (raw[..., 1] + gy) * st
    w = torch.exp(raw[..., 2].clamp(-8, 8)) * st
    h = torch.exp(raw[..., 3].clamp(-8, 8)) * st
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


def pair_iou(a, b):
    """IoU of every box of a [B,M,4] with every box of b [B,N,4]: [B,M,N]."""
    a, b = a[:, :, None], b[:, None]
    iw = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
    ih = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])).clamp(min=0)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)
    return inter / (area_a + area_b - inter + 1e-7)


@torch.no_grad()
def simota(raw, gtb, gtl, grid, radius=2.5, topk=10, iou_weight=3.0):
    """SimOTA (YOLOX) dynamic label assignment for a batch.

    The static centre prior gives every object the same few anchors whatever the network
    predicts there; SimOTA instead lets each object take the dynamic_k anchors (k = the
    rounded sum of its 10 best IoUs) that predict it best (class cost + 3 x IoU cost), among
    anchors inside its box or within `radius` strides of its centre, preferring those that
    are both; an anchor wanted by several objects goes to the one it costs least. Crowds get
    one set of anchors per person, and narrow objects the anchors that already fit them.

    raw [B,N,5+C] (logits), gtb [B,G,4] xyxy, gtl [B,G] class or NEG (padding, learnable
    objects first). Returns per anchor: target boxes [B,N,4] and classes [B,N] (NEG if none)."""
    raw = raw.float()
    gx, gy, st = grid
    bsz, n, _ = raw.shape
    tbox = torch.zeros((bsz, n, 4), device=raw.device)
    tcls = torch.full((bsz, n), dataset.NEG, dtype=torch.long, device=raw.device)
    m = int((gtl >= 0).sum(1).max().item())
    if m == 0:
        return tbox, tcls
    gb, gl = gtb[:, :m].float(), gtl[:, :m].long()
    gv = gl >= 0
    ax, ay = (gx + 0.5) * st, (gy + 0.5) * st
    x1, y1, x2, y2 = (gb[..., i:i + 1] for i in range(4))
    in_box = (ax > x1) & (ax < x2) & (ay > y1) & (ay < y2)
    r = radius * st
    in_ctr = ((ax - (x1 + x2) / 2).abs() < r) & ((ay - (y1 + y2) / 2).abs() < r)
    cand = (in_box | in_ctr) & gv[..., None]
    iou = pair_iou(gb, decode_boxes(raw, grid))
    # Class cost: BCE of sqrt(obj * cls) against the one-hot class, summed over the classes,
    # without the [B,G,N,C] tensor: sum_c -log(1-p_c) - log p_g + log(1-p_g).
    p = (raw[..., 5:].sigmoid() * raw[..., 4:5].sigmoid()).sqrt().clamp(1e-6, 1 - 1e-6)
    neg_all = -torch.log1p(-p).sum(-1)
    pg = torch.gather(p, 2, gl.clamp(min=0)[:, None, :].expand(bsz, n, m)).transpose(1, 2)
    cost = neg_all[:, None, :] - torch.log(pg) + torch.log1p(-pg)
    cost = cost + iou_weight * -torch.log(iou + 1e-8) + 1e5 * (~(in_box & in_ctr)).float()
    cost = torch.where(cand, cost, torch.full_like(cost, 1e9))
    k = min(topk, n)
    dyn_k = torch.where(cand, iou, torch.zeros_like(iou)).topk(k, dim=2).values.sum(2).int().clamp(min=1)
    best_cost, idx = cost.topk(k, dim=2, largest=False)
    take = (torch.arange(k, device=raw.device) < dyn_k[..., None]) & (best_cost < 1e8)
    match = torch.zeros((bsz, m, n), dtype=torch.bool, device=raw.device)
    match.scatter_(2, idx, take)
    owner = torch.where(match, cost, torch.full_like(cost, 1e10)).argmin(1)  # [B,N]
    pos = match.any(1)
    tcls = torch.where(pos, gl.gather(1, owner), tcls)
    tbox = gb.gather(1, owner[..., None].expand(bsz, n, 4))
    # An object whose anchors all went to neighbours (tight crowds) takes its cheapest free
    # candidate, so that no learnable object is left without a positive.
    count = torch.zeros((bsz, m), dtype=torch.int32, device=raw.device).scatter_add_(1, owner, pos.int())
    free_min, alt = torch.where(pos[:, None, :], torch.full_like(cost, 1e10), cost).min(2)
    bi, gi = (gv & (count == 0) & (free_min < 1e8)).nonzero(as_tuple=True)
    ai = alt[bi, gi]
    tcls[bi, ai] = gl[bi, gi]
    tbox[bi, ai] = gb[bi, gi]
    return tbox, tcls


def giou(a, b):
    x1 = torch.maximum(a[:, 0], b[:, 0])
    y1 = torch.maximum(a[:, 1], b[:, 1])
    x2 = torch.minimum(a[:, 2], b[:, 2])
    y2 = torch.minimum(a[:, 3], b[:, 3])
    inter = (x2 - x1).clamp(min=0) * (y2 - y1).clamp(min=0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a + area_b - inter + 1e-7
    iou = inter / union
    cw = torch.maximum(a[:, 2], b[:, 2]) - torch.minimum(a[:, 0], b[:, 0])
    ch = torch.maximum(a[:, 3], b[:, 3]) - torch.minimum(a[:, 1], b[:, 1])
    hull = cw * ch + 1e-7
    return iou - (hull - union) / hull, iou


def detection_loss(raw, tbox, tcls, grid, box_weight=5.0):
    """YOLOX-style losses, each summed and divided by the number of positive anchors."""
    raw = raw.float()
    gx, gy, st = grid
    pos = tcls >= 0
    valid = tcls != dataset.IGNORE
    npos = pos.sum().clamp(min=1).float()
    l_obj = (F.binary_cross_entropy_with_logits(raw[..., 4], pos.float(), reduction="none") * valid).sum() / npos
    bi, ai = pos.nonzero(as_tuple=True)
    p = raw[bi, ai]
    s = st[ai]
    cx = (p[:, 0] + gx[ai]) * s
    cy = (p[:, 1] + gy[ai]) * s
    w = torch.exp(p[:, 2].clamp(-8, 8)) * s
    h = torch.exp(p[:, 3].clamp(-8, 8)) * s
    pred = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    t = tbox[bi, ai]
    g, iou = giou(pred, t)
    l_box = (1 - g).sum() / npos
    # L1 on the raw offsets as well (YOLOX's late-training term): sharper boxes for narrow
    # objects such as pedestrians, where a few pixels of width decide IoU >= 0.5.
    traw = torch.stack([(t[:, 0] + t[:, 2]) / 2 / s - gx[ai], (t[:, 1] + t[:, 3]) / 2 / s - gy[ai],
                        torch.log((t[:, 2] - t[:, 0]).clamp(min=1) / s), torch.log((t[:, 3] - t[:, 1]).clamp(min=1) / s)], 1)
    l_l1 = (p[:, :4] - traw).abs().sum() / npos
    # Quality-aware class target (as YOLOX): the class score learns the IoU of its own box,
    # so obj*cls ranks well-placed boxes first and NMS keeps those.
    cls_t = F.one_hot(tcls[bi, ai].long(), len(CLASSES)).float() * iou.detach().clamp(min=0).unsqueeze(1)
    l_cls = F.binary_cross_entropy_with_logits(p[:, 5:], cls_t, reduction="sum") / npos
    total = box_weight * l_box + l_obj + l_cls + l_l1
    return total, {"box": l_box.item(), "obj": l_obj.item(), "cls": l_cls.item(), "l1": l_l1.item(),
                   "iou": iou.mean().item() if iou.numel() else 0.0, "npos": npos.item()}


class Ema:
    def __init__(self, model, decay=0.9995, tau=1000):
        import copy

        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.decay, self.tau, self.updates = decay, tau, 0

    @torch.no_grad()
    def update(self, model):
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.tau))
        msd = model.state_dict()
        for k, v in self.model.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)
            else:
                v.copy_(msd[k])


def assign(raw, tbox, tcls, gtb, gtl, grid, mode):
    """Per-anchor targets for the loss: the static centre prior as given, or SimOTA's, with the
    anchors inside ignored objects kept out of the objectness loss unless SimOTA takes them."""
    if mode == "static":
        return tbox, tcls
    box, dyn = simota(raw.detach(), gtb, gtl, grid)
    return box, torch.where(dyn >= 0, dyn, torch.where(tcls.long() == dataset.IGNORE, dataset.IGNORE, dataset.NEG))


@torch.no_grad()
def validate(model, imgs, tb, tc, gb, gl, records, grid, device, thresholds, mode, batch=64):
    """Validation loss (with the training's assignment) and the evaluate.py figures (same
    decode, NMS and counting)."""
    model.eval()
    outs, losses = [], []
    for i in range(0, len(imgs), batch):
        x = imgs[i:i + batch].to(device, non_blocking=True).float().div_(255).contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
            raw = model(x)
        b, c = assign(raw, tb[i:i + batch].to(device), tc[i:i + batch].to(device), gb[i:i + batch].to(device),
                      gl[i:i + batch].to(device), grid, mode)
        loss, _ = detection_loss(raw, b, c, grid)
        losses.append(loss.item())
        raw = raw.float()
        raw[..., 4:] = raw[..., 4:].sigmoid()
        outs.extend(raw.cpu().numpy())
    agrid = dataset.anchors()
    res = {}
    for t in thresholds:
        dets = [evaluate.postprocess(o, agrid, t) for o in outs]
        res[f"{t:.2f}"] = evaluate.report(records, dets, t)
    return float(np.mean(losses)), res


def main():
    global LOG
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="./adasval")
    ap.add_argument("--train-seeds", required=True, help="inclusive range A-B; one generator process per seed")
    ap.add_argument("--per-seed", type=int, required=True)
    ap.add_argument("--val-seeds", required=True)
    ap.add_argument("--val-per-seed", type=int, required=True)
    ap.add_argument("--data-dir", default="/tmp/adasval-data")
    ap.add_argument("--no-render", action="store_true", help="data already rendered under --data-dir")
    ap.add_argument("--minutes", type=float, default=5.0, help="wall-clock training budget")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--warmup", type=float, default=0.03, help="fraction of the budget")
    ap.add_argument("--eval-every", type=float, default=60.0, help="seconds between validations")
    ap.add_argument("--threshold", type=float, default=0.35)
    ap.add_argument("--widths", default="8,16,32,80")
    ap.add_argument("--res8", type=int, default=0, help="residual blocks at stride 8 (model.DemoDetector)")
    ap.add_argument("--post8", type=int, default=0,
                    help="residual blocks at stride 8 after the top-down fusion (model.DemoDetector)")
    ap.add_argument("--init", help="continue from this checkpoint (model.pt of an earlier run)")
    ap.add_argument("--assign", choices=("simota", "static"), default="simota",
                    help="label assignment: SimOTA (dynamic, as YOLOX) or the static centre prior of dataset.py")
    ap.add_argument("--hard-weight", type=float, default=0.0,
                    help="frames with a partly hidden or grouped pedestrian (dataset.hard_frame) are drawn "
                         "1 + this times as often")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    LOG = open(out / "train.log", "w")
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    card = torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"
    log(f"device {card}, torch {torch.__version__}, args {vars(args)}")

    train_seeds, val_seeds = seed_range(args.train_seeds), seed_range(args.val_seeds)
    dataset.check_disjoint([(s, args.per_seed) for s in train_seeds], [(s, args.val_per_seed) for s in val_seeds])
    t0 = time.time()
    parts = [(s, args.per_seed, f"{args.data_dir}/train_{s}") for s in train_seeds]
    vparts = [(s, args.val_per_seed, f"{args.data_dir}/val_{s}") for s in val_seeds]
    imgs, tb, tc, gtb, gtl, recs, files = dataset.load(parts + vparts, args.bin, args.workers, render=not args.no_render)
    t_data = time.time() - t0
    ntrain = len(parts) * args.per_seed
    cond = {}
    for r in recs[:ntrain]:
        cond[r["condition"]] = cond.get(r["condition"], 0) + 1
    nobj = np.bincount(np.concatenate([r["labels"][~r["ignore"]] for r in recs[:ntrain]]), minlength=len(CLASSES))
    overflow = sum(r.get("gt_overflow", 0) for r in recs)
    log(f"data: {ntrain} train + {len(recs) - ntrain} val images rendered and loaded in {t_data:.1f} s; "
        f"train conditions {cond}; train objects per class {dict(zip(CLASSES, nobj.tolist()))}; "
        f"objects beyond {dataset.MAX_GT} per frame (left out of the dynamic assignment): {overflow}")

    # Whole training set on the GPU as uint8 (~0.44 MB a frame), targets beside it.
    # Copied in chunks: no second full copy of the set in host memory.
    timgs = torch.empty((ntrain, 3, HEIGHT, WIDTH), dtype=torch.uint8, device=device)
    ttb = torch.empty((ntrain,) + tb.shape[1:], dtype=torch.float32, device=device)
    ttc = torch.empty((ntrain,) + tc.shape[1:], dtype=torch.int8, device=device)
    tgb = torch.from_numpy(np.array(gtb[:ntrain])).to(device)
    tgl = torch.from_numpy(np.array(gtl[:ntrain])).to(device)
    for i in range(0, ntrain, 2048):
        j = min(i + 2048, ntrain)
        timgs[i:j] = torch.from_numpy(np.ascontiguousarray(imgs[i:j])).to(device)
        ttb[i:j] = torch.from_numpy(np.ascontiguousarray(tb[i:j])).to(device)
        ttc[i:j] = torch.from_numpy(np.ascontiguousarray(tc[i:j])).to(device)
    vimgs = torch.from_numpy(np.ascontiguousarray(imgs[ntrain:]))
    vtb = torch.from_numpy(np.ascontiguousarray(tb[ntrain:]))
    vtc = torch.from_numpy(np.ascontiguousarray(tc[ntrain:]))
    vgb = torch.from_numpy(np.array(gtb[ntrain:]))
    vgl = torch.from_numpy(np.array(gtl[ntrain:]))
    vrecs = recs[ntrain:]
    for f in files:
        os.remove(f)
    hard = np.array([dataset.hard_frame(r) for r in recs[:ntrain]], bool)
    draw = torch.from_numpy(1.0 + args.hard_weight * hard.astype(np.float32)).to(device)
    log(f"hard frames (partly hidden or grouped pedestrians): {hard.sum()} of {ntrain}, drawn with weight "
        f"{1 + args.hard_weight:g}: {float(draw[torch.from_numpy(hard).to(device)].sum() / draw.sum()):.3f} of draws")
    pos_per_img = (ttc >= 0).sum(1).float().mean().item()
    log(f"targets: {pos_per_img:.1f} positive anchors per image on average")

    gx, gy, st = (torch.from_numpy(a).to(device) for a in dataset.anchors())
    grid = (gx, gy, st)
    widths = tuple(int(w) for w in args.widths.split(","))
    model = DemoDetector(widths=widths, res8=args.res8, post8=args.post8)
    if args.init:
        ckpt = torch.load(args.init, map_location="cpu", weights_only=True)
        # Residual blocks that the checkpoint lacks start as the identity (model.Residual).
        missing, unexpected = model.load_state_dict(ckpt["model"], strict=False)
        new_blocks = [f"down8.{2 + i}." for i in range(int(ckpt.get("res8", 0)), args.res8)]
        new_blocks += [f"refine8.{i}." for i in range(int(ckpt.get("post8", 0)), args.post8)]
        bad = [k for k in missing if not any(k.startswith(p) for p in new_blocks)]
        if bad or unexpected:
            raise SystemExit(f"--init {args.init} does not fit: missing {bad}, unexpected {unexpected}")
        log(f"initialised from {args.init}; new (identity) parameters: {len(missing)} tensors")
    model = model.to(device).to(memory_format=torch.channels_last)
    macs = count_macs(DemoDetector(widths=widths, res8=args.res8, post8=args.post8))
    params = sum(p.numel() for p in model.parameters())
    log(f"model: widths {widths}, {params} parameters, {macs / 1e6:.1f} MMAC per frame")
    ema = Ema(model)
    decay, no_decay = [], []
    for n_, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.99))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    budget = args.minutes * 60
    start = time.time()
    next_eval = args.eval_every
    step, seen = 0, 0
    curve = []
    acc = {}
    while True:
        frac = (time.time() - start) / budget
        if frac >= 1:
            break
        lr = args.lr * (frac / args.warmup if frac < args.warmup
                        else 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * (frac - args.warmup) / (1 - args.warmup))))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.multinomial(draw, args.batch, replacement=True)
        x = timgs[idx].float().div_(255)
        b, c = ttb[idx], ttc[idx]
        flip = torch.rand(args.batch, device=device) < 0.5
        fb, fc = flip_targets(b, c)
        x = torch.where(flip[:, None, None, None], x.flip(3), x).contiguous(memory_format=torch.channels_last)
        b = torch.where(flip[:, None, None], fb, b)
        c = torch.where(flip[:, None], fc, c)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
            raw = model(x)
        gb, gl = tgb[idx], tgl[idx]
        gb = torch.where(flip[:, None, None], flip_gt(gb), gb)
        b, c = assign(raw, b, c, gb, gl, grid, args.assign)
        loss, parts_ = detection_loss(raw, b, c, grid)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        ema.update(model)
        step += 1
        seen += args.batch
        for k, v in parts_.items():
            acc[k] = acc.get(k, 0.0) + v
        acc["loss"] = acc.get("loss", 0.0) + loss.item()
        acc["n"] = acc.get("n", 0) + 1
        if step % 200 == 0:
            el = time.time() - start
            n = acc.pop("n")
            log(f"step {step} t {el:.0f}s epoch {seen / ntrain:.1f} lr {lr:.2e} {seen / el:.0f} img/s " +
                " ".join(f"{k} {v / n:.4f}" for k, v in acc.items()))
            acc = {}
        if time.time() - start >= next_eval:
            next_eval += args.eval_every
            vl, vr = validate(ema.model, vimgs, vtb, vtc, vgb, vgl, vrecs, grid, device, [args.threshold], args.assign)
            # A checkpoint at every validation: a run cut off at its time limit still returns weights.
            torch.save({"model": {k: v.detach().float().cpu() for k, v in ema.model.state_dict().items()},
                        "widths": widths, "res8": args.res8, "post8": args.post8}, out / "model.pt")
            d = vr[f"{args.threshold:.2f}"]["day_pedestrian_h40"]
            pc = vr[f"{args.threshold:.2f}"]["per_class_all"]
            curve.append({"t": time.time() - start, "step": step, "epoch": seen / ntrain, "val_loss": vl,
                          "day_ped_h40": d, "recall_all": {k: v["recall"] for k, v in pc.items()}})
            log(f"val t {time.time() - start:.0f}s step {step}: loss {vl:.4f} day-ped>=40 P {d['precision']} "
                f"R {d['recall']} n {d['gt']}; recall all " +
                " ".join(f"{k} {v['recall'] and round(v['recall'], 3)}" for k, v in pc.items()))

    train_time = time.time() - start
    log(f"trained {step} steps, {seen} images ({seen / ntrain:.1f} epochs) in {train_time:.0f} s")
    thresholds = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6]
    vl, vr = validate(ema.model, vimgs, vtb, vtc, vgb, vgl, vrecs, grid, device, thresholds, args.assign)
    for t, r in vr.items():
        d = r["day_pedestrian_h40"]
        log(f"final val thr {t}: day-ped>=40 P {d['precision']} R {d['recall']} n {d['gt']}; " +
            " ".join(f"{k} P {v['precision'] and round(v['precision'], 3)} R {v['recall'] and round(v['recall'], 3)}"
                     for k, v in r["per_class_all"].items()))

    ema.model.float().cpu()
    torch.save({"model": ema.model.state_dict(), "widths": widths, "res8": args.res8, "post8": args.post8}, out / "model.pt")
    export_info = None
    try:
        import export

        fused = export.export(ema.model, out / "detector.onnx")
        export_info = export.check(ema.model, fused, out / "detector.onnx")
        (out / "export.json").write_text(json.dumps(export_info, indent=1) + "\n")
        log(f"export: ops {export_info['ops']} max abs diff {export_info['ort_vs_torch_max_abs_diff']:.2e}")
    except Exception as e:  # the checkpoint is saved; export can be redone on the CPU machine
        log(f"export failed: {e!r}")
    metrics = {
        "device": card, "torch": torch.__version__, "args": vars(args),
        "train_seeds": train_seeds, "val_seeds": val_seeds,
        "train_images": ntrain, "val_images": len(vrecs), "data_seconds": t_data,
        "train_seconds": train_time, "steps": step, "images_seen": seen, "epochs": seen / ntrain,
        "params": params, "macs": macs, "curve": curve, "final_val_loss": vl, "final_val": vr,
        "train_conditions": cond, "train_objects": dict(zip(CLASSES, nobj.tolist())),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    log("done")


if __name__ == "__main__":
    main()
