//! Per frame: the launches of one session's steps on its stream (cuDNN calls, generated
//! kernels, device copies), with per-layer events when profiling. Called by
//! `Engine::compute` (eager, or once under capture into the session's CUDA graph) and by
//! the trial run at session start, which also finds where cuDNN refuses fused bias+ReLU.

use std::ffi::c_void;

use cudarc::cudnn::result as cr;
use cudarc::driver::PushKernelArg;

use crate::backend::cuda::gpu::{CallExt, GpuError};
use crate::backend::cuda::kernels::{launch, launch_direct};

use super::steps::Step;
use super::{Engine, Ptr};

fn as_ptr(p: Ptr) -> *const c_void {
    p as usize as *const c_void
}

fn as_mut_ptr(p: Ptr) -> *mut c_void {
    p as usize as *mut c_void
}

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
                let one = 1.0f32;
                let zero = 0.0f32;
                let alpha = &one as *const f32 as *const c_void;
                let beta = &zero as *const f32 as *const c_void;
                let ws = as_mut_ptr(self.workspace.ptr);
                if c.fused {
                    // SAFETY: descriptors match the buffers' shapes (checked at prepare);
                    // z aliases y with alpha2 = 0, which cuDNN allows.
                    unsafe {
                        cr::convolution_bias_activation_forward(
                            self.dnn.0,
                            alpha,
                            c.d.x.0,
                            as_ptr(c.x),
                            c.d.w.0,
                            as_ptr(c.w),
                            c.d.conv.0,
                            c.algo,
                            ws,
                            self.workspace.bytes,
                            beta,
                            c.d.y.0,
                            as_ptr(c.y),
                            c.d.bias.0,
                            as_ptr(c.bias.unwrap_or(0)),
                            c.act.0,
                            c.d.y.0,
                            as_mut_ptr(c.y),
                        )
                    }
                    .call("cudnnConvolutionBiasActivationForward")?;
                } else {
                    // SAFETY: as above.
                    unsafe {
                        cr::convolution_forward(
                            self.dnn.0,
                            alpha,
                            c.d.x.0,
                            as_ptr(c.x),
                            c.d.w.0,
                            as_ptr(c.w),
                            c.d.conv.0,
                            c.algo,
                            ws,
                            self.workspace.bytes,
                            beta,
                            c.d.y.0,
                            as_mut_ptr(c.y),
                        )
                    }
                    .call("cudnnConvolutionForward")?;
                    if c.bias.is_some() || c.act_kind != 0 {
                        let (y, b, n, hw, ch, kind) = (
                            c.y,
                            c.bias.unwrap_or(0),
                            c.n_out as i64,
                            c.hw,
                            c.channels,
                            c.act_kind,
                        );
                        launch!(stream, k, bias_act, n; &y, &b, &n, &hw, &ch, &kind);
                    }
                }
            }
            Step::Direct(d) => {
                launch_direct(stream, &d.f, d.cfg, d.x, d.w, d.bias, d.y, &d.args)?;
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
