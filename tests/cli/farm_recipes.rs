//! The farm recipes in `deploy/` (Kubernetes Indexed Job and merge Job, GitHub Actions
//! and GitLab CI matrices) checked offline against their published schemas, with each
//! validator shown to reject a misspelt key, and each scheduler index shown to become the
//! right `--shard K/N` (tests/py/farm_recipes.py; the schema packages are pinned in
//! tests/requirements.txt).

use crate::common;
use common::*;

#[test]
fn farm_recipes_validate_against_their_schemas_and_map_indices_to_shards() {
    let Some(py) = python_with(&["yaml", "kubernetes_validate", "check_jsonschema"]) else {
        return;
    };
    let root = repo_root();
    let (code, o, e) = run(std::process::Command::new(py)
        .arg(root.join("tests/py/farm_recipes.py"))
        .arg(&root));
    assert_eq!(code, 0, "{o}{e}");
}
