//! First-run set-up, sign-in and the session held in memory (never stored).

use crate::i18n::{error_text, t, tr};
use crate::ipc::call;
use crate::widgets::TextInput;
use cardiorisk_contract::{
    command, Command, CommandError, ErrorKind, SessionInfo, SetupArgs, SignInArgs, TokenArgs,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// How often, at most, input that calls nothing is reported to the backend.
const KEEP_ALIVE_EVERY_MS: f64 = 60_000.0;

/// The signed-in session, shared through context.
#[derive(Clone, Copy)]
pub struct Auth {
    pub session: RwSignal<Option<SessionInfo>>,
    /// Shown on the sign-in screen (e.g. why the session ended).
    pub notice: RwSignal<Option<String>>,
    /// A recovery key this session's first run or sign-in made: shown once, until
    /// the user says it is written down.
    pub recovery_key: RwSignal<Option<String>>,
    /// The key shown is a new one an administrator issued (the old one stopped working).
    pub recovery_reissued: RwSignal<bool>,
}

impl Auth {
    fn start(&self, session: SessionInfo) {
        self.notice.set(None);
        self.recovery_key.set(session.recovery_key.clone());
        self.recovery_reissued.set(false);
        self.session.set(Some(session));
    }
}

impl Auth {
    pub fn token(&self) -> String {
        self.session
            .get_untracked()
            .map(|s| s.token)
            .unwrap_or_default()
    }

    /// Calls a command as the signed-in user; an answer that the session is over
    /// sends the user back to sign-in. Every screen's call goes through here.
    pub async fn call<C: Command>(self, args: C::Args) -> Result<C::Reply, CommandError> {
        let result = call::<C>(&args).await;
        if let Err(e) = &result {
            self.check(e);
        }
        result
    }

    /// Sends the user back to sign-in when the backend says the session is over.
    pub fn check(&self, e: &CommandError) {
        if e.kind == ErrorKind::Unauthenticated {
            self.notice.set(Some(error_text(e)));
            self.session.set(None);
        }
    }

    /// Ends the session on screen once the user has done nothing for as long as the
    /// backend allows (the backend has ended it too; this only saves a failed click).
    /// Input that calls nothing (typing a long form) is reported to the backend once a
    /// minute at most, so its idle clock also runs from the user's last input.
    pub fn expire_when_idle(&self) {
        let Some(s) = self.session.get_untracked() else {
            return;
        };
        let now = js_sys::Date::now();
        let (input, called) = (crate::ipc::last_input(), crate::ipc::last_call());
        let idle_ms = now - input.max(called);
        let limit_ms = s.idle_timeout_secs as f64 * 1000.0;
        if idle_ms <= limit_ms
            && input > called
            && now - called >= KEEP_ALIVE_EVERY_MS.min(limit_ms / 2.0)
        {
            let auth = *self;
            let args = TokenArgs { token: s.token };
            spawn_local(async move {
                let _ = auth.call::<command::KeepAlive>(args).await;
            });
            return;
        }
        if idle_ms > limit_ms {
            self.notice
                .set(Some(t("your-session-ended-after-a-period").into()));
            self.session.set(None);
        }
    }

    pub fn sign_out(&self) {
        let token = self.token();
        let session = self.session;
        spawn_local(async move {
            let _ = call::<command::SignOut>(&TokenArgs { token }).await;
            session.set(None);
        });
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
            error.set(Some(t("the-two-passwords-differ").into()));
            return;
        }
        let args = SetupArgs {
            username: username.get_untracked(),
            display_name: display_name.get_untracked(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            match call::<command::SetUp>(&args).await {
                Ok(s) => auth.start(s),
                Err(e) => error.set(Some(error_text(&e))),
            }
        });
    };
    view! {
        <section class="card narrow" aria-labelledby="setup-title">
            <h1 id="setup-title">{tr("welcome-to-cardiorisk")}</h1>
            <p>{tr("create-the-administrator-account-it-manages")}</p>
            <form on:submit=submit>
                <TextInput id="setup-username" label="username" value=username/>
                <TextInput id="setup-display-name" label="full-name" value=display_name/>
                <TextInput id="setup-password" label="password-at-least-10-characters" kind="password" value=password/>
                <TextInput id="setup-confirm" label="repeat-the-password" kind="password" value=confirm/>
                <button id="setup-submit" type="submit" class="primary">{tr("create-administrator")}</button>
            </form>
            {move || error.get().map(|e| view! { <p class="alert" id="setup-error" role="alert">{e}</p> })}
        </section>
    }
}

/// The recovery key, once: the only way into the data if every password is lost.
#[component]
pub fn RecoveryKeyCard() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let key = auth.recovery_key.get_untracked().unwrap_or_default();
    let reissued = auth.recovery_reissued.get_untracked();
    let print_error = RwSignal::new(None::<String>);
    // The page shows this card alone (the top bar and the buttons are not printed).
    let print = move |_| {
        let args = TokenArgs {
            token: auth.token(),
        };
        spawn_local(async move {
            let printed = auth.call::<command::PrintRecoveryKey>(args).await;
            print_error.set(printed.err().map(|e| crate::i18n::error_text(&e)));
        });
    };
    view! {
        <section class="card narrow" aria-labelledby="recovery-title">
            <h1 id="recovery-title">{tr("your-recovery-key")}</h1>
            {reissued.then(|| view! { <p>{tr("new-recovery-key-shown-once")}</p> })}
            <p>{tr("the-data-on-this-computer-is-encrypted")}</p>
            <p class="recovery-key" id="recovery-key">{key}</p>
            <p class="alert" role="note">{tr("without-a-password-or-this-key")}</p>
            <p>{tr("print-it-or-write-it-down")}</p>
            <div class="row no-print">
                <button id="recovery-print" type="button" class="secondary" on:click=print>
                    {tr("print")}
                </button>
                <button id="recovery-done" type="button" class="primary"
                    on:click=move |_| auth.recovery_key.set(None)>
                    {tr("i-have-written-it-down")}
                </button>
            </div>
            {move || print_error.get().map(|e| view! { <p class="alert no-print" role="alert">{e}</p> })}
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
            match call::<command::SignIn>(&args).await {
                Ok(s) => auth.start(s),
                Err(e) => {
                    password.set(String::new());
                    error.set(Some(crate::i18n::error_text(&e)));
                }
            }
        });
    };
    view! {
        <section class="card narrow" aria-labelledby="signin-title">
            <h1 id="signin-title">{tr("sign-in")}</h1>
            {move || auth.notice.get().map(|n| view! { <p class="notice" id="signin-notice">{n}</p> })}
            <form on:submit=submit>
                <TextInput id="signin-username" label="username" value=username/>
                <TextInput id="signin-password" label="password" kind="password" value=password/>
                <button id="signin-submit" type="submit" class="primary">{tr("sign-in-2")}</button>
            </form>
            {move || error.get().map(|e| view! { <p class="alert" id="signin-error" role="alert">{e}</p> })}
        </section>
    }
}
