//! `ballast commit-push`: commit what changed in a checkout and push it to a branch, for CI jobs
//! that edited files (`set image`, `set value`, `bump image`).
//!
//! A push never loses a commit: a non-fast-forward answer (someone pushed meanwhile) is met by
//! fetching the branch, rebasing the commit onto it and pushing again, a bounded number of
//! times; never by force (the retry rule is `ballast_source::push_retrying`, shared with the
//! image automation's pushes). A rebase that conflicts is undone and reported. Nothing is committed
//! or pushed when nothing changed (exit 3).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use ballast_source::{PushAttempt, PushRetryError};
use clap::Args;
use serde_json::json;

use super::image_edit::{NOTHING_TO_DO, OutputArgs};

/// `commit-push`.
#[derive(Debug, Args)]
pub struct CommitPushArgs {
    /// The Git checkout holding the changes.
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Branch to push to (created when missing).
    #[arg(long)]
    pub branch: String,
    /// Commit message.
    #[arg(short, long)]
    pub message: String,
    /// Remote name.
    #[arg(long, default_value = "origin")]
    pub remote: String,
    /// Author name (default: git's configuration).
    #[arg(long)]
    pub author_name: Option<String>,
    /// Author e-mail (default: git's configuration).
    #[arg(long)]
    pub author_email: Option<String>,
    /// Only these paths are committed (default: every change).
    #[arg(long = "add", value_name = "PATH")]
    pub paths: Vec<String>,
    /// Push attempts before giving up (each after a rebase onto the remote branch).
    #[arg(long, default_value_t = 5)]
    pub attempts: u32,
    #[command(flatten)]
    pub output: OutputArgs,
}

struct Git<'a> {
    dir: &'a Path,
    identity: Vec<String>,
}

impl Git<'_> {
    fn run(&self, args: &[&str]) -> Result<std::process::Output> {
        Command::new("git")
            .arg("-C")
            .arg(self.dir)
            .args(self.identity.iter().flat_map(|i| ["-c", i.as_str()]))
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .with_context(|| format!("running git {}", args.first().unwrap_or(&"")))
    }

    /// Runs git; an error carries git's message (URLs' credentials removed).
    fn ok(&self, args: &[&str]) -> Result<String> {
        let out = self.run(args)?;
        if !out.status.success() {
            bail!(
                "git {}: {}",
                args.first().unwrap_or(&""),
                redact(String::from_utf8_lossy(&out.stderr).trim())
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// Removes `user:password@` from URLs in git's messages.
fn redact(text: &str) -> String {
    text.split_whitespace()
        .map(ballast_source::redact_url)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `commit-push`.
pub fn run(a: &CommitPushArgs) -> Result<u8> {
    let mut identity = Vec::new();
    if let Some(n) = &a.author_name {
        identity.push(format!("user.name={n}"));
    }
    if let Some(e) = &a.author_email {
        identity.push(format!("user.email={e}"));
    }
    let git = Git { dir: &a.repo, identity };
    git.ok(&["rev-parse", "--git-dir"])
        .with_context(|| format!("{} is not a Git checkout", a.repo.display()))?;
    let mut add = vec!["add", "--all", "--"];
    add.extend(a.paths.iter().map(String::as_str));
    git.ok(&add)?;
    let staged = git.run(&["diff", "--cached", "--quiet"])?;
    if staged.status.success() {
        return report(a, None, 0);
    }
    git.ok(&["commit", "--quiet", "--no-verify", "-m", &a.message])?;
    let refspec = format!("HEAD:refs/heads/{}", a.branch);
    let attempts = a.attempts.clamp(1, 50) as usize;
    let outcome = ballast_source::push_retrying(attempts, |attempt| {
        if attempt > 0 {
            // Someone pushed meanwhile: replay our commit on top of theirs.
            if let Err(e) = catch_up(&git, a) {
                return PushAttempt::Failed(e);
            }
        }
        let push = match git.run(&["push", "--porcelain", &a.remote, &refspec]) {
            Ok(p) => p,
            Err(e) => return PushAttempt::Failed(e),
        };
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&push.stdout),
            String::from_utf8_lossy(&push.stderr)
        );
        if push.status.success() {
            PushAttempt::Pushed(())
        } else if ballast_source::is_push_rejected(&said) {
            PushAttempt::Rejected(said)
        } else {
            PushAttempt::Failed(anyhow::anyhow!(
                "push to {} {} failed after {} attempt(s): {}",
                a.remote,
                a.branch,
                attempt + 1,
                redact(said.trim())
            ))
        }
    });
    match outcome {
        Ok(((), made)) => {
            let commit = git.ok(&["rev-parse", "HEAD"])?;
            report(a, Some(commit), (made - 1) as u32)
        }
        Err(PushRetryError::Failed(e)) => Err(e),
        Err(PushRetryError::Retries { attempts, message }) => bail!(
            "push to {} {} failed after {attempts} attempt(s): {}",
            a.remote,
            a.branch,
            redact(message.trim())
        ),
    }
}

/// Fetches the branch and rebases the commit onto it; a conflicting rebase is undone.
fn catch_up(git: &Git<'_>, a: &CommitPushArgs) -> Result<()> {
    git.ok(&["fetch", "--quiet", &a.remote, &a.branch])?;
    let rebase = git.run(&["rebase", "--quiet", "FETCH_HEAD"])?;
    if !rebase.status.success() {
        let _ = git.run(&["rebase", "--abort"]);
        bail!(
            "the branch {} changed the same lines meanwhile: the rebase conflicts; nothing was pushed \
             (the commit is kept locally; re-run the edit on the new head)",
            a.branch
        );
    }
    Ok(())
}

fn report(a: &CommitPushArgs, commit: Option<String>, rebases: u32) -> Result<u8> {
    if a.output.output == "json" {
        println!(
            "{}",
            json!({"changed": commit.is_some(), "commit": commit, "branch": a.branch, "rebases": rebases})
        );
    } else {
        match &commit {
            Some(c) => println!("✔ pushed {c} to {} {}", a.remote, a.branch),
            None => println!("◎ nothing to commit"),
        }
    }
    Ok(if commit.is_some() { 0 } else { NOTHING_TO_DO })
}
