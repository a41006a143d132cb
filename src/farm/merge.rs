//! `adasval merge`: many shard run directories → one run directory per platform. Each
//! shard's seal is verified, the shards must belong together (same work list, lock,
//! requirements and adasval version; within a platform the same shard count, strategy and
//! replay settings), and on each platform every work item must have run exactly once (or,
//! with `--pool-units`, once per unit, pooled after a homogeneity test: `pool`). Shards of
//! one platform give one run directory at `--out`; shards of several give one run
//! directory per platform under it, indexed by a top-level `farm.json`.
//! The merged raw records (`run.json`, `latencies.csv`, `detections.jsonl`,
//! `golden.jsonl`) are then judged by `validate::judge`, the one path to a verdict, and
//! sealed; each shard's manifest, `shard.json` and `run.json` are kept under `shards/` with
//! `farm.json` saying which board ran which item.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::shard::WorkList;
use super::{pool, FarmError, ShardRecord, SHARD_FILE, WORKLIST_FILE};
use crate::evidence::{self, keys::Trust, MANIFEST_NAME, SIGNATURE_NAME};
use crate::record::{read_run, GoldenLine, RunRecord, TraceRecord};
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
    /// The platforms expected (empty: every platform the shards ran on); a shard of another
    /// is refused.
    pub platforms: Vec<String>,
    /// Pool the samples of several units of one platform that ran the same items, after a
    /// Kruskal–Wallis test at level `homogeneity_alpha` finds no difference.
    pub pool_units: bool,
    pub homogeneity_alpha: f64,
}

/// One shard as read for the merge.
pub struct Shard {
    pub dir: PathBuf,
    pub record: ShardRecord,
    pub run: RunRecord,
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

/// The top-level `farm.json` of a merge of several platforms: one run directory each.
#[derive(Serialize)]
struct PlatformsIndex<'a> {
    schema_version: u32,
    kind: &'static str,
    work_list_sha256: &'a str,
    work_list_items: usize,
    lock_sha256: &'a str,
    requirements_sha256: &'a Option<String>,
    adasval_version: &'a str,
    platforms: Vec<PlatformEntry>,
}

#[derive(Serialize)]
struct PlatformEntry {
    platform: String,
    /// Relative to the bundle.
    run_dir: String,
    shards: usize,
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
    /// Every unit that contributed samples (several only with `--pool-units`).
    units: Vec<crate::units::TraceUnit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pooling: Option<&'a crate::units::PoolTest>,
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

/// Every field that must agree across all shards, as (name, value) of one shard.
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
    ]
}

/// Every field that must agree across the shards of one platform.
fn platform_identity(r: &ShardRecord) -> Vec<(&'static str, String)> {
    vec![
        ("shard count N", r.shard.count.to_string()),
        ("strategy", r.strategy.clone()),
        (
            "plan_sha256",
            r.plan_sha256.clone().unwrap_or_else(|| "no plan".into()),
        ),
        ("replay_settings", r.replay_settings.to_string()),
    ]
}

fn check_together(
    shards: &[Shard],
    identity: fn(&ShardRecord) -> Vec<(&'static str, String)>,
) -> Result<(), FarmError> {
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

/// Which shards ran each item (one per unit: the first is the one whose detections are
/// kept); missing items, items one unit ran twice, and items several units ran without
/// `pool_units` are exit 1 with the list.
fn check_coverage(
    list: &WorkList,
    shards: &[Shard],
    pool_units: bool,
) -> Result<BTreeMap<String, Vec<usize>>, FarmError> {
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
                owner.insert(id, v.clone());
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
    let dirs = |v: &[usize]| -> String {
        v.iter()
            .map(|&k| shards[k].dir.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut duplicated = Vec::new();
    let mut several_units = Vec::new();
    for (id, v) in ran.iter().filter(|(_, v)| v.len() > 1) {
        let mut units: Vec<_> = v
            .iter()
            .map(|&k| pool::unit_key(&shards[k].record.board))
            .collect();
        units.sort();
        units.dedup();
        if units.len() < v.len() {
            duplicated.push(format!("{id} (in {})", dirs(v)));
        } else if !pool_units {
            let labels: Vec<String> = v
                .iter()
                .map(|&k| {
                    format!(
                        "{} in {}",
                        pool::unit_label(&shards[k].record.board),
                        shards[k].dir.display()
                    )
                })
                .collect();
            several_units.push(format!("{id} ({})", labels.join(", ")));
        }
    }
    duplicated.extend(
        ran.keys()
            .filter(|id| !owner.contains_key(*id))
            .map(|id| format!("{id} (not in the work list)")),
    );
    if !missing.is_empty() || !duplicated.is_empty() || !several_units.is_empty() {
        return Err(FarmError::Coverage {
            platform: shards[0].record.platform.clone(),
            missing,
            duplicated,
            units: several_units,
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

/// Merge the shards into `req.out` (one run directory per platform); judged and sealed
/// unless `req.judge` is off.
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
    check_together(&shards, identity)?;
    if !req.platforms.is_empty() {
        if let Some(s) = shards
            .iter()
            .find(|s| !req.platforms.contains(&s.record.platform))
        {
            return Err(FarmError::Differs {
                field: "platform (the shard ran under a platform profile --platform does not name)"
                    .into(),
                first: format!("{} (--platform)", req.platforms.join(", ")),
                second: format!("{} (shard {})", s.record.platform, s.dir.display()),
            }
            .into());
        }
    }
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
    let header = first.record.clone();

    // Kept apart per platform: each platform's shards are checked and merged on their own.
    let mut by_platform: BTreeMap<String, Vec<Shard>> = BTreeMap::new();
    for s in shards {
        by_platform
            .entry(s.record.platform.clone())
            .or_default()
            .push(s);
    }
    let several = by_platform.len() > 1;
    let mut groups = Vec::new();
    for (platform, group) in &by_platform {
        check_together(group, platform_identity)?;
        let owner = check_coverage(&list, group, req.pool_units)?;
        let pooled = if owner.values().any(|v| v.len() > 1) {
            pool::check_poolable(group)?;
            pool::test_units(&owner, group, req.homogeneity_alpha, platform)?
        } else {
            pool::Pooled::default()
        };
        groups.push((platform, group, owner, pooled));
    }
    let mut index = Vec::new();
    let mut runs = Vec::new();
    for (platform, group, owner, pooled) in &groups {
        let dir = if several {
            let name = crate::names::file_name("", &[("platform", platform.as_str())], "", "")
                .map_err(|e| FarmError::Spec {
                    spec: platform.to_string(),
                    reason: e.to_string(),
                })?;
            let d = out.join(&name);
            std::fs::create_dir(&d).map_err(|e| FarmError::Write {
                path: d.clone(),
                message: e.to_string(),
            })?;
            index.push(PlatformEntry {
                platform: platform.to_string(),
                run_dir: name,
                shards: group.len(),
            });
            d
        } else {
            out.clone()
        };
        write_records(&dir, &list, group, owner, pooled, &req.command_line)?;
        write_farm(&dir, &list, group, owner, pooled)?;
        runs.push((platform.to_string(), dir));
    }
    if several {
        let r = &header;
        super::write_file(
            &out.join("farm.json"),
            serde_json::to_string_pretty(&PlatformsIndex {
                schema_version: 1,
                kind: "platforms",
                work_list_sha256: &r.work_list_sha256,
                work_list_items: list.items.len(),
                lock_sha256: &r.lock_sha256,
                requirements_sha256: &r.requirements_sha256,
                adasval_version: &r.adasval_version,
                platforms: index,
            })
            .unwrap_or_default()
            .as_bytes(),
        )?;
    }
    // Kept only until judged: `judge` below refuses a sealed directory and claims nothing.
    drop(claim);
    let mut platforms = Vec::new();
    for (platform, run_dir) in runs {
        let judged = if req.judge {
            Some(crate::validate::judge(&JudgeRequest {
                run_dir: run_dir.clone(),
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
        platforms.push(PlatformOutcome {
            platform,
            run_dir,
            judged,
        });
    }
    // The bundle of several platforms is sealed as a whole too, so its index is covered.
    if several && req.judge {
        let key = req
            .sign_key
            .as_deref()
            .map(crate::evidence::keys::read_signing_key)
            .transpose()
            .map_err(FarmError::from)?;
        evidence::seal(&out, key.as_ref()).map_err(FarmError::from)?;
    }
    Ok(MergeOutcome {
        out,
        shards: req.shards.len(),
        items: list.items.len(),
        platforms,
    })
}

pub struct MergeOutcome {
    /// The merged run directory (one platform) or the bundle of per-platform ones.
    pub out: PathBuf,
    pub shards: usize,
    pub items: usize,
    /// One merged run per platform, in platform-name order.
    pub platforms: Vec<PlatformOutcome>,
}

pub struct PlatformOutcome {
    pub platform: String,
    pub run_dir: PathBuf,
    /// The judged run (absent with `--no-judge`).
    pub judged: Option<ValidateOutcome>,
}

fn write_records(
    out: &Path,
    list: &WorkList,
    shards: &[Shard],
    owner: &BTreeMap<String, Vec<usize>>,
    pooled: &pool::Pooled,
    command_line: &[String],
) -> Result<(), FarmError> {
    // A pooled item keeps the detections of its first unit only: one line per frame.
    let mut not_kept: BTreeMap<usize, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for (id, ks) in owner {
        for &k in ks.iter().skip(1) {
            not_kept.entry(k).or_default().insert(id.as_str());
        }
    }
    // latencies.csv and detections.jsonl: each shard's rows, shard by shard (each trace's
    // rows stay in acquisition order; readers group rows by trace), streamed to disk so a
    // merge of 10^7 samples never holds them all in memory.
    let mut csv_header: Option<(Vec<u8>, &Path)> = None;
    let mut csv = Streamed::create(&out.join("latencies.csv"))?;
    let mut dets = Streamed::create(&out.join("detections.jsonl"))?;
    let mut golden: BTreeMap<String, (Vec<u8>, &Path)> = BTreeMap::new();
    for (k, s) in shards.iter().enumerate() {
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
        let det_bytes = read_bytes(&s.dir.join("detections.jsonl"))?;
        match not_kept.get(&k) {
            None => dets.write(&det_bytes)?,
            Some(skip) => {
                let dpath = s.dir.join("detections.jsonl");
                for (n, line) in det_bytes.split(|&b| b == b'\n').enumerate() {
                    if line.is_empty() {
                        continue;
                    }
                    let key: ItemKey =
                        serde_json::from_slice(line).map_err(|e| FarmError::Format {
                            path: dpath.clone(),
                            reason: format!("line {}: {e}", n + 1),
                        })?;
                    if !skip.contains(format!("{}/{}", key.engine, key.scenario).as_str()) {
                        dets.write(line)?;
                        dets.write(b"\n")?;
                    }
                }
            }
        }
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

    let record = merged_record(list, shards, owner, pooled, command_line, &scen_order);
    super::write_file(
        &out.join("run.json"),
        serde_json::to_string_pretty(&record)
            .unwrap_or_default()
            .as_bytes(),
    )
}

/// The item a `detections.jsonl` line belongs to.
#[derive(serde::Deserialize)]
struct ItemKey {
    engine: String,
    scenario: String,
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
    owner: &BTreeMap<String, Vec<usize>>,
    pooled: &pool::Pooled,
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
        let Some(ks) = owner.get(&id) else { continue };
        let find = |k: usize| {
            shards[k]
                .run
                .traces
                .iter()
                .find(|t| t.engine == i.engine && t.scenario == i.scenario)
        };
        let k = ks[0];
        let s = &shards[k];
        let Some(t) = find(k) else {
            continue;
        };
        let units: Vec<crate::units::TraceUnit> = ks
            .iter()
            .filter_map(|&k| find(k).map(|t| pool::trace_unit(&shards[k], t.samples)))
            .collect();
        traces.push(if ks.len() > 1 {
            pooled_trace(t, ks.iter().filter_map(|&k| find(k)), ks, &id, pooled)
        } else {
            t.clone()
        });
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
        e["units"] = serde_json::to_value(&units).unwrap_or_default();
        if let Some(p) = pooled.tests.get(&id) {
            e["pooling"] = serde_json::to_value(p).unwrap_or_default();
        }
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

/// One trace from several units' traces of an item: the first unit's record, with the
/// counts of all of them and latency summaries over every unit's samples.
fn pooled_trace<'a>(
    first: &TraceRecord,
    all: impl Iterator<Item = &'a TraceRecord>,
    ks: &[usize],
    id: &str,
    pooled: &pool::Pooled,
) -> TraceRecord {
    let mut t = first.clone();
    let all: Vec<&TraceRecord> = all.collect();
    t.samples = all.iter().map(|x| x.samples).sum();
    t.complete = all.iter().all(|x| x.complete);
    t.deadline_misses = all.iter().map(|x| x.deadline_misses).sum();
    t.nondeterministic_repetitions = all.iter().map(|x| x.nondeterministic_repetitions).sum();
    let rows: Vec<&crate::trace::Sample> = ks
        .iter()
        .flat_map(|&k| pooled.rows_of(k, id).map(|r| &r.sample))
        .collect();
    let stage = |f: fn(&crate::trace::Sample) -> u64| {
        crate::timing::summarize(&rows.iter().map(|s| f(s)).collect::<Vec<_>>())
    };
    t.latency_ns.pre = stage(|s| s.pre_ns);
    t.latency_ns.infer = stage(|s| s.infer_ns);
    t.latency_ns.post = stage(|s| s.post_ns);
    t.latency_ns.total = stage(|s| s.total_ns);
    t
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

fn write_farm(
    out: &Path,
    list: &WorkList,
    shards: &[Shard],
    owner: &BTreeMap<String, Vec<usize>>,
    pooled: &pool::Pooled,
) -> Result<(), FarmError> {
    let kept_root = out.join("shards");
    let mut farm_shards = Vec::new();
    let mut items = BTreeMap::new();
    let mut taken = std::collections::BTreeSet::new();
    for s in shards {
        let spec = s.record.shard;
        let width = spec.count.to_string().len();
        let mut name = format!("{:0width$}-of-{}", spec.index, spec.count);
        // Several units ran the same shard (`--pool-units`): the later ones get `.2`, `.3`.
        let base = name.clone();
        let mut n = 1;
        while !taken.insert(name.clone()) {
            n += 1;
            name = format!("{base}.{n}");
        }
        let kept = kept_root.join(&name);
        let manifest = read_bytes(&s.dir.join(MANIFEST_NAME))?;
        let signed = s.dir.join(SIGNATURE_NAME).exists();
        // The whole shard, seal included, so `evidence verify` still checks it inside the
        // merged bundle; hard links where the file system allows (no second copy).
        link_tree(&s.dir, &kept)?;
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
    for (id, ks) in owner {
        let s = &shards[ks[0]];
        let units = ks
            .iter()
            .filter_map(|&k| {
                let t = shards[k]
                    .run
                    .traces
                    .iter()
                    .find(|t| format!("{}/{}", t.engine, t.scenario) == *id)?;
                Some(pool::trace_unit(&shards[k], t.samples))
            })
            .collect();
        items.insert(
            id.clone(),
            FarmItem {
                shard: s.record.shard.to_string(),
                hostname: &s.record.board.hostname,
                serial: &s.record.board.serial,
                platform: &s.record.platform,
                units,
                pooling: pooled.tests.get(id),
            },
        );
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
