//! Settings: language for everyone; for administrators the database (location,
//! backup, restore), the local REST gateway and the prediction cache.

use crate::i18n::{error_text, lang, t, tf, tr, units, Language, Units};
use crate::session::Auth;
use crate::widgets::TextInput;
use cardiorisk_contract::{
    command, CacheStats, CommandError, ErrorCode, GatewayStatus, RestoreSecretArgs, Role,
    SetGatewayArgs, TokenArgs, DEFAULT_GATEWAY_PORT,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let admin = auth
        .session
        .get_untracked()
        .map(|s| s.user.role == Role::Admin)
        .unwrap_or(false);
    view! {
        <section class="card" aria-labelledby="general-title">
            <h1 id="general-title">{tr("general")}</h1>
            <div class="field compact">
                <label for="settings-language"><span class="label">{tr("language")}</span></label>
                <select id="settings-language" prop:value=move || lang().as_str()
                    on:change=move |ev| crate::choose_language(Language::parse(&event_target_value(&ev)).unwrap_or_default())>
                    <option value="en">"English"</option>
                    <option value="es">"Español"</option>
                </select>
            </div>
            <div class="field compact wide">
                <label for="settings-units"><span class="label">{tr("units-of-the-measurements")}</span></label>
                <select id="settings-units" prop:value=move || units().as_str()
                    on:change=move |ev| crate::choose_units(Units::parse(&event_target_value(&ev)).unwrap_or_default())>
                    <option value="original">{tr("as-in-the-original-data-g")}</option>
                    <option value="conventional">{tr("conventional-mg-dl-mmhg")}</option>
                </select>
            </div>
            <p class="meta">{tr("applies-to-the-form-the-what")}</p>
        </section>
        {admin.then(|| view! { <Database/> <Gateway/> })}
        <Support/>
    }
}

/// Where the support log is, and the bundle a support person asks for.
#[component]
fn Support() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let location = RwSignal::new(None::<String>);
    let outcome = RwSignal::new(None::<Result<Option<String>, CommandError>>);
    let args = TokenArgs {
        token: auth.token(),
    };
    spawn_local(async move {
        if let Ok(path) = auth.call::<command::SupportLogLocation>(args).await {
            location.set(Some(path));
        }
    });
    let export = move |_| {
        let args = TokenArgs {
            token: auth.token(),
        };
        spawn_local(async move {
            let result = auth.call::<command::ExportSupportBundle>(args).await;
            outcome.set(Some(result));
        });
    };
    view! {
        <section class="card" aria-labelledby="support-title">
            <h2 id="support-title">{tr("support")}</h2>
            <p class="meta" id="support-log-location">{move || format!("{} {}", t("support-log-at"), location.get().unwrap_or_default())}</p>
            <div class="row">
                <button id="support-export" class="secondary" on:click=export>{tr("export-support-bundle")}</button>
            </div>
            <p class="meta">{tr("support-bundle-holds")}</p>
            {move || outcome.get().map(|r| match r {
                Ok(Some(path)) => view! { <p class="ok" id="support-outcome">{format!("{} {path}", t("saved-to"))}</p> }.into_any(),
                Ok(None) => view! { <p class="meta" id="support-outcome">{tr("export-cancelled")}</p> }.into_any(),
                Err(e) => view! { <p class="alert" id="support-outcome" role="alert">{error_text(&e)}</p> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn Database() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let location = RwSignal::new(None::<String>);
    let outcome = RwSignal::new(None::<Result<String, CommandError>>);
    let args = TokenArgs {
        token: auth.token(),
    };
    spawn_local(async move {
        if let Ok(path) = auth.call::<command::DataLocation>(args).await {
            location.set(Some(path));
        }
    });
    // A backup sealed by another installation: its password or recovery key, asked here.
    let asking = RwSignal::new(false);
    let run = move |restore: bool, done: &'static str| {
        let args = TokenArgs {
            token: auth.token(),
        };
        spawn_local(async move {
            let answer = if restore {
                auth.call::<command::Restore>(args).await
            } else {
                auth.call::<command::Backup>(args).await
            };
            asking.set(matches!(&answer, Err(e) if e.code == ErrorCode::BackupFromElsewhere));
            match answer {
                Ok(Some(path)) => {
                    outcome.set(Some(Ok(format!("{} {path}", t(done)))));
                    if restore {
                        signed_out_after_restore(auth);
                    }
                }
                Ok(None) => outcome.set(None),
                Err(e) => {
                    outcome.set(Some(Err(e)));
                }
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="db-title">
            <h2 id="db-title">{tr("database")}</h2>
            <p class="meta" id="db-location">{move || format!("{} {}", t("stored-at"), location.get().unwrap_or_default())}</p>
            <div class="row">
                <button id="db-backup" class="secondary" on:click=move |_| run(false, "backup-saved-to")>
                    {tr("back-up")}</button>
                <button id="db-restore" class="secondary" on:click=move |_| run(true, "restored-from")>
                    {tr("restore-from-a-backup")}</button>
            </div>
            <p class="meta">{tr("a-backup-is-a-consistent-copy")}</p>
            {move || asking.get().then(|| view! { <RestoreSecret asking=asking outcome=outcome/> })}
            {move || outcome.get().filter(|_| !asking.get()).map(|r| match r {
                Ok(text) => view! { <p class="ok" id="db-outcome">{text}</p> }.into_any(),
                Err(e) => view! { <p class="alert" id="db-outcome" role="alert">{error_text(&e)}</p> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn Gateway() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let status = RwSignal::new(None::<GatewayStatus>);
    let port = RwSignal::new(DEFAULT_GATEWAY_PORT.to_string());
    let error = RwSignal::new(None::<String>);
    let cache = RwSignal::new(None::<CacheStats>);

    let load = move || {
        let token = auth.token();
        spawn_local(async move {
            let args = TokenArgs { token };
            match auth.call::<command::GatewayStatus>(args.clone()).await {
                Ok(s) => {
                    port.set(s.port.to_string());
                    status.set(Some(s));
                }
                Err(e) => {
                    error.set(Some(error_text(&e)));
                }
            }
            if let Ok(c) = auth.call::<command::CacheStats>(args).await {
                cache.set(Some(c));
            }
        });
    };
    load();

    let switch = move |enabled: bool| {
        let Ok(p) = port.get_untracked().trim().parse::<u16>() else {
            error.set(Some(t("port-must-be-a-whole-number").into()));
            return;
        };
        let args = SetGatewayArgs {
            token: auth.token(),
            enabled,
            port: p,
        };
        spawn_local(async move {
            match auth.call::<command::SetGateway>(args).await {
                Ok(s) => {
                    error.set(None);
                    status.set(Some(s));
                }
                Err(e) => {
                    error.set(Some(error_text(&e)));
                }
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="gateway-title">
            <h2 id="gateway-title">{tr("local-rest-gateway")}</h2>
            <p class="meta">{tr("lets-other-programs-of-the-clinic")}
                <code>"http://127.0.0.1:PORT/external/api/riesgocardiaco"</code>
                {tr("it-listens-on-this-computer-only")}</p>
            <div class="row">
                <div class="field compact">
                    <label for="gateway-port"><span class="label">{tr("port")}</span></label>
                    <input id="gateway-port" type="text" inputmode="numeric"
                        prop:value=move || port.get()
                        on:input=move |ev| port.set(event_target_value(&ev))/>
                </div>
                {move || {
                    let on = status.get().map(|s| s.enabled).unwrap_or(false);
                    if on {
                        view! { <button id="gateway-toggle" class="primary" on:click=move |_| switch(false)>{tr("turn-off")}</button> }.into_any()
                    } else {
                        view! { <button id="gateway-toggle" class="primary" on:click=move |_| switch(true)>{tr("turn-on")}</button> }.into_any()
                    }
                }}
            </div>
            <p id="gateway-state">{move || match status.get() {
                None => t("loading").to_string(),
                Some(GatewayStatus { listening: Some(addr), .. }) => format!("{} {addr}.", t("on-listening-on")),
                Some(GatewayStatus { enabled: true, error: Some(e), .. }) => format!("{} {e}", t("on-but-not-listening")),
                Some(_) => t("off").to_string(),
            }}</p>
            {move || error.get().map(|e| view! { <p class="alert" id="gateway-error" role="alert">{e}</p> })}
        </section>
        <section class="card" aria-labelledby="cache-title">
            <h2 id="cache-title">{tr("prediction-cache")}</h2>
            <p id="cache-stats">{move || cache.get().map(|c| tf("cache-figures", &[
                ("hits", &c.hits.to_string()),
                ("misses", &c.misses.to_string()),
                ("entries", &c.entries.to_string()),
            ])).unwrap_or_else(|| t("loading").into())}</p>
        </section>
    }
}

/// Restoring ends every session: sign in again on the restored data.
fn signed_out_after_restore(auth: Auth) {
    auth.notice
        .set(Some(t("the-database-was-restored-sign-in").into()));
    auth.session.set(None);
}

/// The secret that opens a backup another installation sealed: the password of an
/// account in it (with its username) or, without a username, its recovery key. The
/// backup itself is the one just chosen; the backend kept its path.
#[component]
fn RestoreSecret(
    asking: RwSignal<bool>,
    outcome: RwSignal<Option<Result<String, CommandError>>>,
) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let username = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let errors = RwSignal::new(None::<CommandError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = username.get_untracked();
        let args = RestoreSecretArgs {
            token: auth.token(),
            username: (!name.trim().is_empty()).then(|| name.trim().to_string()),
            secret: secret.get_untracked(),
        };
        spawn_local(async move {
            match auth.call::<command::RestoreWithSecret>(args).await {
                Ok(path) => {
                    secret.set(String::new());
                    asking.set(false);
                    outcome.set(path.map(|p| Ok(format!("{} {p}", t("restored-from")))));
                    signed_out_after_restore(auth);
                }
                Err(e) => errors.set(Some(e)),
            }
        });
    };
    view! {
        <form class="subcard" id="restore-secret-form" on:submit=submit>
            <p role="alert">{tr("error-backup-from-elsewhere")}</p>
            <TextInput id="restore-username" label="account-in-that-backup" value=username field="username" errors=errors/>
            <TextInput id="restore-secret" label="its-password-or-the-recovery-key" kind="password" value=secret field="secret" errors=errors/>
            {move || errors.get().filter(|e| e.fields.is_empty()).map(|e| view! {
                <p class="alert" id="restore-refused" role="alert">{error_text(&e)}</p>
            })}
            <div class="row">
                <button id="restore-secret-go" type="submit" class="primary">{tr("restore-this-backup")}</button>
                <button type="button" class="secondary" on:click=move |_| asking.set(false)>{tr("cancel")}</button>
            </div>
        </form>
    }
}
