//! Reading responses the way every HTTP test does.

use reqwest::Response;
use serde_json::Value;

/// The status, code and message of a JSON error, asserting its shape.
pub async fn error_of(res: Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        ct.starts_with("application/json"),
        "error content-type was {ct:?}"
    );
    let v: Value = res.json().await.expect("json body");
    let code = v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.code in {v}"))
        .to_owned();
    let message = v["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.message in {v}"))
        .to_owned();
    (status, code, message)
}

/// The cookie `name` set by a response, if any.
pub fn set_cookie(res: &Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}
