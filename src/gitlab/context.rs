//! The GitLab CI job as perfgate sees it: [`Context`], built from the predefined `CI_*` variables
//! and the token variable that the caller passes in (this module never reads the environment,
//! which is how the tests point it anywhere).
//!
//! The one rule it keeps: the token is held in a [`Token`], whose `Debug` prints `<redacted>`, and
//! no error names its value.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _};

use crate::rest::Token;

/// The variables a token is read from, first set wins. GitLab's `CI_JOB_TOKEN` cannot write
/// notes, so the token is a project or group access token the user stores as a CI/CD variable.
pub const TOKEN_VARS: [&str; 2] = ["PERFGATE_GITLAB_TOKEN", "GITLAB_TOKEN"];

/// What perfgate knows of the GitLab CI job.
#[derive(Clone, Debug)]
pub struct Context {
    /// `CI_API_V4_URL` without a trailing slash (`https://gitlab.com/api/v4`, a self-managed
    /// instance's, or a test server's).
    pub api_url: String,
    /// `CI_PROJECT_ID`: the project's numeric id.
    pub project_id: u64,
    /// `CI_MERGE_REQUEST_IID`: the merge request's number within the project (`!12`); set only in
    /// a merge-request pipeline.
    pub mr_iid: Option<u64>,
    pub(super) token: Option<Token>,
}

impl Context {
    /// `vars` holds `CI_API_V4_URL`, `CI_PROJECT_ID`, `CI_MERGE_REQUEST_IID` and the token
    /// variables ([`TOKEN_VARS`]) as set. An empty variable counts as unset (a masked variable
    /// that is not shared with the pipeline arrives empty). Errors name the variable, never the
    /// token's value.
    pub fn from_vars(vars: &BTreeMap<String, String>) -> anyhow::Result<Context> {
        let var = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());

        let token = TOKEN_VARS
            .iter()
            .find_map(|name| Some((name, var(name)?)))
            .map(|(name, t)| Token::from_var(name, t))
            .transpose()?;

        let api_url = var("CI_API_V4_URL")
            .context("CI_API_V4_URL is not set (GitLab sets it in every job)")?
            .trim_end_matches('/')
            .to_owned();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://"))
            || api_url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            bail!("CI_API_V4_URL `{api_url}` is not an http(s) URL");
        }
        let number = |name: &str| -> anyhow::Result<Option<u64>> {
            var(name)
                .map(|v| match v.parse::<u64>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => bail!("{name} `{v}` is not a positive whole number"),
                })
                .transpose()
        };
        let project_id = number("CI_PROJECT_ID")?
            .context("CI_PROJECT_ID is not set (GitLab sets it in every job)")?;
        Ok(Context {
            api_url,
            project_id,
            mr_iid: number("CI_MERGE_REQUEST_IID")?,
            token,
        })
    }

    /// True in a merge-request pipeline: `CI_MERGE_REQUEST_IID` is set.
    pub fn is_merge_request(&self) -> bool {
        self.mr_iid.is_some()
    }

    /// True when a non-empty token variable was given.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "glpat-unitTestTokenValue0123";

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_merge_request_pipeline() {
        let ctx = Context::from_vars(&vars(&[
            ("CI_API_V4_URL", "https://gitlab.example.com/api/v4/"),
            ("CI_PROJECT_ID", "278964"),
            ("CI_MERGE_REQUEST_IID", "12"),
            ("GITLAB_TOKEN", "glpat-second"),
            ("PERFGATE_GITLAB_TOKEN", TOKEN),
        ]))
        .unwrap();
        assert_eq!(ctx.api_url, "https://gitlab.example.com/api/v4");
        assert_eq!((ctx.project_id, ctx.mr_iid), (278_964, Some(12)));
        assert!(ctx.is_merge_request() && ctx.has_token());
        assert_eq!(ctx.token.as_ref().map(|t| t.0.as_str()), Some(TOKEN));
        assert!(!format!("{ctx:?}").contains(TOKEN));
    }

    #[test]
    fn a_branch_pipeline_has_no_merge_request_and_gitlab_token_is_the_fallback() {
        let ctx = Context::from_vars(&vars(&[
            ("CI_API_V4_URL", "https://gitlab.com/api/v4"),
            ("CI_PROJECT_ID", "7"),
            ("CI_MERGE_REQUEST_IID", ""),
            ("PERFGATE_GITLAB_TOKEN", " "),
            ("GITLAB_TOKEN", TOKEN),
        ]))
        .unwrap();
        assert!(!ctx.is_merge_request());
        assert_eq!(ctx.token.as_ref().map(|t| t.0.as_str()), Some(TOKEN));
    }

    #[test]
    fn bad_variables_are_named_and_the_token_never() {
        let base = [
            ("CI_API_V4_URL", "https://gitlab.com/api/v4"),
            ("CI_PROJECT_ID", "7"),
        ];
        let err = |extra: &[(&str, &str)], drop: &str| {
            let mut v = vars(&base);
            v.remove(drop);
            v.extend(vars(extra));
            format!("{:#}", Context::from_vars(&v).unwrap_err())
        };
        assert_eq!(
            err(&[], "CI_PROJECT_ID"),
            "CI_PROJECT_ID is not set (GitLab sets it in every job)"
        );
        assert_eq!(
            err(&[("CI_PROJECT_ID", "group/app")], ""),
            "CI_PROJECT_ID `group/app` is not a positive whole number"
        );
        assert_eq!(
            err(&[("CI_MERGE_REQUEST_IID", "-1")], ""),
            "CI_MERGE_REQUEST_IID `-1` is not a positive whole number"
        );
        assert_eq!(
            err(&[("CI_API_V4_URL", "gitlab.com/api/v4")], ""),
            "CI_API_V4_URL `gitlab.com/api/v4` is not an http(s) URL"
        );
        let bad = err(&[("GITLAB_TOKEN", "glpat-a b\u{7}")], "");
        assert_eq!(
            bad,
            "GITLAB_TOKEN holds characters a token cannot have (spaces or control characters)"
        );
    }
}
