//! `adasval merge`: many shard run directories → one run directory. Each shard's seal is
//! verified, the shards must belong together (same work list, lock, requirements, adasval
//! version, platform and replay settings), and every work item must have run exactly once.
//! The merged raw records (`run.json`, `latencies.csv`, `detections.jsonl`,
//! `golden.jsonl`) are then judged by `validate::judge`, the one path to a verdict, and
//! sealed; each shard's manifest, `shard.json` and `run.json` are kept under `shards/` with
//! `farm.json` saying which board ran which item.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::shard::WorkList;
use super::{FarmError, ShardRecord, SHARD_FILE, WORKLIST_FILE};
use crate::evidence::{self, keys::Trust, MANIFEST_NAME, SIGNATURE_NAME};
use crate::record::{read_run, GoldenLine, RunRecord};
use crate::validate::{JudgeRequest, ValidateError, ValidateOutcome};

/// What `merge` needs.
pub struct MergeRequest {
    pub shards: Vec<PathBuf>,
    pub out: PathBuf,
    /// The project whose lock and requirements the merged run is judged with.
    pub root: PathBuf,
    /// Judge and seal the merged run (default); without, leave the raw records for
    /// `adasval judge`.
    pub judge: bool,
    pub require_signature: bool,
    pub requirements: Option<PathBuf>,
    pub waivers: Option<PathBuf>,
    pub gsn: Option<PathBuf>,
    pub sign_key: Option<PathBuf>,
    pub data_root: Option<PathBuf>,
    pub command_line: Vec<String>,
}

/// One shard as read for the merge.
struct Shard {
    dir: PathBuf,
    record: ShardRecord,
    run: RunRecord,
}

/// `farm.json`: where each item of the merged run came from.
#[derive(Serialize)]
struct FarmRecord<'a> {
    schema_version: u32,
    work_list_sha256: &'a str,
    work_list_items: usize,
    lock_sha256: &'a str,
    requirements_sha256: &'a Option<String>,
    adasval_version: &'a str,
    platform: &'a str,
    shards: Vec<FarmShard<'a>>,
    /// Item id → the shard that ran it (`K/N`), its board and its kept files.
    items: BTreeMap<String, FarmItem<'a>>,
}

#[derive(Serialize)]
struct FarmShard<'a> {
    shard: String,
    source_dir: String,
    kept_in: String,
    manifest_sha256: String,
    signed: bool,
    items: usize,
    run_id: &'a str,
    board: &'a super::Board,
}

#[derive(Serialize)]
struct FarmItem<'a> {
    shard: String,
    hostname: &'a str,
    serial: &'a Option<String>,
    platform: &'a str,
}

/// Verify every shard's seal, several at a time (hashing dominates a large merge).
fn verify_all(shards: &[PathBuf], trust: &Trust) -> Result<(), FarmError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(shards.len().max(1));
    let chunk = shards.len().div_ceil(threads).max(1);
    let results: Vec<Result<(), FarmError>> = std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().try_for_each(|d| verify_one(d, trust))))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(FarmError::Read {
                        path: PathBuf::new(),
                        message: "a verification thread panicked".into(),
                    })
                })
            })
            .collect()
    });
    results.into_iter().collect()
}

fn verify_one(dir: &Path, trust: &Trust) -> Result<(), FarmError> {
    let tampered = |problems: Vec<String>| FarmError::Tampered {
        shard: dir.to_path_buf(),
        problems,
    };
    match evidence::verify_with(dir, trust) {
        Ok(report) if report.is_intact() => Ok(()),
        Ok(report) => Err(tampered(report.problems())),
        Err(evidence::EvidenceError::NotSealed { .. }) => Err(tampered(vec![format!(
            "not sealed (no {MANIFEST_NAME}): a shard that died before it finished; re-run it alone with `validate --shard K/N --out NEW_DIR` and merge NEW_DIR instead"
        )])),
        Err(e) => Err(e.into()),
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, FarmError> {
    std::fs::read(path).map_err(|e| FarmError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn load_shard(dir: &Path) -> Result<Shard, FarmError> {
    let p = dir.join(SHARD_FILE);
    if !p.exists() {
        return Err(FarmError::Format {
            path: p,
            reason: "missing: not a shard run directory (made by `adasval validate --shard K/N`)"
                .into(),
        });
    }
    let record: ShardRecord =
        serde_json::from_slice(&read_bytes(&p)?).map_err(|e| FarmError::Format {
            path: p.clone(),
            reason: e.to_string(),
        })?;
    let run = read_run(dir)?;
    Ok(Shard {
        dir: dir.to_path_buf(),
        record,
        run,
    })
}

/// Every field that must agree, as (name, value) of one shard.
fn identity(r: &ShardRecord) -> Vec<(&'static str, String)> {
    vec![
        ("adasval_version", r.adasval_version.clone()),
        ("work_list_sha256", r.work_list_sha256.clone()),
        ("lock_sha256", r.lock_sha256.clone()),
        (
            "requirements_sha256",
            r.requirements_sha256
                .clone()
                .unwrap_or_else(|| "none (no requirements file)".into()),
        ),
        (
            "platform (a merged run holds one platform profile: merge each platform's shards separately)",
            r.platform.clone(),
        ),
        ("shard count N", r.shard.count.to_string()),
        ("strategy", r.strategy.clone()),
        (
            "plan_sha256",
            r.plan_sha256.clone().unwrap_or_else(|| "no plan".into()),
        ),
        ("replay_settings", r.replay_settings.to_string()),
    ]
}

fn check_together(shards: &[Shard]) -> Result<(), FarmError> {
    let first = &shards[0];
    let want = identity(&first.record);
    for s in &shards[1..] {
        for ((field, a), (_, b)) in want.iter().zip(identity(&s.record)) {
            if *a != b {
                return Err(FarmError::Differs {
                    field: field.to_string(),
                    first: format!("{a} (shard {})", first.dir.display()),
                    second: format!("{b} (shard {})", s.dir.display()),
                });
            }
        }
    }
    Ok(())
}

/// Which shards ran each item; missing and duplicated items are exit 1 with the list.
fn check_coverage(list: &WorkList, shards: &[Shard]) -> Result<BTreeMap<String, usize>, FarmError> {
    let mut ran: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (k, s) in shards.iter().enumerate() {
        for t in &s.run.traces {
            ran.entry(format!("{}/{}", t.engine, t.scenario))
                .or_default()
                .push(k);
        }
    }
    let mut missing = Vec::new();
    let mut owner = BTreeMap::new();
    for i in &list.items {
        let id = i.id();
        match ran.get(&id) {
            None => missing.push(format!(
                "{id} (shard {}/{})",
                super::shard::hash_shard(&id, shards[0].record.shard.count),
                shards[0].record.shard.count
            )),
            Some(v) => {
                owner.insert(id, v[0]);
            }
        }
    }
    // A plan assigns items by its own table: name the shard only for hash partitions.
    if shards[0].record.strategy != "hash" {
        for m in &mut missing {
            if let Some(cut) = m.find(" (shard") {
                m.truncate(cut);
            }
        }
    }
    let mut duplicated: Vec<String> = ran
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(id, v)| {
            let dirs: Vec<String> = v
                .iter()
                .map(|&k| shards[k].dir.display().to_string())
                .collect();
            format!("{id} (in {})", dirs.join(", "))
        })
        .collect();
    duplicated.extend(
        ran.keys()
            .filter(|id| !owner.contains_key(*id))
            .map(|id| format!("{id} (not in the work list)")),
    );
    if !missing.is_empty() || !duplicated.is_empty() {
        return Err(FarmError::Coverage {
            missing,
            duplicated,
        });
    }
    Ok(owner)
}

/// A raw record file's header line and body; an absent file is empty.
fn split_header(path: &Path) -> Result<(Vec<u8>, Vec<u8>), FarmError> {
    let bytes = read_bytes(path)?;
    match bytes.iter().position(|&b| b == b'\n') {
        Some(n) => Ok((bytes[..=n].to_vec(), bytes[n + 1..].to_vec())),
        None => Ok((bytes, Vec::new())),
    }
}

/// Merge the shards into `req.out`; judged and sealed unless `req.judge` is off.
pub fn merge(req: &MergeRequest) -> Result<MergeOutcome, ValidateError> {
    if req.shards.is_empty() {
        return Err(FarmError::Spec {
            spec: String::new(),
            reason: "no shard directories given".into(),
        }
        .into());
    }
    let claim = crate::rundir::claim(&req.out)?;
    let out = claim.path().to_path_buf();
    let trust = Trust::project(&req.root)?.require(req.require_signature);
    verify_all(&req.shards, &trust)?;
    let shards: Vec<Shard> = req
        .shards
        .iter()
        .map(|d| load_shard(d))
        .collect::<Result<_, _>>()?;
    check_together(&shards)?;
    let first = &shards[0];
    // The merged run is judged with this project's lock and requirements: they must be
    // the ones the shards ran with.
    if req.judge {
        let lock = super::file_sha256(&crate::lock::LockFile::path(&req.root))?
            .unwrap_or_else(|| "none (no lock)".into());
        if lock != first.record.lock_sha256 {
            return Err(FarmError::Differs {
                field: "lock_sha256".into(),
                first: format!("{} (the shards)", first.record.lock_sha256),
                second: format!("{lock} (the lock under {})", req.root.display()),
            }
            .into());
        }
        let reqs = super::file_sha256(&super::requirements_path(
            &req.root,
            req.requirements.as_deref(),
        ))?;
        if reqs != first.record.requirements_sha256 {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
            return Err(FarmError::Differs {
                field: "requirements_sha256".into(),
                first: format!("{} (the shards)", show(&first.record.requirements_sha256)),
                second: format!("{} (the requirements to judge with)", show(&reqs)),
            }
            .into());
        }
    }
    let wl_path = first.dir.join(WORKLIST_FILE);
    let wl_bytes = read_bytes(&wl_path)?;
    if crate::hash::sha256_hex(&wl_bytes) != first.record.work_list_sha256 {
        return Err(FarmError::Format {
            path: wl_path,
            reason: format!(
                "does not hash to the work_list_sha256 {} of its shard.json",
                first.record.work_list_sha256
            ),
        }
        .into());
    }
    let list = WorkList::parse(&wl_path, &String::from_utf8_lossy(&wl_bytes))?;
    let owner = check_coverage(&list, &shards)?;

    write_records(&out, &list, &shards, &owner, &req.command_line)?;
    write_farm(&out, &list, &shards)?;
    // Kept only until judged: `judge` below refuses a sealed directory and claims nothing.
    drop(claim);
    let judged = if req.judge {
        Some(crate::validate::judge(&JudgeRequest {
            run_dir: out.clone(),
            root: req.root.clone(),
            data_root: req.data_root.clone(),
            requirements: req.requirements.clone(),
            waivers: req.waivers.clone(),
            gsn: req.gsn.clone(),
            sign_key: req.sign_key.clone(),
        })?)
    } else {
        None
    };
    Ok(MergeOutcome {
        run_dir: out,
        shards: shards.len(),
        items: list.items.len(),
        judged,
    })
}

pub struct MergeOutcome {
    pub run_dir: PathBuf,
    pub shards: usize,
    pub items: usize,
    /// The judged run (absent with `--no-judge`).
    pub judged: Option<ValidateOutcome>,
}

fn write_records(
    out: &Path,
    list: &WorkList,
    shards: &[Shard],
    owner: &BTreeMap<String, usize>,
    command_line: &[String],
) -> Result<(), FarmError> {
    // latencies.csv and detections.jsonl: each shard's rows, shard by shard (each trace's
    // rows stay in acquisition order; readers group rows by trace), streamed to disk so a
    // merge of 10^7 samples never holds them all in memory.
    let mut csv_header: Option<(Vec<u8>, &Path)> = None;
    let mut csv = Streamed::create(&out.join("latencies.csv"))?;
    let mut dets = Streamed::create(&out.join("detections.jsonl"))?;
    let mut golden: BTreeMap<String, (Vec<u8>, &Path)> = BTreeMap::new();
    for s in shards {
        let (header, body) = split_header(&s.dir.join("latencies.csv"))?;
        if !body.is_empty() {
            match &csv_header {
                None => {
                    csv.write(&header)?;
                    csv_header = Some((header, &s.dir));
                }
                Some((h, d)) if *h != header => {
                    return Err(FarmError::Differs {
                        field: "latencies.csv header".into(),
                        first: format!("{} ({})", String::from_utf8_lossy(h).trim(), d.display()),
                        second: format!(
                            "{} ({})",
                            String::from_utf8_lossy(&header).trim(),
                            s.dir.display()
                        ),
                    })
                }
                Some(_) => {}
            }
            csv.write(&body)?;
        }
        dets.write(&read_bytes(&s.dir.join("detections.jsonl"))?)?;
        // Golden labels: one set per scenario; shards that share a scenario must agree.
        let gpath = s.dir.join("golden.jsonl");
        let mut per: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for (n, line) in read_bytes(&gpath)?.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let g: GoldenLine = serde_json::from_slice(line).map_err(|e| FarmError::Format {
                path: gpath.clone(),
                reason: format!("line {}: {e}", n + 1),
            })?;
            let buf = per.entry(g.scenario).or_default();
            buf.extend_from_slice(line);
            buf.push(b'\n');
        }
        for (sc, bytes) in per {
            match golden.get(&sc) {
                None => {
                    golden.insert(sc, (bytes, &s.dir));
                }
                Some((b, d)) if *b != bytes => {
                    return Err(FarmError::Differs {
                        field: format!("golden labels of scenario `{sc}`"),
                        first: format!("{} bytes ({})", b.len(), d.display()),
                        second: format!("{} bytes ({})", bytes.len(), s.dir.display()),
                    })
                }
                Some(_) => {}
            }
        }
        copy_outputs(&s.dir, out)?;
    }
    if csv_header.is_none() {
        csv.write(format!("{}\n", crate::record::LATENCIES_HEADER).as_bytes())?;
    }
    csv.finish()?;
    dets.finish()?;
    let mut scen_order: Vec<&str> = Vec::new();
    for i in &list.items {
        if !scen_order.contains(&i.scenario.as_str()) {
            scen_order.push(&i.scenario);
        }
    }
    let mut gold = Vec::new();
    for sc in &scen_order {
        if let Some((b, _)) = golden.get(*sc) {
            gold.extend_from_slice(b);
        }
    }
    super::write_file(&out.join("golden.jsonl"), &gold)?;

    let record = merged_record(list, shards, owner, command_line, &scen_order);
    super::write_file(
        &out.join("run.json"),
        serde_json::to_string_pretty(&record)
            .unwrap_or_default()
            .as_bytes(),
    )
}

/// A large merged file written as it is read: a temporary file in the run directory,
/// synced and renamed into place at the end (as `atomic::write_atomic` does for small ones).
struct Streamed {
    path: PathBuf,
    tmp: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
}

impl Streamed {
    fn create(path: &Path) -> Result<Streamed, FarmError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let file = std::fs::File::create(&tmp).map_err(|e| FarmError::Write {
            path: tmp.clone(),
            message: e.to_string(),
        })?;
        Ok(Streamed {
            path: path.to_path_buf(),
            tmp,
            file: std::io::BufWriter::with_capacity(1 << 20, file),
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), FarmError> {
        use std::io::Write;
        self.file.write_all(bytes).map_err(|e| FarmError::Write {
            path: self.tmp.clone(),
            message: e.to_string(),
        })
    }

    fn finish(self) -> Result<(), FarmError> {
        let err = |e: std::io::Error| FarmError::Write {
            path: self.path.clone(),
            message: e.to_string(),
        };
        let file = self.file.into_inner().map_err(|e| err(e.into_error()))?;
        file.sync_all().map_err(err)?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(err)
    }
}

/// Raw output tensors (`--save-outputs`): one file pair per item, names never collide.
fn copy_outputs(shard: &Path, out: &Path) -> Result<(), FarmError> {
    let src = shard.join("outputs");
    let Ok(entries) = std::fs::read_dir(&src) else {
        return Ok(());
    };
    let dst = out.join("outputs");
    std::fs::create_dir_all(&dst).map_err(|e| FarmError::Write {
        path: dst.clone(),
        message: e.to_string(),
    })?;
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_file()) {
            super::write_file(&dst.join(e.file_name()), &read_bytes(&e.path())?)?;
        }
    }
    Ok(())
}

fn merged_record(
    list: &WorkList,
    shards: &[Shard],
    owner: &BTreeMap<String, usize>,
    command_line: &[String],
    scen_order: &[&str],
) -> RunRecord {
    let first = &shards[0].run;
    let mut rec = first.clone();
    let ids: Vec<&str> = shards.iter().map(|s| s.run.run_id.as_str()).collect();
    rec.run_id = format!(
        "merge-{}-{}",
        first
            .platform
            .name
            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"),
        &crate::hash::sha256_hex(ids.join("\n").as_bytes())[..8]
    );
    rec.complete = shards.iter().all(|s| s.run.complete);
    rec.incomplete_reasons = shards
        .iter()
        .flat_map(|s| {
            s.run
                .incomplete_reasons
                .iter()
                .map(move |r| format!("shard {}: {r}", s.record.shard))
        })
        .collect();
    rec.started_at = shards
        .iter()
        .map(|s| s.run.started_at.clone())
        .min()
        .unwrap_or_default();
    rec.finished_at = shards
        .iter()
        .map(|s| s.run.finished_at.clone())
        .max()
        .unwrap_or_default();
    rec.command_line = command_line.to_vec();
    for s in &shards[1..] {
        for kv in &s.run.backend.settings {
            if !rec.backend.settings.contains(kv) {
                rec.backend.settings.push(kv.clone());
            }
        }
    }
    rec.scenarios = scen_order
        .iter()
        .filter_map(|id| {
            shards
                .iter()
                .find_map(|s| s.run.scenarios.iter().find(|r| r.id == *id))
                .cloned()
        })
        .collect();
    let mut traces = Vec::with_capacity(list.items.len());
    let mut effective = Vec::with_capacity(list.items.len());
    for i in &list.items {
        let id = i.id();
        let Some(&k) = owner.get(&id) else { continue };
        let s = &shards[k];
        let Some(t) = s
            .run
            .traces
            .iter()
            .find(|t| t.engine == i.engine && t.scenario == i.scenario)
        else {
            continue;
        };
        traces.push(t.clone());
        let mut e = s
            .run
            .settings
            .effective
            .get("traces")
            .and_then(|v| v.as_array())
            .and_then(|a| {
                a.iter().find(|x| {
                    x["engine"] == i.engine.as_str() && x["scenario"] == i.scenario.as_str()
                })
            })
            .cloned()
            .unwrap_or_else(|| serde_json::json!({"engine": i.engine, "scenario": i.scenario}));
        // Per-item provenance: which shard and which board ran it.
        e["shard"] = serde_json::json!(s.record.shard.to_string());
        e["board"] = serde_json::to_value(&s.record.board).unwrap_or_default();
        effective.push(e);
    }
    rec.traces = traces;
    if let Some(obj) = rec.settings.effective.as_object_mut() {
        obj.insert("traces".into(), serde_json::Value::Array(effective));
        obj.insert("merged_shards".into(), serde_json::json!(shards.len()));
    }
    if let Some(obj) = rec.settings.requested.as_object_mut() {
        obj.remove("shard");
        obj.remove("out");
    }
    rec
}

/// Copy the tree `src` to `dst`, hard-linking files when possible.
fn link_tree(src: &Path, dst: &Path) -> Result<(), FarmError> {
    let werr = |p: &Path, e: std::io::Error| FarmError::Write {
        path: p.to_path_buf(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dst).map_err(|e| werr(dst, e))?;
    let entries = std::fs::read_dir(src).map_err(|e| FarmError::Read {
        path: src.to_path_buf(),
        message: e.to_string(),
    })?;
    for e in entries.flatten() {
        let (from, to) = (e.path(), dst.join(e.file_name()));
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            link_tree(&from, &to)?;
        } else if kind.is_file() {
            // Never copy onto an existing file: it may be a hard link to the source.
            if to.exists() {
                return Err(werr(&to, std::io::ErrorKind::AlreadyExists.into()));
            }
            if std::fs::hard_link(&from, &to).is_err() {
                std::fs::copy(&from, &to).map_err(|e| werr(&to, e))?;
            }
        }
    }
    Ok(())
}

fn write_farm(out: &Path, list: &WorkList, shards: &[Shard]) -> Result<(), FarmError> {
    let kept_root = out.join("shards");
    let mut farm_shards = Vec::new();
    let mut items = BTreeMap::new();
    for s in shards {
        let spec = s.record.shard;
        let width = spec.count.to_string().len();
        let name = format!("{:0width$}-of-{}", spec.index, spec.count);
        let kept = kept_root.join(&name);
        let manifest = read_bytes(&s.dir.join(MANIFEST_NAME))?;
        let signed = s.dir.join(SIGNATURE_NAME).exists();
        // The whole shard, seal included, so `evidence verify` still checks it inside the
        // merged bundle; hard links where the file system allows (no second copy).
        link_tree(&s.dir, &kept)?;
        for t in &s.run.traces {
            items.insert(
                format!("{}/{}", t.engine, t.scenario),
                FarmItem {
                    shard: spec.to_string(),
                    hostname: &s.record.board.hostname,
                    serial: &s.record.board.serial,
                    platform: &s.record.platform,
                },
            );
        }
        farm_shards.push(FarmShard {
            shard: spec.to_string(),
            source_dir: s.dir.display().to_string(),
            kept_in: format!("shards/{name}"),
            manifest_sha256: crate::hash::sha256_hex(&manifest),
            signed,
            items: s.run.traces.len(),
            run_id: &s.run.run_id,
            board: &s.record.board,
        });
    }
    let r = &shards[0].record;
    let farm = FarmRecord {
        schema_version: 1,
        work_list_sha256: &r.work_list_sha256,
        work_list_items: list.items.len(),
        lock_sha256: &r.lock_sha256,
        requirements_sha256: &r.requirements_sha256,
        adasval_version: &r.adasval_version,
        platform: &r.platform,
        shards: farm_shards,
        items,
    };
    super::write_file(
        &out.join("farm.json"),
        serde_json::to_string_pretty(&farm)
            .unwrap_or_default()
            .as_bytes(),
    )
}
