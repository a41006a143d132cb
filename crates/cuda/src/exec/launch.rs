//! Per frame: the launches of one session's steps on its stream (cuDNN calls, generated
//! kernels, device copies), with per-layer events when profiling. Called by
//! `Engine::compute` (eager, or once under capture into the session's CUDA graph) and by
//! the trial run at session start, which also finds where cuDNN refuses fused bias+ReLU.

use cudarc::driver::PushKernelArg;

use crate::dnn::ConvCall;
use crate::gpu::{CallExt, GpuError};
use crate::kernels::{launch, launch_direct};

use super::steps::Step;
use super::Engine;

impl Engine {
    pub(super) fn run_layers(&mut self, probe: bool, profile: bool) -> Result<(), GpuError> {
        for i in 0..self.steps.len() {
            if profile {
                self.layer_events[i]
                    .0
                    .record(&self.stream)
                    .call("cuEventRecord")?;
            }
            let r = self.run_step(i);
            match r {
                Err(e) if probe && self.is_fused_conv(i) => {
                    if let Step::Conv(c) = &mut self.steps[i] {
                        c.fused = false;
                    }
                    self.unfused.push(format!("{}: {e}", self.meta[i].name));
                    self.run_step(i)
                }
                r => r,
            }
            .map_err(|e| GpuError::Call {
                call: format!("layer `{}` ({})", self.meta[i].name, self.meta[i].kind),
                message: e.to_string(),
            })?;
            if profile {
                self.layer_events[i]
                    .1
                    .record(&self.stream)
                    .call("cuEventRecord")?;
            }
        }
        Ok(())
    }

    fn is_fused_conv(&self, i: usize) -> bool {
        matches!(&self.steps[i], Step::Conv(c) if c.fused)
    }

    fn run_step(&self, i: usize) -> Result<(), GpuError> {
        let k = &self.shared.kernels;
        let stream = &self.stream;
        match &self.steps[i] {
            Step::Conv(c) => {
                let call = ConvCall {
                    handle: &self.dnn,
                    d: &c.d,
                    algo: c.algo,
                    x: c.x,
                    w: c.w,
                    y: c.y,
                    // The fused call adds a residual before its ReLU (never after).
                    z: if c.res_mode == 1 { c.res } else { 0 },
                    workspace: self.workspace.ptr,
                    workspace_bytes: self.workspace.bytes,
                };
                if c.fused {
                    // SAFETY: descriptors match the buffers' shapes (checked at prepare).
                    unsafe { call.forward(Some((c.bias.unwrap_or(0), &c.act))) }
                        .call("cudnnConvolutionBiasActivationForward")?;
                } else {
                    // SAFETY: as above.
                    unsafe { call.forward(None) }.call("cudnnConvolutionForward")?;
                    if c.bias.is_some() || c.act_kind != 0 || c.res_mode != 0 {
                        let (y, b, n, hw, ch, kind) = (
                            c.y,
                            c.bias.unwrap_or(0),
                            c.n_out as i64,
                            c.hw,
                            c.channels,
                            c.act_kind,
                        );
                        let (r, mode) = (c.res, c.res_mode);
                        launch!(stream, k, bias_act, n; &y, &b, &r, &n, &hw, &ch, &kind, &mode);
                    }
                }
            }
            Step::Direct(d) => {
                launch_direct(stream, &d.f, d.cfg, d.x, d.w, d.bias, d.res, d.y, &d.args)?;
            }
            Step::Elementwise { f, args } => {
                let mut b = stream.launch_builder(f);
                b.arg(args);
                // SAFETY: `EwArgs` is the generated kernel's only parameter; its pointers
                // are arena tensors of the shapes the kernel was generated for.
                unsafe { b.launch(k.config(args.n as usize)) }
                    .call("cuLaunchKernel(elementwise chain)")?;
            }
            Step::Act { kind, x, y, n } => {
                let n64 = *n as i64;
                launch!(stream, k, act, *n; x, y, &n64, kind);
            }
            Step::Binary { op, a, b, y, g } => {
                launch!(stream, k, binary, g.n; a, b, y, g, op);
            }
            Step::Gather { x, y, g } => {
                launch!(stream, k, gather, g.n; x, y, g);
            }
            Step::Concat {
                y, one: Some(p), ..
            } => {
                launch!(stream, k, concat, p.outer * p.inner_out; y, p);
            }
            Step::Concat {
                y,
                parts,
                one: None,
            } => {
                for (x, outer, inner_in, inner_out, off) in parts {
                    launch!(stream, k, concat_part, outer * inner_in; x, y, outer, inner_in, inner_out, off);
                }
            }
            Step::MaxPool { x, y, nc, p, n } => {
                let [h, w, oh, ow, kh, kw, sh, sw, pt, pl] = p;
                launch!(stream, k, maxpool, *n; x, y, nc, h, w, oh, ow, kh, kw, sh, sw, pt, pl);
            }
            Step::Resize { x, y, nc, p, n } => {
                let [h, w, sh, sw] = p;
                launch!(stream, k, resize_nearest, *n; x, y, nc, h, w, sh, sw);
            }
            Step::Copy { src, dst, bytes } => {
                // SAFETY: both ranges inside the arena (checked at prepare).
                unsafe {
                    cudarc::driver::result::memcpy_dtod_async(
                        *dst,
                        *src,
                        *bytes,
                        stream.cu_stream(),
                    )
                }
                .call("cuMemcpyDtoDAsync")?;
            }
            Step::Nop => {}
        }
        Ok(())
    }
}
