//! `validate --interleave`: the baseline and candidate engines replayed alternately in one
//! session, one block each (A B A B ...), so that whatever the machine does meanwhile
//! (another build, thermal state, a noisy neighbour) falls on both. A block is
//! `--block-repetitions` passes over the scenario's frames (default one, shuffled with its
//! own seed); block k of the
//! baseline and block k of the candidate ran next to each other and form a pair for `diff`.
//!
//! Kept apart from the per-trace loop of `validate`: that loop asks [`replay_scenario`]
//! for both engines' traces of a scenario and records them like any other trace.

use std::sync::atomic::AtomicBool;

use crate::backend::{self, BackendError};
use crate::lock::VerifiedEngine;
use crate::record::{FailureClass, InterleaveBlock};
use crate::replay::{self, TraceResult, TraceSettings};
use crate::scenario::{self, DataRoot, LoadedScenario};
use crate::validate::{trace_settings, ProgressFactory, ValidateError, ValidateRequest};

/// Both engines' traces of one scenario and the blocks as they ran.
pub struct Interleaved {
    /// Per engine (baseline, candidate): the merged trace and its failure class, if any.
    pub traces: Vec<Option<(TraceResult, Option<FailureClass>)>>,
    pub blocks: Vec<InterleaveBlock>,
}

/// `--interleave` needs exactly two engines (baseline first) and a single stream.
pub fn check_request(req: &ValidateRequest, engines: usize) -> Result<(), ValidateError> {
    if engines != 2 {
        return Err(ValidateError::Selection(format!(
            "--interleave replays exactly two engines, baseline first (`--engine BASELINE,CANDIDATE`); {engines} selected"
        )));
    }
    if req.streams.is_some() {
        return Err(ValidateError::Selection(
            "--interleave and --streams cannot be combined".into(),
        ));
    }
    // Bounds end a trace on its own samples; alternating blocks share one schedule.
    if !req.bounds.is_unbounded() {
        return Err(ValidateError::Selection(
            "--interleave cannot be combined with --duration, --min-inferences or --p99-ci-width: the blocks' count comes from --repetitions".into(),
        ));
    }
    Ok(())
}

/// Block k of one engine is paired with block k of the other, so both must replay every
/// scenario equally often: a scenario whose `timing.engine_repetitions` gives the two
/// engines different counts is refused before anything runs, unless `--repetitions` sets one.
pub fn check_scenarios(
    req: &ValidateRequest,
    chosen: &[LoadedScenario],
    engines: &[VerifiedEngine],
) -> Result<(), ValidateError> {
    for ls in chosen {
        let reps: Vec<(&str, u32)> = engines
            .iter()
            .map(|e| {
                let name = e.entry.name.as_str();
                (name, trace_settings(req, ls, name).repetitions)
            })
            .collect();
        if reps.windows(2).any(|w| w[0].1 != w[1].1) {
            return Err(ValidateError::Selection(format!(
                "--interleave pairs the engines' blocks, so both must replay a scenario equally often; scenario `{}` ({}) asks {} (timing.engine_repetitions): pass `--repetitions N`",
                ls.scenario.id,
                ls.path.display(),
                reps.iter()
                    .map(|(e, n)| format!("{n} of {e}"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )));
        }
    }
    Ok(())
}

fn failure(err: &BackendError) -> FailureClass {
    match crate::exit::Classify::status(err) {
        crate::exit::Status::Unavailable => FailureClass::Environment,
        _ => FailureClass::Inference,
    }
}

#[allow(clippy::too_many_arguments)]
pub fn replay_scenario(
    req: &ValidateRequest,
    ls: &LoadedScenario,
    data: &DataRoot,
    engines: &[VerifiedEngine],
    prepared: &[Box<dyn backend::Prepared>],
    progress: &dyn ProgressFactory,
    stop: &AtomicBool,
) -> Result<Interleaved, ValidateError> {
    let s = &ls.scenario;
    // The engines' counts are equal ([`check_scenarios`]); `check_request` refused bounds.
    let settings = trace_settings(req, ls, &engines[0].entry.name);
    let mut frames = Vec::new();
    for e in engines {
        let loaded = scenario::load_frames(ls, &e.adapter.judged_classes(), data, req.max_frames)?;
        frames.push(replay::prepare_frames(&e.adapter, &loaded));
    }
    // Staged for the whole session; the per-trace loop records the staging notes.
    let guards: Vec<_> = prepared
        .iter()
        .zip(&frames)
        .map(|(p, f)| replay::stage(p.as_ref(), f).0)
        .collect();
    let mut sessions = Vec::new();
    for p in prepared {
        match p.session() {
            Ok(sess) => sessions.push(sess),
            Err(err) => {
                let failed = || TraceResult {
                    error: Some(err.to_string()),
                    ..TraceResult::default()
                };
                return Ok(Interleaved {
                    traces: vec![
                        Some((failed(), Some(failure(&err)))),
                        Some((failed(), Some(failure(&err)))),
                    ],
                    blocks: vec![],
                });
            }
        }
    }
    let bars: Vec<_> = engines
        .iter()
        .zip(&frames)
        .map(|(e, f)| {
            progress.start(
                &format!("{} × {} (interleaved)", e.entry.name, s.id),
                f.len() as u64 * settings.repetitions as u64,
            )
        })
        .collect();
    let mut merged: Vec<TraceResult> = vec![TraceResult::default(), TraceResult::default()];
    let mut blocks = Vec::new();
    let per_block = req.block_repetitions.max(1);
    let n_blocks = settings.repetitions.div_ceil(per_block);
    'blocks: for r in 0..n_blocks {
        for k in 0..2 {
            // The full warm-up before an engine's first block; one untimed inference before
            // each later block, so switching engines is not timed.
            let block = TraceSettings {
                repetitions: per_block.min(settings.repetitions - r * per_block),
                warmup: if r == 0 { settings.warmup } else { 1 },
                seed: settings.seed.wrapping_add(r as u64),
                ..settings.clone()
            };
            let res = replay::run_trace(
                sessions[k].as_mut(),
                &engines[k].adapter,
                &frames[k],
                &block,
                req.keep_raw_outputs,
                stop,
                bars[k].as_ref(),
            );
            let m = &mut merged[k];
            blocks.push(InterleaveBlock {
                scenario: s.id.clone(),
                engine: engines[k].entry.name.clone(),
                index: r as usize,
                first_sample: m.samples.len(),
                samples: res.samples.len(),
            });
            if r == 0 {
                m.detections = res.detections;
                m.output_sha256 = res.output_sha256.clone();
                m.raw_outputs = res.raw_outputs;
            } else {
                // A block whose outputs differ from the first block's is a repetition
                // that was not deterministic.
                m.nondeterministic += res
                    .output_sha256
                    .iter()
                    .zip(&m.output_sha256)
                    .filter(|(a, b)| a.is_some() && b.is_some() && a != b)
                    .count() as u32;
            }
            m.nondeterministic += res.nondeterministic;
            m.samples
                .extend(res.samples.into_iter().map(|x| replay::Sample {
                    rep: r * per_block + x.rep,
                    ..x
                }));
            if res.error.is_some() || res.interrupted {
                m.error = res.error;
                m.interrupted = res.interrupted;
                break 'blocks;
            }
        }
    }
    drop(bars);
    drop(guards);
    let traces = merged
        .into_iter()
        .map(|t| {
            let f = if t.interrupted {
                Some(FailureClass::Interrupted)
            } else {
                t.error.as_ref().map(|_| FailureClass::Inference)
            };
            Some((t, f))
        })
        .collect();
    Ok(Interleaved { traces, blocks })
}
