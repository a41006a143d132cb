//! Scanline rasteriser with a colour buffer, an instance-id buffer and a depth buffer.
//!
//! Every shape is a set of polygon contours filled with the even-odd rule at pixel
//! centres. The same span routine fills the colour frame and the per-actor coverage
//! masks, always in global image coordinates, so an actor rendered alone covers
//! exactly the pixels it would cover in the full scene minus what nearer shapes hide.
//! This is what makes the occlusion labels exact.

/// A point in image coordinates (pixels, y down).
pub type P = (f32, f32);

/// Integer clip rectangle, half-open: [x0, x1) x [y0, y1).
#[derive(Clone, Copy, Debug)]
pub struct Rect {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

/// Fill `contours` (even-odd) and call `emit(y, xa, xb)` for each covered span [xa, xb).
pub fn spans(
    contours: &[Vec<P>],
    clip: Rect,
    xs: &mut Vec<f32>,
    mut emit: impl FnMut(i32, i32, i32),
) {
    let mut ymin = f32::INFINITY;
    let mut ymax = f32::NEG_INFINITY;
    for c in contours {
        for &(x, y) in c {
            if !x.is_finite() || !y.is_finite() {
                return;
            }
            ymin = ymin.min(y);
            ymax = ymax.max(y);
        }
    }
    if ymin > ymax {
        return;
    }
    let y0 = ((ymin - 0.5).ceil().max(clip.y0 as f32 - 1.0) as i32).max(clip.y0);
    let y1 = ((ymax - 0.5).ceil().min(clip.y1 as f32 + 1.0) as i32).min(clip.y1);
    for y in y0..y1 {
        let yc = y as f32 + 0.5;
        xs.clear();
        for c in contours {
            let n = c.len();
            if n < 3 {
                continue;
            }
            let mut a = c[n - 1];
            for &b in c {
                if (a.1 <= yc) != (b.1 <= yc) {
                    let t = (yc - a.1) / (b.1 - a.1);
                    xs.push(a.0 + t * (b.0 - a.0));
                }
                a = b;
            }
        }
        if xs.len() < 2 {
            continue;
        }
        xs.sort_unstable_by(f32::total_cmp);
        for pair in xs.chunks_exact(2) {
            let xa = (pair[0] - 0.5).ceil().clamp(clip.x0 as f32, clip.x1 as f32) as i32;
            let xb = (pair[1] - 0.5).ceil().clamp(clip.x0 as f32, clip.x1 as f32) as i32;
            if xa < xb {
                emit(y, xa, xb);
            }
        }
    }
}

/// How a shape is coloured: a vertical gradient over the shape's own height.
#[derive(Clone, Copy, Debug)]
pub struct Paint {
    pub top: [f32; 3],
    pub bottom: [f32; 3],
    /// Emissive paint (lamps, lit windows) ignores the scene lighting.
    pub emissive: bool,
}

impl Paint {
    pub fn solid(c: [f32; 3]) -> Self {
        Self {
            top: c,
            bottom: c,
            emissive: false,
        }
    }
    pub fn grad(top: [f32; 3], bottom: [f32; 3]) -> Self {
        Self {
            top,
            bottom,
            emissive: false,
        }
    }
    pub fn glow(c: [f32; 3]) -> Self {
        Self {
            top: c,
            bottom: c,
            emissive: true,
        }
    }
}

/// A light source seen by the camera (head/tail lights, street lamps): its halo is
/// added to the colour by the post-effects, never to the mask.
#[derive(Clone, Copy, Debug)]
pub struct Glow {
    pub x: f32,
    pub y: f32,
    pub radius: f32,
    pub colour: [f32; 3],
    /// Depth of the light; a nearer surface at its centre pixel hides the halo.
    pub depth: f32,
}

/// Where shapes go: the colour frame, or one actor's coverage mask.
pub trait Surface {
    fn fill(&mut self, contours: &[Vec<P>], paint: Paint);
    fn glow(&mut self, _g: Glow) {}
    /// Whether colour details are wanted (masks skip purely decorative work).
    fn wants_detail(&self) -> bool {
        true
    }
}

/// The scene's colour frame plus id and depth buffers.
pub struct Canvas {
    pub w: usize,
    pub h: usize,
    pub rgb: Vec<f32>,
    pub id: Vec<u32>,
    pub depth: Vec<f32>,
    pub glows: Vec<Glow>,
    /// Id, depth and light multiplier applied to what is filled now.
    pub cur_id: u32,
    pub cur_depth: f32,
    pub cur_light: [f32; 3],
    xs: Vec<f32>,
}

impl Canvas {
    pub fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            rgb: vec![0.0; w * h * 3],
            id: vec![0; w * h],
            depth: vec![f32::INFINITY; w * h],
            glows: Vec::new(),
            cur_id: 0,
            cur_depth: f32::INFINITY,
            cur_light: [1.0; 3],
            xs: Vec::new(),
        }
    }

    pub fn clip(&self) -> Rect {
        Rect {
            x0: 0,
            y0: 0,
            x1: self.w as i32,
            y1: self.h as i32,
        }
    }

    pub fn set_object(&mut self, id: u32, depth: f32, light: [f32; 3]) {
        self.cur_id = id;
        self.cur_depth = depth;
        self.cur_light = light;
    }
}

impl Surface for Canvas {
    fn fill(&mut self, contours: &[Vec<P>], paint: Paint) {
        let mut ymin = f32::INFINITY;
        let mut ymax = f32::NEG_INFINITY;
        for c in contours {
            for p in c {
                ymin = ymin.min(p.1);
                ymax = ymax.max(p.1);
            }
        }
        let span = (ymax - ymin).max(1e-3);
        let light = if paint.emissive {
            [1.0; 3]
        } else {
            self.cur_light
        };
        let clip = self.clip();
        let mut xs = std::mem::take(&mut self.xs);
        let (w, id, depth) = (self.w, self.cur_id, self.cur_depth);
        let rgb = &mut self.rgb;
        let ids = &mut self.id;
        let depths = &mut self.depth;
        spans(contours, clip, &mut xs, |y, xa, xb| {
            let t = ((y as f32 + 0.5 - ymin) / span).clamp(0.0, 1.0);
            let mut c = [0.0f32; 3];
            for k in 0..3 {
                c[k] = (paint.top[k] + (paint.bottom[k] - paint.top[k]) * t) * light[k];
            }
            let row = y as usize * w;
            for x in xa as usize..xb as usize {
                let i = row + x;
                rgb[i * 3] = c[0];
                rgb[i * 3 + 1] = c[1];
                rgb[i * 3 + 2] = c[2];
                ids[i] = id;
                depths[i] = depth;
            }
        });
        self.xs = xs;
    }

    fn glow(&mut self, mut g: Glow) {
        g.depth = self.cur_depth;
        self.glows.push(g);
    }
}

/// Coverage of one actor drawn alone, over a window that may extend past the image.
pub struct Mask {
    pub rect: Rect,
    pub bits: Vec<bool>,
    xs: Vec<f32>,
}

impl Mask {
    pub fn new(rect: Rect) -> Self {
        let n = ((rect.x1 - rect.x0).max(0) as usize) * ((rect.y1 - rect.y0).max(0) as usize);
        Self {
            rect,
            bits: vec![false; n],
            xs: Vec::new(),
        }
    }

    /// (pixels in total, pixels inside `image`, tight box [x0, y0, x1, y1] inclusive).
    pub fn count(&self, image: Rect) -> (u64, u64, Option<[i32; 4]>) {
        let w = (self.rect.x1 - self.rect.x0) as usize;
        let mut total = 0u64;
        let mut inside = 0u64;
        let mut bb: Option<[i32; 4]> = None;
        for (i, &b) in self.bits.iter().enumerate() {
            if !b {
                continue;
            }
            let x = self.rect.x0 + (i % w) as i32;
            let y = self.rect.y0 + (i / w) as i32;
            total += 1;
            if x >= image.x0 && x < image.x1 && y >= image.y0 && y < image.y1 {
                inside += 1;
            }
            bb = Some(match bb {
                None => [x, y, x, y],
                Some([a, b2, c, d]) => [a.min(x), b2.min(y), c.max(x), d.max(y)],
            });
        }
        (total, inside, bb)
    }
}

impl Surface for Mask {
    fn fill(&mut self, contours: &[Vec<P>], _paint: Paint) {
        let rect = self.rect;
        let w = (rect.x1 - rect.x0) as usize;
        let mut xs = std::mem::take(&mut self.xs);
        let bits = &mut self.bits;
        spans(contours, rect, &mut xs, |y, xa, xb| {
            let row = (y - rect.y0) as usize * w;
            for x in xa..xb {
                bits[row + (x - rect.x0) as usize] = true;
            }
        });
        self.xs = xs;
    }
}

/// Records the extent of everything drawn (first pass of the alone-render).
pub struct Extent {
    pub b: [f32; 4],
}

impl Extent {
    pub fn new() -> Self {
        Self {
            b: [
                f32::INFINITY,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY,
            ],
        }
    }
}

impl Default for Extent {
    fn default() -> Self {
        Self::new()
    }
}

impl Surface for Extent {
    fn fill(&mut self, contours: &[Vec<P>], _paint: Paint) {
        for c in contours {
            for &(x, y) in c {
                if x.is_finite() && y.is_finite() {
                    self.b[0] = self.b[0].min(x);
                    self.b[1] = self.b[1].min(y);
                    self.b[2] = self.b[2].max(x);
                    self.b[3] = self.b[3].max(y);
                }
            }
        }
    }
}

/// Polygon of an axis-aligned ellipse with `n` vertices.
pub fn ellipse(cx: f32, cy: f32, rx: f32, ry: f32, n: usize) -> Vec<P> {
    (0..n)
        .map(|i| {
            let a = core::f32::consts::TAU * i as f32 / n as f32;
            (cx + rx * libm::cosf(a), cy + ry * libm::sinf(a))
        })
        .collect()
}

/// Vertex count for a round shape of radius `r` pixels: enough to look round, no more.
pub fn round_n(r: f32) -> usize {
    ((r * 1.5) as usize).clamp(8, 32)
}

/// A limb: a tapered capsule from `a` (radius `ra`) to `b` (radius `rb`).
pub fn capsule(a: P, b: P, ra: f32, rb: f32) -> Vec<P> {
    let dx = b.0 - a.0;
    let dy = b.1 - a.1;
    let len = libm::sqrtf(dx * dx + dy * dy);
    let (ux, uy) = if len > 1e-4 {
        (dx / len, dy / len)
    } else {
        (0.0, 1.0)
    };
    let base = libm::atan2f(uy, ux);
    let n = round_n(ra.max(rb)).min(16) / 2 + 2;
    let mut pts = Vec::with_capacity(2 * n + 2);
    for i in 0..=n {
        let a2 = base - core::f32::consts::FRAC_PI_2 + core::f32::consts::PI * i as f32 / n as f32;
        pts.push((b.0 + rb * libm::cosf(a2), b.1 + rb * libm::sinf(a2)));
    }
    for i in 0..=n {
        let a2 = base + core::f32::consts::FRAC_PI_2 + core::f32::consts::PI * i as f32 / n as f32;
        pts.push((a.0 + ra * libm::cosf(a2), a.1 + ra * libm::sinf(a2)));
    }
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_covers_its_pixel_centres() {
        let mut c = Canvas::new(10, 10);
        c.set_object(3, 1.0, [1.0; 3]);
        c.fill(
            &[vec![(2.0, 2.0), (5.0, 2.0), (5.0, 4.0), (2.0, 4.0)]],
            Paint::solid([1.0; 3]),
        );
        let n = c.id.iter().filter(|&&v| v == 3).count();
        assert_eq!(n, 6);
        assert_eq!(c.id[2 * 10 + 2], 3);
        assert_eq!(c.id[4 * 10 + 2], 0);
    }

    #[test]
    fn mask_and_canvas_agree_under_offset() {
        let shape = vec![ellipse(4.3, 5.1, 7.7, 3.2, 20)];
        let mut c = Canvas::new(12, 12);
        c.set_object(1, 1.0, [1.0; 3]);
        c.fill(&shape, Paint::solid([1.0; 3]));
        let mut m = Mask::new(Rect {
            x0: -10,
            y0: -3,
            x1: 20,
            y1: 15,
        });
        m.fill(&shape, Paint::solid([1.0; 3]));
        let (total, inside, _) = m.count(c.clip());
        assert_eq!(inside as usize, c.id.iter().filter(|&&v| v == 1).count());
        assert!(total > inside);
    }
}
