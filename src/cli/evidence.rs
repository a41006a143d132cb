//! `adasval evidence`: seal, verify and sign evidence bundles (run directories).

use super::{CliResult, Failure};
use adasval::evidence::{self, keys};
use adasval::exit::Status;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Re-hash a sealed directory against its MANIFEST.sha256; exit 3 naming every changed,
    /// missing or extra file (and a missing or bad signature when --public-key is given).
    Verify(VerifyArgs),
    /// Seal a directory: write MANIFEST.sha256 (and MANIFEST.sha256.sig with --sign-key).
    /// Nothing may be written into the directory afterwards.
    Seal(SealArgs),
    /// Generate an Ed25519 key pair: FILE (secret, mode 0600) and FILE.pub (public).
    Keygen(KeygenArgs),
}

#[derive(clap::Args, Debug)]
struct VerifyArgs {
    /// The sealed directory.
    dir: PathBuf,
    /// Public key file (`adasval-ed25519-public-key-v1`); when given, the signature must
    /// be present and valid. Default: the project's trusted keys
    /// (safety-case/trusted-keys/*.pub under --project-root), which a signature present
    /// must verify with.
    #[arg(long, value_name = "FILE")]
    public_key: Option<PathBuf>,
    /// Project whose trusted keys to use when no --public-key is given.
    // `--root` like every other command; `--project-root` is the older spelling.
    #[arg(
        long = "root",
        alias = "project-root",
        value_name = "DIR",
        default_value = "."
    )]
    project_root: PathBuf,
    /// Fail (exit 3) when the bundle is unsigned or its signature cannot be checked.
    #[arg(long)]
    require_signature: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(clap::Args, Debug)]
struct SealArgs {
    /// The directory to seal.
    dir: PathBuf,
    /// Secret key file (`adasval-ed25519-secret-key-v1`) to sign the manifest with.
    #[arg(long, value_name = "FILE")]
    sign_key: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct KeygenArgs {
    /// Where to write the secret key; the public key goes to FILE.pub. Existing files are
    /// never overwritten.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

pub fn run(args: Args) -> CliResult {
    match args.command {
        Command::Verify(a) => verify(a),
        Command::Seal(a) => seal(a),
        Command::Keygen(a) => keygen(a),
    }
}

fn verify(a: VerifyArgs) -> CliResult {
    let trust = match &a.public_key {
        Some(p) => keys::Trust::key_file(p),
        None => keys::Trust::project(&a.project_root),
    }
    .map_err(Failure::classified)?
    .require(a.require_signature);
    let report = evidence::verify_with(&a.dir, &trust).map_err(Failure::classified)?;
    if let Some(w) = report.signature.warning() {
        eprintln!("warning: {w}");
    }
    match a.format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(Failure::bad_input)?
        ),
        Format::Text => {
            for p in report.problems() {
                outln!("{p}");
            }
            let sig = match &report.signature {
                evidence::SignatureCheck::Valid { signer } => {
                    format!("signature valid, signed by `{signer}`")
                }
                evidence::SignatureCheck::NotChecked { present: true } => {
                    "signature present, NOT CHECKED (no trusted key)".into()
                }
                evidence::SignatureCheck::NotChecked { present: false } => "UNSIGNED".into(),
                evidence::SignatureCheck::Missing => "signature MISSING".into(),
                evidence::SignatureCheck::Invalid { .. } => "signature INVALID".into(),
            };
            outln!(
                "{}: {} ({} files checked, {})",
                a.dir.display(),
                if report.is_intact() {
                    "intact"
                } else {
                    "TAMPERED"
                },
                report.checked,
                sig
            );
        }
    }
    Ok(if report.is_intact() {
        Status::Pass
    } else {
        Status::Integrity
    })
}

fn seal(a: SealArgs) -> CliResult {
    let key = match &a.sign_key {
        Some(p) => Some(keys::read_signing_key(p).map_err(Failure::classified)?),
        None => None,
    };
    let r = evidence::seal(&a.dir, key.as_ref()).map_err(Failure::classified)?;
    outln!(
        "sealed {}: {} files, manifest sha256 {}{}",
        a.dir.display(),
        r.files,
        r.manifest_sha256,
        if r.signed { ", signed" } else { "" }
    );
    Ok(Status::Pass)
}

fn keygen(a: KeygenArgs) -> CliResult {
    let mut pub_path = a.out.clone().into_os_string();
    pub_path.push(".pub");
    let pub_path = PathBuf::from(pub_path);
    if pub_path.exists() {
        return Err(Failure::bad_input(anyhow::anyhow!(
            "{} exists; refusing to overwrite",
            pub_path.display()
        )));
    }
    let key = keys::generate_signing_key().map_err(Failure::unavailable)?;
    keys::write_secret_key(&a.out, &key).map_err(Failure::classified)?;
    evidence::write_atomic(
        &pub_path,
        keys::public_key_text(&key.verifying_key()).as_bytes(),
    )
    .map_err(Failure::classified)?;
    outln!(
        "secret key: {} (keep private)\npublic key: {}",
        a.out.display(),
        pub_path.display()
    );
    Ok(Status::Pass)
}
