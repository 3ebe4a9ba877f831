//! The access matrix: every page, server function and plain HTTP route, taken from the router
//! itself so that a new one cannot be forgotten, called as every kind of caller. Each cell must
//! match the policy written in `common/endpoints.rs`.

use crate::common::endpoints::{
    Callers, EVERYONE, Paths, Who, concrete, dispute_post, endpoint, objects,
};
use crate::common::spawn_app;

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Refused,
}

/// Server functions: 401/403/404 refuse; anything else below 500 means the call got through
/// (a 400 for the harmless arguments still proves the caller was let in).
fn function_outcome(status: u16) -> Outcome {
    assert!(
        status < 500,
        "a server error ({status}) is never a policy answer"
    );
    if matches!(status, 401 | 403 | 404) {
        Outcome::Refused
    } else {
        Outcome::Allowed
    }
}

/// Pages: 200 shows the page; a redirect to sign-in, 403 or 404 refuses it.
fn page_outcome(response: &reqwest::Response) -> Outcome {
    let status = response.status().as_u16();
    match status {
        200 => Outcome::Allowed,
        // Sign-in stands for "refused"; the home page sends staff on to their own start page (and
        // a manager without a second factor to setting one up).
        302 | 303 | 307 => {
            let location = response.headers()["location"].to_str().unwrap_or_default();
            if location.ends_with("/sign-in") {
                Outcome::Refused
            } else {
                // A manager without a second factor starts on setting one up.
                assert!(
                    matches!(location, "/admin" | "/profile/two-factor"),
                    "unexpected redirect to {location}"
                );
                Outcome::Allowed
            }
        }
        403 | 404 => Outcome::Refused,
        other => panic!("page answered {other}"),
    }
}

#[tokio::test]
async fn every_endpoint_answers_every_kind_of_caller_as_its_policy_says() {
    let app = spawn_app().await;
    let objects = objects(&app).await;
    let callers = Callers::new(&app).await;
    let paths = Paths::of_router();
    let Paths {
        functions,
        probes,
        documents,
        form_posts: dispute_posts,
        ..
    } = &paths;
    assert!(
        functions.len() >= 10 && paths.pages.len() >= 8,
        "the router lists its endpoints"
    );

    let mut mismatches = Vec::new();
    let mut cells = 0;
    for path in paths.all() {
        let Some((rule, body)) = endpoint(path, &objects) else {
            mismatches.push(format!("{path}: no policy written for this endpoint"));
            continue;
        };
        for who in EVERYONE {
            // Signing out ends the session, so it gets one of its own.
            let own_session;
            let cookie = if path == "/api/sign-out" && who != Who::Anonymous {
                own_session = Callers::new(&app).await;
                own_session.cookie(who)
            } else {
                callers.cookie(who)
            };
            let outcome = if dispute_posts.contains(path) {
                function_outcome(dispute_post(&app, path, &body, &objects, cookie).await)
            } else if functions.contains(path) {
                function_outcome(app.invoke(path, &body, cookie).await.status().as_u16())
            } else if documents.contains(path) {
                let url = format!("{}?{body}", concrete(path, &objects));
                function_outcome(app.page(&url, cookie).await.status().as_u16())
            } else if probes.contains(path) {
                function_outcome(
                    app.client
                        .get(app.url(path))
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16(),
                )
            } else {
                page_outcome(&app.page(&concrete(path, &objects), cookie).await)
            };
            let expected = if rule.allows(who) {
                Outcome::Allowed
            } else {
                Outcome::Refused
            };
            cells += 1;
            if outcome != expected {
                mismatches.push(format!(
                    "{path} as {who:?}: expected {expected:?}, got {outcome:?}"
                ));
            }
        }
    }
    // Webhooks carry no session: whoever calls, an unsigned request is refused and changes nothing.
    for (path, _) in server::http::webhook_routes() {
        for who in EVERYONE {
            cells += 1;
            let status = app.invoke(path, "{}", callers.cookie(who)).await.status();
            if status != 400 {
                mismatches.push(format!("{path} as {who:?}: unsigned answered {status}"));
            }
        }
    }
    // The ERP API authenticates by API key only: a browser session, whoever's, is not one.
    for (path, _) in server::api::routes() {
        if path.ends_with("openapi.json") {
            continue;
        }
        for who in EVERYONE {
            cells += 1;
            // Reads are GETs (a listing, or one object by id); the rest take a JSON body.
            let concrete = path.replace("{id}", "1");
            let mut request = if path.ends_with("payments") || path.contains("{id}") {
                app.client.get(app.url(&concrete))
            } else {
                app.client.post(app.url(&concrete)).body("{}")
            };
            if let Some(cookie) = callers.cookie(who) {
                request = request.header("cookie", cookie);
            }
            let status = request.send().await.unwrap().status();
            if status != 401 {
                mismatches.push(format!(
                    "{path} as {who:?}: without a key answered {status}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {cells} cells differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[tokio::test]
async fn a_refused_server_function_answers_with_a_status_and_a_reason() {
    let app = spawn_app().await;
    let anonymous = app.invoke("/api/admin/customers", "", None).await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!("SignInRequired")
    );
    let payer = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let forbidden = app.invoke("/api/admin/customers", "", Some(&payer)).await;
    assert_eq!(forbidden.status(), 403);
    let body: serde_json::Value = forbidden.json().await.unwrap();
    assert_eq!(body["Forbidden"], "Only AR staff can do that.");
    let malformed = app
        .invoke("/api/admin/contacts", "customer_id=seven", Some(&payer))
        .await;
    assert_eq!(malformed.status(), 400);
}
