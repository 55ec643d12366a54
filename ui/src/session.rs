//! First-run set-up, sign-in and the session held in memory (never stored).

use crate::ipc::call;
use cardiorisk_contract::{
    command, CommandError, ErrorKind, SessionInfo, SetupArgs, SignInArgs, TokenArgs,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The signed-in session, shared through context.
#[derive(Clone, Copy)]
pub struct Auth {
    pub session: RwSignal<Option<SessionInfo>>,
    /// Shown on the sign-in screen (e.g. why the session ended).
    pub notice: RwSignal<Option<String>>,
}

impl Auth {
    pub fn token(&self) -> String {
        self.session
            .get_untracked()
            .map(|s| s.token)
            .unwrap_or_default()
    }

    /// Sends the user back to sign-in when the backend says the session is over.
    pub fn check(&self, e: &CommandError) {
        if e.kind == ErrorKind::Unauthenticated {
            self.notice.set(Some(e.message.clone()));
            self.session.set(None);
        }
    }

    pub fn sign_out(&self) {
        let token = self.token();
        let session = self.session;
        spawn_local(async move {
            let _ = call::<_, ()>(command::SIGN_OUT, &TokenArgs { token }).await;
            session.set(None);
        });
    }
}

#[component]
fn TextField(
    id: &'static str,
    label: &'static str,
    kind: &'static str,
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id><span class="label">{label}</span></label>
            <input id=id name=id type=kind autocomplete="off"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))/>
        </div>
    }
}

/// First run: create the administrator account.
#[component]
pub fn SetupForm() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if password.get_untracked() != confirm.get_untracked() {
            error.set(Some("The two passwords differ.".into()));
            return;
        }
        let args = SetupArgs {
            username: username.get_untracked(),
            display_name: display_name.get_untracked(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            match call::<_, SessionInfo>(command::SET_UP, &args).await {
                Ok(s) => auth.session.set(Some(s)),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <section class="card narrow" aria-labelledby="setup-title">
            <h1 id="setup-title">"Welcome to CardioRisk"</h1>
            <p>"Create the administrator account. It manages clinicians' accounts and the model; there is no built-in password."</p>
            <form on:submit=submit>
                <TextField id="setup-username" label="Username" kind="text" value=username/>
                <TextField id="setup-display-name" label="Full name" kind="text" value=display_name/>
                <TextField id="setup-password" label="Password (at least 10 characters)" kind="password" value=password/>
                <TextField id="setup-confirm" label="Repeat the password" kind="password" value=confirm/>
                <button id="setup-submit" type="submit" class="primary">"Create administrator"</button>
            </form>
            {move || error.get().map(|e| view! { <p class="alert" id="setup-error" role="alert">{e}</p> })}
        </section>
    }
}

#[component]
pub fn SignInForm() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let args = SignInArgs {
            username: username.get_untracked(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            match call::<_, SessionInfo>(command::SIGN_IN, &args).await {
                Ok(s) => {
                    auth.notice.set(None);
                    auth.session.set(Some(s));
                }
                Err(e) => {
                    password.set(String::new());
                    error.set(Some(e.message));
                }
            }
        });
    };
    view! {
        <section class="card narrow" aria-labelledby="signin-title">
            <h1 id="signin-title">"Sign in"</h1>
            {move || auth.notice.get().map(|n| view! { <p class="notice" id="signin-notice">{n}</p> })}
            <form on:submit=submit>
                <TextField id="signin-username" label="Username" kind="text" value=username/>
                <TextField id="signin-password" label="Password" kind="password" value=password/>
                <button id="signin-submit" type="submit" class="primary">"Sign in"</button>
            </form>
            {move || error.get().map(|e| view! { <p class="alert" id="signin-error" role="alert">{e}</p> })}
        </section>
    }
}
