//! Administration: clinician accounts and the REST gateway's integration clients.

use crate::i18n::{error_text, t, tr, when};
use crate::session::Auth;
use crate::widgets::{ErrorLine, TextInput};
use cardiorisk_contract::{
    command, ClientArgs, Command, CommandError, CreateClientArgs, CreateUserArgs, NewApiClient,
    NewUser, ResetPasswordArgs, Role, SetDisabledArgs, SetRoleArgs, TokenArgs, UserInfo,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Runs a command on one row of a list, then reloads the list or shows why not.
fn row_action<C: Command<Reply = ()>>(
    auth: Auth,
    args: C::Args,
    error: RwSignal<Option<CommandError>>,
    reload: impl Fn() + 'static,
) {
    spawn_local(async move {
        match auth.call::<C>(args).await {
            Ok(()) => {
                error.set(None);
                reload();
            }
            Err(e) => {
                error.set(Some(e));
            }
        }
    });
}

#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <Users/>
        <Clients/>
        <RecoveryKey/>
    }
}

/// A new recovery key for this computer's data, shown once; the old one stops working.
#[component]
fn RecoveryKey() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let error = RwSignal::new(None::<String>);
    let issue = move |_| {
        let args = TokenArgs {
            token: auth.token(),
        };
        spawn_local(async move {
            match auth.call::<command::ReissueRecoveryKey>(args).await {
                Ok(key) => {
                    // Shown alone, as at first run, until it is written down or printed.
                    error.set(None);
                    auth.recovery_reissued.set(true);
                    auth.recovery_key.set(Some(key));
                }
                Err(e) => error.set(Some(error_text(&e))),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="recovery-section-title">
            <h2 id="recovery-section-title">{tr("recovery-key-section")}</h2>
            <p>{tr("print-it-or-write-it-down")}</p>
            <button id="recovery-reissue" type="button" on:click=issue>{tr("issue-a-new-recovery-key")}</button>
            {move || error.get().map(|e| view! { <p class="alert" role="alert">{e}</p> })}
        </section>
    }
}

#[component]
fn Users() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let users = LocalResource::new(move || {
        let args = TokenArgs {
            token: auth.token(),
        };
        auth.call::<command::ListUsers>(args)
    });
    let load = move || users.refetch();
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new("clinician".to_string());
    let errors = RwSignal::new(None::<CommandError>);
    let notice = RwSignal::new(None::<String>);
    let row_error = RwSignal::new(None::<CommandError>);

    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let user = NewUser {
            username: username.get_untracked().trim().to_string(),
            display_name: display_name.get_untracked().trim().to_string(),
            password: password.get_untracked(),
            role: Role::parse(&role.get_untracked()).unwrap_or(Role::Clinician),
        };
        let args = CreateUserArgs {
            token: auth.token(),
            user,
        };
        spawn_local(async move {
            match auth.call::<command::CreateUser>(args).await {
                Ok(u) => {
                    errors.set(None);
                    username.set(String::new());
                    display_name.set(String::new());
                    password.set(String::new());
                    notice.set(Some(format!(
                        "{} {} ({})",
                        t("account-created"),
                        u.username,
                        u.display_name
                    )));
                    load();
                }
                Err(e) => {
                    notice.set(None);
                    errors.set(Some(e));
                }
            }
        });
    };
    let set_disabled = move |user_id: i64, disabled: bool| {
        let args = SetDisabledArgs {
            token: auth.token(),
            user_id,
            disabled,
        };
        row_action::<command::SetUserDisabled>(auth, args, row_error, load);
    };
    let set_role = move |user_id: i64, role: Role| {
        let args = SetRoleArgs {
            token: auth.token(),
            user_id,
            role,
        };
        row_action::<command::SetUserRole>(auth, args, row_error, load);
    };
    let resetting = RwSignal::new(None::<UserInfo>);

    view! {
        <section class="card" aria-labelledby="users-title">
            <h1 id="users-title">{tr("accounts")}</h1>
            {move || notice.get().map(|n| view! { <p class="ok" id="users-notice">{n}</p> })}
            <ErrorLine id="users-error" error=row_error/>
            {move || match users.get() {
                None => view! { <p class="empty">{tr("loading")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert" role="alert">{error_text(&e)}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="table" id="users">
                        <thead><tr>
                            <th>{tr("username")}</th><th>{tr("name")}</th>
                            <th>{tr("role")}</th><th>{tr("state")}</th><th></th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|u| {
                                let id = u.id;
                                let disabled = u.disabled;
                                let for_reset = u.clone();
                                let is_admin = u.role == Role::Admin;
                                view! {
                                    <tr data-username=u.username.clone()>
                                        <td>{u.username.clone()}</td>
                                        <td>{u.display_name.clone()}</td>
                                        <td>{move || if is_admin { t("administrator") } else { t("clinician") }}</td>
                                        <td>{move || if disabled { t("disabled") } else { t("active") }}</td>
                                        <td class="actions">
                                            <button class="secondary small user-role" on:click=move |_| set_role(id, if is_admin { Role::Clinician } else { Role::Admin })>
                                                {move || if is_admin { t("make-clinician") } else { t("make-administrator") }}</button>
                                            <button class="secondary small user-toggle" on:click=move |_| set_disabled(id, !disabled)>
                                                {move || if disabled { t("enable") } else { t("disable") }}</button>
                                            <button class="secondary small user-reset" on:click=move |_| resetting.set(Some(for_reset.clone()))>
                                                {tr("reset-password")}</button>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
            <ResetPassword resetting=resetting notice=notice error=row_error/>
            <form class="subcard" id="user-form" on:submit=create novalidate>
                <h2>{tr("new-account")}</h2>
                <div class="fields">
                    <TextInput id="user-username" label="username" value=username field="username" errors=errors/>
                    <TextInput id="user-display-name" label="full-name" value=display_name field="display_name" errors=errors/>
                    <TextInput id="user-password" label="password-at-least-10-characters" kind="password" value=password field="password" errors=errors/>
                    <div class="field">
                        <label for="user-role"><span class="label">{tr("role")}</span></label>
                        <select id="user-role" prop:value=move || role.get() on:change=move |ev| role.set(event_target_value(&ev))>
                            <option value="clinician">{tr("clinician-2")}</option>
                            <option value="admin">{tr("administrator-2")}</option>
                        </select>
                    </div>
                </div>
                {move || errors.get().filter(|e| e.fields.is_empty()).map(|e| view! { <p class="alert" id="user-form-error" role="alert">{error_text(&e)}</p> })}
                <button id="user-create" type="submit" class="primary">{tr("create-account")}</button>
            </form>
        </section>
    }
}

/// The new password for the account chosen in the list, set by an administrator.
#[component]
fn ResetPassword(
    resetting: RwSignal<Option<UserInfo>>,
    notice: RwSignal<Option<String>>,
    error: RwSignal<Option<CommandError>>,
) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let row_error = error;
    let new_password = RwSignal::new(String::new());
    let reset = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(user) = resetting.get_untracked() else {
            return;
        };
        let args = ResetPasswordArgs {
            token: auth.token(),
            user_id: user.id,
            new_password: new_password.get_untracked(),
        };
        spawn_local(async move {
            match auth.call::<command::ResetPassword>(args).await {
                Ok(()) => {
                    row_error.set(None);
                    resetting.set(None);
                    new_password.set(String::new());
                    notice.set(Some(format!(
                        "{} {}",
                        t("password-reset-for"),
                        user.username
                    )));
                }
                Err(e) => {
                    row_error.set(Some(e));
                }
            }
        });
    };

    view! {
        {move || resetting.get().map(|u| view! {
            <form class="subcard" id="reset-form" on:submit=reset>
                <h2>{move || format!("{} {}", t("new-password-for"), u.username)}</h2>
                <TextInput id="reset-password" label="new-password-at-least-10-characters" kind="password" value=new_password/>
                <div class="row">
                    <button id="reset-save" type="submit" class="primary">{tr("set-password")}</button>
                    <button type="button" class="secondary" on:click=move |_| resetting.set(None)>{tr("cancel")}</button>
                </div>
            </form>
        })}
    }
}

#[component]
fn Clients() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let clients = LocalResource::new(move || {
        let args = TokenArgs {
            token: auth.token(),
        };
        auth.call::<command::ListClients>(args)
    });
    let load = move || clients.refetch();
    let name = RwSignal::new(String::new());
    let plan = RwSignal::new("FREEMIUM".to_string());
    let errors = RwSignal::new(None::<CommandError>);
    let created = RwSignal::new(None::<NewApiClient>);
    let row_error = RwSignal::new(None::<CommandError>);

    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let args = CreateClientArgs {
            token: auth.token(),
            name: name.get_untracked().trim().to_string(),
            plan: plan.get_untracked(),
        };
        spawn_local(async move {
            match auth.call::<command::CreateClient>(args).await {
                Ok(c) => {
                    errors.set(None);
                    name.set(String::new());
                    created.set(Some(c));
                    load();
                }
                Err(e) => {
                    errors.set(Some(e));
                }
            }
        });
    };
    let delete = move |client_id: i64| {
        let args = ClientArgs {
            token: auth.token(),
            client_id,
        };
        row_action::<command::DeleteClient>(auth, args, row_error, load);
    };

    view! {
        <section class="card" aria-labelledby="clients-title">
            <h1 id="clients-title">{tr("integration-clients-rest-gateway")}</h1>
            <p class="meta">{tr("programs-of-the-clinic-that-request")}</p>
            {move || created.get().map(|c| view! {
                <div class="key-once" id="new-key" role="status">
                    <p><strong>{move || format!("{} {}", t("api-key-for"), c.client.name)}</strong></p>
                    <code id="new-key-value">{c.api_key.clone()}</code>
                    <p class="meta">{tr("copy-it-now-it-is-shown")}</p>
                    <button id="new-key-done" class="secondary" on:click=move |_| created.set(None)>{tr("i-have-copied-it")}</button>
                </div>
            })}
            <ErrorLine id="clients-error" error=row_error/>
            {move || match clients.get() {
                None => view! { <p class="empty">{tr("loading")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert" role="alert">{error_text(&e)}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="empty" id="clients-empty">{tr("no-integration-clients-create-one-below")}</p>
                }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="table" id="clients">
                        <thead><tr>
                            <th>{tr("name")}</th><th>{tr("plan")}</th>
                            <th>{tr("requests-per-minute")}</th>
                            <th>{tr("key-starts-with")}</th><th>{tr("created")}</th><th></th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|c| {
                                let id = c.id;
                                view! {
                                    <tr data-name=c.name.clone()>
                                        <td>{c.name.clone()}</td><td>{c.plan.clone()}</td>
                                        <td class="num">{c.per_minute}</td>
                                        <td><code>{c.key_prefix.clone()}</code></td>
                                        <td>{when(&c.created_at)}</td>
                                        <td><button class="secondary small client-delete" on:click=move |_| delete(id)>{tr("delete")}</button></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
            <form class="subcard row" id="client-form" on:submit=create novalidate>
                <TextInput id="client-name" label="client-name" value=name field="name" errors=errors/>
                <div class="field">
                    <label for="client-plan"><span class="label">{tr("plan")}</span></label>
                    <select id="client-plan" prop:value=move || plan.get() on:change=move |ev| plan.set(event_target_value(&ev))>
                        <option value="FREEMIUM">"FREEMIUM (5/min)"</option>
                        <option value="PREMIUM">"PREMIUM (50/min)"</option>
                    </select>
                </div>
                <button id="client-create" type="submit" class="primary">{tr("create-client")}</button>
            </form>
        </section>
    }
}
