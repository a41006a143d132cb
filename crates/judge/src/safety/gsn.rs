//! The safety case as a GSN argument (`safety-case/gsn.yaml`), in the YAML dialect of
//! gsn2x: a mapping from element id to `{text, supportedBy, inContextOf, undeveloped, url}`,
//! the element type given by the id's prefix (G goal, S strategy, Sn solution, C context,
//! A assumption, J justification) or by `nodeType`. adasval adds two fields: `requirement`
//! on a goal (the requirement id whose verdict decides it) and `evidence` on a solution
//! (artefact paths in the run directory). Goals are marked supported, failed or undeveloped
//! from the verdicts and rendered to SVG by the report crate (`gsn_svg::render_svg`).

use super::verdict::{Evaluation, Verdict};
use super::yaml::{self, YamlLocation};
use super::{Requirements, SafetyError};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GsnKind {
    Goal,
    Strategy,
    Solution,
    Context,
    Assumption,
    Justification,
}

impl GsnKind {
    /// Type from an id prefix (longest prefix first: `Sn` before `S`).
    pub fn from_id(id: &str) -> Option<Self> {
        [
            ("Sn", Self::Solution),
            ("G", Self::Goal),
            ("S", Self::Strategy),
            ("C", Self::Context),
            ("A", Self::Assumption),
            ("J", Self::Justification),
        ]
        .into_iter()
        .find(|(p, _)| id.starts_with(p))
        .map(|(_, k)| k)
    }

    fn from_node_type(t: &str) -> Option<Self> {
        Some(match t {
            "Goal" => Self::Goal,
            "Strategy" => Self::Strategy,
            "Solution" => Self::Solution,
            "Context" => Self::Context,
            "Assumption" => Self::Assumption,
            "Justification" => Self::Justification,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Goal => "goal",
            Self::Strategy => "strategy",
            Self::Solution => "solution",
            Self::Context => "context",
            Self::Assumption => "assumption",
            Self::Justification => "justification",
        }
    }

    fn supports(self) -> bool {
        matches!(self, Self::Goal | Self::Strategy | Self::Solution)
    }
    fn contextual(self) -> bool {
        matches!(self, Self::Context | Self::Assumption | Self::Justification)
    }
}

/// How well an element of the argument is supported by the run's verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalStatus {
    Supported,
    Undeveloped,
    Failed,
}

impl GoalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Supported => "supported",
            Self::Undeveloped => "undeveloped",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GsnNode {
    pub id: String,
    pub kind: GsnKind,
    pub text: String,
    pub supported_by: Vec<String>,
    pub in_context_of: Vec<String>,
    pub undeveloped: bool,
    pub url: Option<String>,
    pub requirement: Option<String>,
    pub evidence: Vec<String>,
    /// Line of the element in its file.
    pub line: u64,
}

/// A checked GSN argument; nodes in file order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gsn {
    pub file: PathBuf,
    pub nodes: Vec<GsnNode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    text: String,
    #[serde(default, rename = "supportedBy")]
    supported_by: Vec<String>,
    #[serde(default, rename = "inContextOf")]
    in_context_of: Vec<String>,
    #[serde(default)]
    undeveloped: bool,
    #[serde(default)]
    url: Option<String>,
    // Accepted for gsn2x compatibility; they only affect gsn2x's own rendering.
    #[serde(default)]
    #[allow(dead_code)]
    classes: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    level: Option<String>,
    #[serde(default, rename = "nodeType")]
    node_type: Option<String>,
    #[serde(default)]
    requirement: Option<String>,
    #[serde(default)]
    evidence: Vec<String>,
}

impl Gsn {
    pub fn load(path: &Path) -> Result<Self, SafetyError> {
        let text = std::fs::read_to_string(path).map_err(|source| SafetyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parse and check links: unknown ids, wrong element types, cycles.
    pub fn parse(file: &Path, text: &str) -> Result<Self, SafetyError> {
        let raw: BTreeMap<String, Spanned<RawNode>> =
            yaml::parse(file, text).map_err(|(at, message)| SafetyError::Yaml { at, message })?;
        let invalid = |line: u64, field: &str, message: String| SafetyError::Invalid {
            at: YamlLocation {
                file: file.to_path_buf(),
                line,
                column: 1,
                field: Some(field.to_string()),
            },
            message,
        };
        let mut nodes = Vec::with_capacity(raw.len());
        for (id, node) in raw {
            // Spanned points at the element's first field; report the line of its id.
            let line = id_line(text, &id).unwrap_or(node.referenced.line());
            let n = node.value;
            let kind = match &n.node_type {
                Some(t) => GsnKind::from_node_type(t).ok_or_else(|| {
                    invalid(line, "nodeType", format!("{id}: unknown nodeType `{t}`"))
                })?,
                None => GsnKind::from_id(&id).ok_or_else(|| {
                    invalid(
                        line,
                        "id",
                        format!("{id}: id must start with G, S, Sn, C, A or J (or give nodeType)"),
                    )
                })?,
            };
            if n.undeveloped && !n.supported_by.is_empty() {
                return Err(invalid(
                    line,
                    "undeveloped",
                    format!("{id}: `undeveloped` and `supportedBy` exclude each other"),
                ));
            }
            if n.undeveloped && !matches!(kind, GsnKind::Goal | GsnKind::Strategy) {
                return Err(invalid(
                    line,
                    "undeveloped",
                    format!("{id}: only goals and strategies can be undeveloped"),
                ));
            }
            if !matches!(kind, GsnKind::Goal | GsnKind::Strategy) {
                if !n.supported_by.is_empty() {
                    return Err(invalid(
                        line,
                        "supportedBy",
                        format!(
                            "{id}: a {} cannot be supported by other elements",
                            kind.as_str()
                        ),
                    ));
                }
                if !n.in_context_of.is_empty() {
                    return Err(invalid(
                        line,
                        "inContextOf",
                        format!("{id}: a {} cannot have context", kind.as_str()),
                    ));
                }
            }
            if n.requirement.is_some() && kind != GsnKind::Goal {
                return Err(invalid(
                    line,
                    "requirement",
                    format!("{id}: only goals link to requirements"),
                ));
            }
            if !n.evidence.is_empty() && kind != GsnKind::Solution {
                return Err(invalid(
                    line,
                    "evidence",
                    format!("{id}: only solutions link to evidence"),
                ));
            }
            nodes.push(GsnNode {
                id,
                kind,
                text: n.text.trim().to_string(),
                supported_by: n.supported_by,
                in_context_of: n.in_context_of,
                undeveloped: n.undeveloped,
                url: n.url,
                requirement: n.requirement,
                evidence: n.evidence,
                line,
            });
        }
        nodes.sort_by_key(|n| n.line);
        let gsn = Self {
            file: file.to_path_buf(),
            nodes,
        };
        gsn.check_links()?;
        Ok(gsn)
    }

    pub fn node(&self, id: &str) -> Option<&GsnNode> {
        self.nodes.iter().find(|n| n.id == id)
    }

    fn link_error(&self, message: String) -> SafetyError {
        SafetyError::GsnLink {
            file: self.file.clone(),
            message,
        }
    }

    fn check_links(&self) -> Result<(), SafetyError> {
        let kinds: HashMap<&str, GsnKind> =
            self.nodes.iter().map(|n| (n.id.as_str(), n.kind)).collect();
        for n in &self.nodes {
            for t in &n.supported_by {
                match kinds.get(t.as_str()) {
                    None => return Err(self.link_error(format!("{} (line {}): supportedBy names unknown element `{t}`", n.id, n.line))),
                    Some(k) if !k.supports() => return Err(self.link_error(format!("{} (line {}): supportedBy `{t}` is a {}, expected a goal, strategy or solution", n.id, n.line, k.as_str()))),
                    _ => {}
                }
            }
            for t in &n.in_context_of {
                match kinds.get(t.as_str()) {
                    None => return Err(self.link_error(format!("{} (line {}): inContextOf names unknown element `{t}`", n.id, n.line))),
                    Some(k) if !k.contextual() => return Err(self.link_error(format!("{} (line {}): inContextOf `{t}` is a {}, expected a context, assumption or justification", n.id, n.line, k.as_str()))),
                    _ => {}
                }
            }
        }
        // Cycle check over supportedBy (depth-first, three colours).
        let index: HashMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let mut colour = vec![0u8; self.nodes.len()];
        let mut stack: Vec<usize> = Vec::new();
        fn dfs(
            g: &Gsn,
            index: &HashMap<&str, usize>,
            colour: &mut [u8],
            stack: &mut Vec<usize>,
            i: usize,
        ) -> Option<Vec<String>> {
            colour[i] = 1;
            stack.push(i);
            for t in &g.nodes[i].supported_by {
                let j = index[t.as_str()];
                if colour[j] == 1 {
                    let start = stack.iter().position(|&k| k == j).unwrap_or(0);
                    let mut cyc: Vec<String> = stack[start..]
                        .iter()
                        .map(|&k| g.nodes[k].id.clone())
                        .collect();
                    cyc.push(g.nodes[j].id.clone());
                    return Some(cyc);
                }
                if colour[j] == 0 {
                    if let Some(c) = dfs(g, index, colour, stack, j) {
                        return Some(c);
                    }
                }
            }
            stack.pop();
            colour[i] = 2;
            None
        }
        for i in 0..self.nodes.len() {
            if colour[i] == 0 {
                if let Some(cyc) = dfs(self, &index, &mut colour, &mut stack, i) {
                    return Err(self.link_error(format!("supportedBy cycle: {}", cyc.join(" → "))));
                }
            }
        }
        if !self.roots().iter().any(|n| n.kind == GsnKind::Goal) {
            return Err(self.link_error(
                "no top-level goal (every goal is supported-by another element)".into(),
            ));
        }
        Ok(())
    }

    /// Elements nobody lists in `supportedBy` or `inContextOf`, in file order.
    pub fn roots(&self) -> Vec<&GsnNode> {
        self.nodes
            .iter()
            .filter(|n| {
                !self
                    .nodes
                    .iter()
                    .any(|m| m.supported_by.contains(&n.id) || m.in_context_of.contains(&n.id))
            })
            .collect()
    }

    /// Check that every `requirement` link names a requirement in `reqs`.
    pub fn check_requirements(&self, reqs: &Requirements) -> Result<(), SafetyError> {
        for n in &self.nodes {
            if let Some(r) = &n.requirement {
                if !reqs.requirements.iter().any(|q| &q.id == r) {
                    return Err(self.link_error(format!(
                        "{} (line {}): requirement `{r}` is not in {}",
                        n.id,
                        n.line,
                        reqs.file.display()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Status of every goal and strategy (solutions count as supported; contextual
    /// elements have none). A goal fails when its requirement did not pass (fail or no
    /// evidence, not applicable under a `fail` policy, or no verdict at all; not applicable
    /// under a `pass` policy leaves it undeveloped) or anything below it failed; it is undeveloped when
    /// marked so, when nothing supports it and it has no requirement, or when something
    /// below it is undeveloped.
    pub fn statuses(&self, eval: &Evaluation) -> BTreeMap<String, GoalStatus> {
        let mut memo: BTreeMap<String, GoalStatus> = BTreeMap::new();
        fn status(
            g: &Gsn,
            eval: &Evaluation,
            id: &str,
            memo: &mut BTreeMap<String, GoalStatus>,
        ) -> GoalStatus {
            if let Some(s) = memo.get(id) {
                return *s;
            }
            let Some(n) = g.node(id) else {
                return GoalStatus::Failed;
            };
            let s = match n.kind {
                GsnKind::Solution => GoalStatus::Supported,
                GsnKind::Goal | GsnKind::Strategy => {
                    let own = n.requirement.as_ref().map(|r| {
                        match eval
                            .requirements
                            .iter()
                            .find(|v| &v.id == r)
                            .map(|v| v.verdict)
                        {
                            Some(Verdict::Pass) => GoalStatus::Supported,
                            // Nothing was shown for a class the engine cannot detect: at
                            // best, under a `pass` policy, the goal is not developed.
                            Some(Verdict::NotApplicable)
                                if eval.requirements.iter().any(|v| &v.id == r && v.accepted()) =>
                            {
                                GoalStatus::Undeveloped
                            }
                            _ => GoalStatus::Failed,
                        }
                    });
                    let mut worst = own.unwrap_or(GoalStatus::Supported);
                    for c in &n.supported_by {
                        worst = worst.max(status(g, eval, c, memo));
                    }
                    if n.undeveloped || (own.is_none() && n.supported_by.is_empty()) {
                        worst = worst.max(GoalStatus::Undeveloped);
                    }
                    worst
                }
                _ => GoalStatus::Supported,
            };
            memo.insert(id.to_string(), s);
            s
        }
        for n in &self.nodes {
            if matches!(
                n.kind,
                GsnKind::Goal | GsnKind::Strategy | GsnKind::Solution
            ) {
                status(self, eval, &n.id, &mut memo);
            }
        }
        memo
    }
}

/// Line (1-based) of the top-level key `id:`.
fn id_line(text: &str, id: &str) -> Option<u64> {
    text.lines()
        .position(|l| {
            l.strip_prefix(id)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|i| i as u64 + 1)
}
